package mysqlauth_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/client/mysqlauth"
)

// A *sql.DB whose every new connection logs in with a token; the DSN holds no password.
func Example() {
	ctx := context.Background()
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{})
	if err != nil {
		log.Fatal(err)
	}
	src, err := client.NewTokenSource(client.Config{Credentials: creds})
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := mysql.ParseDSN("app@tcp(mydb.c9akciq32.eu-west-1.rds.amazonaws.com:3306)/app?tls=true")
	if err != nil {
		log.Fatal(err)
	}
	if err := cfg.Apply(mysqlauth.BeforeConnect(src, mysqlauth.Options{})); err != nil {
		log.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
}

// The hook sets the password and allows cleartext passwords; configurations that could
// fall back to plaintext are refused before dialing.
func ExampleHook() {
	src, _ := client.NewTokenSource(client.Config{
		Credentials: client.StaticCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		Now:         func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	hook := mysqlauth.Hook(src, mysqlauth.Options{})
	for _, tls := range []string{"true", "preferred"} {
		cfg, _ := mysql.ParseDSN("app@tcp(mydb.c9akciq32.eu-west-1.rds.amazonaws.com:3306)/app?tls=" + tls)
		if err := hook(context.Background(), cfg); err != nil {
			fmt.Println(tls+":", err)
			continue
		}
		fmt.Println(tls+":", strings.Split(cfg.Passwd, "&")[0], cfg.AllowCleartextPasswords)
	}
	// Output:
	// true: mydb.c9akciq32.eu-west-1.rds.amazonaws.com:3306/?Action=connect true
	// preferred: client: mysqlauth: refusing to send a token without TLS: the connection may fall back to plaintext (tls=preferred?) (hint: use tls=true or a registered TLS config instead of preferred)
}
