package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
)

func main() {
	mode := flag.String("mode", "connect", "connect, select or prepare")
	clients := flag.Int("c", 8, "concurrent clients")
	dur := flag.Duration("d", 10*time.Second, "duration")
	addr := flag.String("addr", "", "host:port")
	user := flag.String("user", "", "user")
	pwEnv := flag.String("password-env", "MYLOAD_PASSWORD", "environment variable holding the password or token")
	caFile := flag.String("ca", "", "CA file verifying the server")
	serverName := flag.String("server-name", "localhost", "name checked in the server's certificate")
	db := flag.String("db", "bench", "database")
	rows := flag.Int("rows", 100000, "rows of sbtest1")
	flag.Parse()
	if *addr == "" || *user == "" || *caFile == "" {
		fmt.Fprintln(os.Stderr, "usage: myload -mode connect|select|prepare -addr HOST:PORT -user U -ca FILE [-password-env VAR] [-db DB] [-c N] [-d D] [-rows R]")
		os.Exit(2)
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fail(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		fail(fmt.Errorf("%s holds no certificate", *caFile))
	}
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd, cfg.DBName = "tcp", *addr, *user, os.Getenv(*pwEnv), *db
	cfg.TLS = &tls.Config{RootCAs: roots, ServerName: *serverName, CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}
	cfg.AllowCleartextPasswords = true
	cfg.Timeout = 10 * time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		fail(err)
	}
	switch *mode {
	case "prepare":
		prepare(conn, *rows)
	case "connect":
		run("connect", *clients, *dur, func() func() error {
			return func() error {
				d := sql.OpenDB(conn)
				defer d.Close()
				var one int
				return d.QueryRow("select 1").Scan(&one)
			}
		})
	case "select":
		d := sql.OpenDB(conn)
		d.SetMaxOpenConns(*clients)
		d.SetMaxIdleConns(*clients)
		defer d.Close()
		run("select", *clients, *dur, func() func() error {
			c, err := d.Conn(context.Background())
			if err != nil {
				fail(err)
			}
			stmt, err := c.PrepareContext(context.Background(), "SELECT c FROM sbtest1 WHERE id = ?")
			if err != nil {
				fail(err)
			}
			var s string
			return func() error { return stmt.QueryRow(1 + rand.IntN(*rows)).Scan(&s) }
		})
	default:
		fail(fmt.Errorf("unknown mode %q", *mode))
	}
}

// run calls the function each client makes in a loop for dur and prints the rate.
func run(what string, clients int, dur time.Duration, client func() func() error) {
	fns := make([]func() error, clients)
	for i := range fns {
		fns[i] = client()
	}
	var n, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	deadline := time.Now().Add(dur)
	start := time.Now()
	for _, fn := range fns {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := fn(); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	fmt.Printf("myload %s: %d in %.2fs with %d clients: %.0f/s, %d failed\n", what, n.Load(), el, clients, float64(n.Load())/el, failed.Load())
	if err := firstErr.Load(); err != nil {
		fmt.Printf("myload %s: first error: %v\n", what, err)
	}
}

// prepare creates sbtest1 as sysbench does and fills it.
func prepare(conn driver.Connector, rows int) {
	d := sql.OpenDB(conn)
	defer d.Close()
	if _, err := d.Exec("CREATE TABLE IF NOT EXISTS sbtest1 (id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_1 (k))"); err != nil {
		fail(err)
	}
	const batch = 1000
	for i := 0; i < rows; i += batch {
		var b strings.Builder
		b.WriteString("INSERT INTO sbtest1 (k, c, pad) VALUES ")
		for j := i; j < min(i+batch, rows); j++ {
			if j > i {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%d, '%0119d', '%059d')", rand.IntN(rows), j, j)
		}
		if _, err := d.Exec(b.String()); err != nil {
			fail(err)
		}
	}
	fmt.Printf("myload prepare: sbtest1 with %d rows\n", rows)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "myload:", err)
	os.Exit(1)
}
