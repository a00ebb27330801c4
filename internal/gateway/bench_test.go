package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/audit/audittest"
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
	connect := benchPGConnects
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
	gw.versusMariaDB(b, "direct-native-tls", "gateway-iam-tls", benchMySQLConnects)
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

// benchPGConnects is benchConnects with PostgreSQL connections of cfg.
func benchPGConnects(b *testing.B, cfg *pgconn.Config) float64 {
	return benchConnects(b, func(ctx context.Context) error {
		c, err := pgconn.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		c.Close(ctx)
		return nil
	})
}

// benchMySQLConnects is benchConnects with MySQL connections of cfg.
func benchMySQLConnects(b *testing.B, cfg *mysql.Config) float64 {
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

// BenchmarkAuditConnect measures the cost of the audit trail on logins (issue 18): new
// TLS connections per second through the gateway as an IAM user, each a full login and
// close, with eight clients in flight (four per CPU on two cores, as pgbench -C -c 8),
// with no Config.Recorder ("audit=off"), with a real audit.Journal in a temporary
// directory in its default mode ("audit=on": every login's event is written before the
// client is told it succeeded, fsync'ed within a second) and with audit.SyncAlways
// ("audit=always": fsync'ed before the client is told). The gateways share one backend
// and one authority and run one after the other (-count N runs each sub-benchmark N times
// in a row: bench/audit.sh runs rounds of -count 1 so that they alternate); the journals
// also report their group commit — events per batch ("events/batch"), fsyncs per login
// ("fsyncs/login") — and the mean time a login waits in Record ("record-ms").
// bench/audit.sh runs it and prints the audit rates as multiples of audit=off's.
//
//	go test -run '^$' -bench AuditConnect -benchtime 3s ./internal/gateway/
func BenchmarkAuditConnect(b *testing.B) {
	b.Run("engine=pg", func(b *testing.B) {
		measure := func(b *testing.B, gw *testGW) float64 {
			cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=alice dbname=postgres sslmode=disable", gw.port))
			if err != nil {
				b.Fatal(err)
			}
			cfg.Password, cfg.TLSConfig, cfg.Fallbacks = gw.token(b, "alice", "alice", time.Time{}), gw.env.ClientTLS(), nil
			return benchPGConnects(b, cfg)
		}
		benchAudit(b, newGateway, measure)
	})
	b.Run("engine=mysql", func(b *testing.B) {
		measure := func(b *testing.B, gw *testGW) float64 {
			return benchMySQLConnects(b, gw.mysqlConfig("alice", gw.token(b, "alice", "alice", time.Time{}), "app", gw.env.ClientTLS()))
		}
		benchAudit(b, newMySQLGateway, measure)
	})
}

// benchAudit starts three gateways with start, one without a Recorder and two recording
// into real journals in temporary directories (default Sync; SyncAlways), and runs
// measure against each in the sub-benchmarks audit=off, audit=on and audit=always: in
// that order, or in the reverse one when IAMDB_BENCH_REVERSE is set (bench/audit.sh
// alternates it between rounds, so that what runs first - a colder heap, fewer backends
// behind PostgreSQL - favours neither side).
func benchAudit(b *testing.B, start func(testing.TB, func(*Config)) *testGW, measure func(*testing.B, *testGW) float64) {
	type sub struct {
		name string
		run  func(b *testing.B)
	}
	off := start(b, func(c *Config) { c.Logger = nil })
	subs := []sub{{"audit=off", func(b *testing.B) { measureCPU(b, func() { measure(b, off) }) }}}
	for _, mode := range []struct {
		name string
		sync audit.Sync
	}{{"on", audit.SyncInterval}, {"always", audit.SyncAlways}} {
		j := audittest.OpenJournalOptions(b, audit.Options{Sync: mode.sync})
		rec := &timedRecorder{j: j}
		gw := start(b, func(c *Config) { c.Logger, c.Recorder = nil, rec })
		subs = append(subs, sub{"audit=" + mode.name, func(b *testing.B) {
			before, wait0, n0 := j.Stats(), rec.wait.Load(), rec.n.Load()
			measureCPU(b, func() { measure(b, gw) })
			after, wait, n := j.Stats(), rec.wait.Load()-wait0, rec.n.Load()-n0
			if batches := after.Batches - before.Batches; batches > 0 {
				b.ReportMetric(float64(after.Events-before.Events)/float64(batches), "events/batch")
			}
			if n > 0 {
				b.ReportMetric(float64(after.Fsyncs-before.Fsyncs)/float64(n), "fsyncs/login")
				b.ReportMetric(float64(wait)/float64(n)/1e6, "record-ms")
			}
		}})
	}
	if os.Getenv("IAMDB_BENCH_REVERSE") != "" {
		slices.Reverse(subs)
	}
	for _, s := range subs {
		b.Run(s.name, s.run)
	}
}

// measureCPU runs run and reports the CPU time (user and system, all of this process's
// threads: clients, gateway and authority) per iteration as "cpu-µs/op": unlike the rate,
// it hardly moves when other work shares the machine.
func measureCPU(b *testing.B, run func()) {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before := cpu()
	run()
	b.ReportMetric(float64(cpu()-before)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// timedRecorder records into a journal and sums the time its Record calls take.
type timedRecorder struct {
	j    *audit.Journal
	n    atomic.Int64 // Record calls
	wait atomic.Int64 // nanoseconds spent in Record
}

// Record records e into the journal and counts the time it took.
func (r *timedRecorder) Record(ctx context.Context, e *audit.Event) error {
	start := time.Now()
	err := r.j.Record(ctx, e)
	r.wait.Add(int64(time.Since(start)))
	r.n.Add(1)
	return err
}
