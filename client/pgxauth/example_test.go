package pgxauth_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/client/pgxauth"
)

// A pgxpool whose every new connection logs in with a token; the DSN holds no password.
func Example_pgxpool() {
	ctx := context.Background()
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{})
	if err != nil {
		log.Fatal(err)
	}
	src, err := client.NewTokenSource(client.Config{Credentials: creds})
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig("host=mydb.c9akciq32.eu-west-1.rds.amazonaws.com port=5432 user=app dbname=app " +
		"sslmode=verify-full sslrootcert=/etc/ssl/rds-global-bundle.pem")
	if err != nil {
		log.Fatal(err)
	}
	cfg.BeforeConnect = pgxauth.BeforeConnect(src, pgxauth.Options{})
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
}

// database/sql through pgx's stdlib, dialing an SSH tunnel and signing for the database's
// own name.
func Example_databaseSQL() {
	src, err := client.NewTokenSource(client.Config{Credentials: client.EnvCredentials(), Region: "eu-west-1"})
	if err != nil {
		log.Fatal(err)
	}
	cc, err := pgx.ParseConfig("host=127.0.0.1 port=15432 user=app dbname=app sslmode=require")
	if err != nil {
		log.Fatal(err)
	}
	var db *sql.DB = stdlib.OpenDB(*cc, stdlib.OptionBeforeConnect(pgxauth.BeforeConnect(src, pgxauth.Options{
		Host: "mydb.c9akciq32.eu-west-1.rds.amazonaws.com", Port: 5432,
	})))
	defer db.Close()
}

// The hook sets the password; configurations that could fall back to plaintext are
// refused before dialing.
func ExampleBeforeConnect() {
	src, _ := client.NewTokenSource(client.Config{
		Credentials: client.StaticCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		Now:         func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	hook := pgxauth.BeforeConnect(src, pgxauth.Options{})
	for _, mode := range []string{"require", "prefer"} {
		cc, _ := pgx.ParseConfig("host=mydb.c9akciq32.eu-west-1.rds.amazonaws.com user=app sslmode=" + mode)
		if err := hook(context.Background(), cc); err != nil {
			fmt.Println(mode+":", err)
			continue
		}
		fmt.Println(mode+":", strings.Split(cc.Password, "&")[0])
	}
	// Output:
	// require: mydb.c9akciq32.eu-west-1.rds.amazonaws.com:5432/?Action=connect
	// prefer: client: pgxauth: refusing to send a token without TLS: the connection may fall back to plaintext to mydb.c9akciq32.eu-west-1.rds.amazonaws.com (sslmode=prefer, pgx's default?) (hint: use sslmode=verify-full, or at least require)
}
