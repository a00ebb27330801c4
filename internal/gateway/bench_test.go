package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// BenchmarkConnect measures new TLS connections per second, each a full login and
// close: directly to PostgreSQL with SCRAM-SHA-256(-PLUS), then through the gateway as an
// IAM user (one token, pooled backend sessions). The gateway's run reports its rate as a
// multiple of the direct one ("x_direct").
//
//	go test -run '^$' -bench Connect -benchtime 3s ./internal/gateway/
func BenchmarkConnect(b *testing.B) {
	gw := newGateway(b, func(c *Config) { c.Logger = nil })
	e := gw.env
	connect := func(b *testing.B, cfg *pgconn.Config) float64 {
		return benchConnects(b, func(ctx context.Context) error {
			c, err := pgconn.ConnectConfig(ctx, cfg)
			if err != nil {
				return err
			}
			c.Close(ctx)
			return nil
		})
	}
	tlsConfig := e.ClientTLS()
	var direct float64
	b.Run("direct-scram-tls", func(b *testing.B) {
		cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=pwuser dbname=postgres sslmode=disable", e.pg.Port()))
		if err != nil {
			b.Fatal(err)
		}
		cfg.Password, cfg.TLSConfig, cfg.Fallbacks = testPassword, tlsConfig, nil
		direct = connect(b, cfg)
	})
	b.Run("gateway-iam-tls", func(b *testing.B) {
		cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=alice dbname=postgres sslmode=disable", gw.port))
		if err != nil {
			b.Fatal(err)
		}
		cfg.Password, cfg.TLSConfig, cfg.Fallbacks = gw.token(b, "alice", "alice", time.Time{}), tlsConfig, nil
		reportVersusDirect(b, connect(b, cfg), direct)
	})
}

// BenchmarkMySQLConnect is BenchmarkConnect for the MySQL gateway: directly to MariaDB
// with mysql_native_password over TLS, then through the gateway as an IAM user (one
// token, mysql_clear_password over TLS, pooled backend sessions).
//
//	go test -run '^$' -bench MySQLConnect -benchtime 3s ./internal/gateway/
func BenchmarkMySQLConnect(b *testing.B) {
	gw := newMySQLGateway(b, func(c *Config) { c.Logger = nil })
	connect := func(b *testing.B, cfg *mysql.Config) float64 {
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return benchConnects(b, func(ctx context.Context) error {
			c, err := conn.Connect(ctx)
			if err != nil {
				return err
			}
			c.Close()
			return nil
		})
	}
	gw.versusMariaDB(b, "direct-native-tls", "gateway-iam-tls", connect)
}

// BenchmarkMySQLSelect measures steady point selects (prepared, connections kept)
// directly to MariaDB and through the gateway ("x_direct": the gateway's rate as a
// multiple of the direct one).
//
//	go test -run '^$' -bench MySQLSelect -benchtime 3s ./internal/gateway/
func BenchmarkMySQLSelect(b *testing.B) {
	gw := newMySQLGateway(b, func(c *Config) { c.Logger = nil })
	run := func(b *testing.B, cfg *mysql.Config) float64 {
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			b.Fatal(err)
		}
		db := sql.OpenDB(conn)
		defer db.Close()
		db.SetMaxIdleConns(16)
		return benchParallel(b, "queries/s", func(pb *testing.PB) {
			c, err := db.Conn(context.Background())
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			stmt, err := c.PrepareContext(context.Background(), "select ?")
			if err != nil {
				b.Error(err)
				return
			}
			var v int
			for i := 0; pb.Next(); i++ {
				if err := stmt.QueryRow(i).Scan(&v); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	gw.versusMariaDB(b, "direct", "gateway", run)
}

// benchConnects runs connect (open a connection, then close it) b.N times on four
// goroutines per CPU, reports the rate as "conns/s" and returns it.
func benchConnects(b *testing.B, connect func(context.Context) error) float64 {
	b.ReportAllocs()
	return benchParallel(b, "conns/s", func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := connect(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchParallel runs body on four goroutines per CPU (b.RunParallel), reports the rate
// of its iterations in unit and returns it.
func benchParallel(b *testing.B, unit string, body func(*testing.PB)) float64 {
	b.SetParallelism(4)
	start := time.Now()
	b.RunParallel(body)
	rate := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(rate, unit)
	return rate
}

// reportVersusDirect reports a rate through the gateway as a multiple of the direct
// one ("x_direct"), when the direct one was measured.
func reportVersusDirect(b *testing.B, rate, direct float64) {
	if direct > 0 {
		b.ReportMetric(rate/direct, "x_direct")
	}
}

// versusMariaDB runs measure in the sub-benchmark direct against the MySQL gateway's
// MariaDB as pwuser (mysql_native_password over TLS), then in gateway through gw as
// alice with a token, and reports the gateway's rate as a multiple of the direct one.
func (gw *testGW) versusMariaDB(b *testing.B, direct, gateway string, measure func(*testing.B, *mysql.Config) float64) {
	maria := mysqlEnv(b).maria
	var directRate float64
	b.Run(direct, func(b *testing.B) {
		cfg := gw.mysqlConfig("pwuser", testPassword, "app", maria.TLSConfig())
		cfg.Addr = maria.Addr()
		directRate = measure(b, cfg)
	})
	b.Run(gateway, func(b *testing.B) {
		reportVersusDirect(b, measure(b, gw.mysqlConfig("alice", gw.token(b, "alice", "alice", time.Time{}), "app", gw.env.ClientTLS())), directRate)
	})
}
