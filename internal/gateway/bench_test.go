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
	connect := func(b *testing.B, cfg *pgconn.Config) {
		b.ReportAllocs()
		b.SetParallelism(4)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				c, err := pgconn.ConnectConfig(ctx, cfg)
				if err != nil {
					b.Error(err)
					return
				}
				c.Close(ctx)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "conns/s")
	}
	tlsConfig := e.ClientTLS()
	var direct float64
	b.Run("direct-scram-tls", func(b *testing.B) {
		cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=pwuser dbname=postgres sslmode=disable", e.pg.Port()))
		if err != nil {
			b.Fatal(err)
		}
		cfg.Password, cfg.TLSConfig, cfg.Fallbacks = testPassword, tlsConfig, nil
		start := time.Now()
		connect(b, cfg)
		direct = float64(b.N) / time.Since(start).Seconds()
	})
	b.Run("gateway-iam-tls", func(b *testing.B) {
		cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=alice dbname=postgres sslmode=disable", gw.port))
		if err != nil {
			b.Fatal(err)
		}
		cfg.Password, cfg.TLSConfig, cfg.Fallbacks = gw.token(b, "alice", "alice", time.Time{}), tlsConfig, nil
		start := time.Now()
		connect(b, cfg)
		if direct > 0 {
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds()/direct, "x_direct")
		}
	})
}

// BenchmarkMySQLConnect is BenchmarkConnect for the MySQL gateway: directly to MariaDB
// with mysql_native_password over TLS, then through the gateway as an IAM user (one
// token, mysql_clear_password over TLS, pooled backend sessions).
//
//	go test -run '^$' -bench MySQLConnect -benchtime 3s ./internal/gateway/
func BenchmarkMySQLConnect(b *testing.B) {
	gw := newMySQLGateway(b, func(c *Config) { c.Logger = nil })
	maria := mysqlEnv(b).maria
	connect := func(b *testing.B, cfg *mysql.Config) {
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetParallelism(4)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				c, err := conn.Connect(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				c.Close()
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "conns/s")
	}
	var direct float64
	b.Run("direct-native-tls", func(b *testing.B) {
		cfg := gw.mysqlConfig("pwuser", testPassword, "app", maria.TLSConfig())
		cfg.Addr = maria.Addr()
		start := time.Now()
		connect(b, cfg)
		direct = float64(b.N) / time.Since(start).Seconds()
	})
	b.Run("gateway-iam-tls", func(b *testing.B) {
		start := time.Now()
		connect(b, gw.mysqlConfig("alice", gw.token(b, "alice", "alice", time.Time{}), "app", gw.env.ClientTLS()))
		if direct > 0 {
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds()/direct, "x_direct")
		}
	})
}

// BenchmarkMySQLSelect measures steady point selects (prepared, connections kept)
// directly to MariaDB and through the gateway ("x_direct": the gateway's rate as a
// multiple of the direct one).
//
//	go test -run '^$' -bench MySQLSelect -benchtime 3s ./internal/gateway/
func BenchmarkMySQLSelect(b *testing.B) {
	gw := newMySQLGateway(b, func(c *Config) { c.Logger = nil })
	maria := mysqlEnv(b).maria
	run := func(b *testing.B, cfg *mysql.Config) float64 {
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			b.Fatal(err)
		}
		db := sql.OpenDB(conn)
		defer db.Close()
		db.SetMaxIdleConns(16)
		b.SetParallelism(4)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
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
		rate := float64(b.N) / time.Since(start).Seconds()
		b.ReportMetric(rate, "queries/s")
		return rate
	}
	var direct float64
	b.Run("direct", func(b *testing.B) {
		cfg := gw.mysqlConfig("pwuser", testPassword, "app", maria.TLSConfig())
		cfg.Addr = maria.Addr()
		direct = run(b, cfg)
	})
	b.Run("gateway", func(b *testing.B) {
		if rate := run(b, gw.mysqlConfig("alice", gw.token(b, "alice", "alice", time.Time{}), "app", gw.env.ClientTLS())); direct > 0 {
			b.ReportMetric(rate/direct, "x_direct")
		}
	})
}
