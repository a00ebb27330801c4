package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// relayClients is the number of clients of BenchmarkRelay, as bench/pg.sh's pgbench -c 8.
const relayClients = 8

// BenchmarkRelay measures the relay (issue 19): steady point selects on kept connections,
// eight clients, logged in once over TLS. For each engine "direct" runs them against the
// backend itself (PostgreSQL: pwuser with SCRAM over TLS; MariaDB: pwuser with
// mysql_native_password over TLS) and "gateway" through the gateway as alice with a
// token; "copy" runs them as "direct" does through the least a Go relay can be, a TCP
// forwarder (io.Copy each way with reads and writes, TLS end to end, nothing parsed):
// the floor of the relay's system calls and wake-ups on this machine. The gateway's rate is also reported as a multiple of the direct one measured in
// the same run ("x_direct"). ns/op is wall time per query of all eight clients together.
// "cpu-µs/query" is this test process's CPU time (user and system, getrusage) per query:
// the clients' alone in "direct", the clients' and the gateway's in "gateway", whose
// "relay-cpu-µs/query" is the difference, an estimate of the gateway's CPU per relayed
// query (the database servers run in processes of their own). It is only an estimate:
// the process also runs the clients' TLS to a different peer and the Go runtime's work
// for both. bench/pg.sh measures the gateway process on its own.
//
// PostgreSQL's queries use the extended protocol with one parameter, as pgbench -S -M
// extended (Parse/Bind/Describe/Execute/Sync; mode=extended) and the simple protocol as
// pgbench -S's default (mode=simple); MariaDB's are prepared statements (COM_STMT_EXECUTE,
// mode=prepared) and plain ones (COM_QUERY, mode=plain).
//
//	go test -run '^$' -bench Relay -benchtime 3s -count 5 ./internal/gateway/
func BenchmarkRelay(b *testing.B) {
	b.Run("engine=pg", func(b *testing.B) {
		gw := newGateway(b, func(c *Config) { c.Logger = nil })
		e := gw.env
		direct, err := pgconn.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=pwuser dbname=postgres sslmode=disable", e.pg.Port()))
		if err != nil {
			b.Fatal(err)
		}
		direct.Password, direct.TLSConfig, direct.Fallbacks = testPassword, e.ClientTLS(), nil
		copied := direct.Copy()
		copied.Port = uint16(copyRelay(b, e.pg.Addr(), nil).Port)
		via, err := pgconn.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=alice dbname=postgres sslmode=disable", gw.port))
		if err != nil {
			b.Fatal(err)
		}
		via.Password, via.TLSConfig, via.Fallbacks = gw.token(b, "alice", "alice", time.Time{}), e.ClientTLS(), nil
		benchRelayModes(b, benchPGSelects, direct, copied, via, "extended", "simple")
	})
	b.Run("engine=mysql", func(b *testing.B) {
		gw := newMySQLGateway(b, func(c *Config) { c.Logger = nil })
		maria := mysqlEnv(b).maria
		direct := gw.mysqlConfig("pwuser", testPassword, "app", maria.TLSConfig())
		direct.Addr = maria.Addr()
		copied := direct.Clone()
		copied.Addr = copyRelay(b, maria.Addr(), nil).String()
		via := gw.mysqlConfig("alice", gw.token(b, "alice", "alice", time.Time{}), "app", gw.env.ClientTLS())
		benchRelayModes(b, benchMySQLSelects, direct, copied, via, "prepared", "plain")
	})
}

// benchRelayModes runs selects in each of modes directly, through copyRelay and through
// the gateway (configurations direct, copied and via), and reports the latter two
// against the direct run.
func benchRelayModes[C any](b *testing.B, selects func(*testing.B, C, string) relayRun, direct, copied, via C, modes ...string) {
	for _, mode := range modes {
		b.Run("mode="+mode, func(b *testing.B) {
			var d, c relayRun
			b.Run("direct", func(b *testing.B) { d = selects(b, direct, mode) })
			b.Run("copy", func(b *testing.B) { c = selects(b, copied, mode); c.versus(b, d) })
			b.Run("gateway", func(b *testing.B) { selects(b, via, mode).versus(b, d).overCopy(b, c, d) })
		})
	}
}

// copyRelay starts a TCP forwarder to addr on a loopback port: for each connection, one
// io.Copy each way through a 32 KiB buffer (read, write; no splice), as a relay that
// neither terminates TLS nor parses anything. accepted, if not nil, is called for each
// connection it accepts. It stops at the end of the test or benchmark.
func copyRelay(tb testing.TB, addr string, accepted func()) *net.TCPAddr {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if accepted != nil {
				accepted()
			}
			wg.Go(func() {
				defer c.Close()
				be, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer be.Close()
				// Plain reads and writes, as a relay that looks at the bytes must do: hiding
				// ReadFrom and WriteTo keeps io.Copy from splicing in the kernel.
				done := make(chan struct{})
				go func() {
					io.Copy(struct{ io.Writer }{be}, struct{ io.Reader }{c})
					be.(*net.TCPConn).CloseWrite()
					close(done)
				}()
				io.Copy(struct{ io.Writer }{c}, struct{ io.Reader }{be})
				c.(*net.TCPConn).CloseWrite()
				<-done
			})
		}
	})
	return ln.Addr().(*net.TCPAddr)
}

// benchPGSelects connects relayClients clients with cfg, runs b.N point selects among
// them in mode ("extended" or "simple"), reports "queries/s" and returns it.
func benchPGSelects(b *testing.B, cfg *pgconn.Config, mode string) relayRun {
	ctx := context.Background()
	conns := make([]*pgconn.PgConn, relayClients)
	for i := range conns {
		c, err := pgconn.ConnectConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close(ctx)
		conns[i] = c
	}
	return benchClients(b, func(i, q int) error {
		c := conns[i]
		if mode == "simple" {
			res, err := c.Exec(ctx, fmt.Sprintf("select %d::int", q)).ReadAll()
			if err != nil {
				return err
			}
			if len(res) != 1 || len(res[0].Rows) != 1 {
				return fmt.Errorf("select %d: %d results", q, len(res))
			}
			return nil
		}
		res := c.ExecParams(ctx, "select $1::int", [][]byte{fmt.Appendf(nil, "%d", q)}, nil, nil, nil).Read()
		if res.Err != nil {
			return res.Err
		}
		if len(res.Rows) != 1 || string(res.Rows[0][0]) != fmt.Sprint(q) {
			return fmt.Errorf("select %d: rows %q", q, res.Rows)
		}
		return nil
	})
}

// benchMySQLSelects is benchPGSelects for MySQL: mode "prepared" (one statement per
// client, COM_STMT_EXECUTE) or "plain" (COM_QUERY).
func benchMySQLSelects(b *testing.B, cfg *mysql.Config, mode string) relayRun {
	ctx := context.Background()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		b.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxIdleConns(relayClients)
	conns := make([]*sql.Conn, relayClients)
	stmts := make([]*sql.Stmt, relayClients)
	for i := range conns {
		c, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
		if stmts[i], err = c.PrepareContext(ctx, "select ?"); err != nil {
			b.Fatal(err)
		}
		defer stmts[i].Close()
	}
	return benchClients(b, func(i, q int) error {
		var v int
		var err error
		if mode == "plain" {
			err = conns[i].QueryRowContext(ctx, fmt.Sprintf("select %d", q)).Scan(&v)
		} else {
			err = stmts[i].QueryRowContext(ctx, q).Scan(&v)
		}
		if err == nil && v != q {
			err = fmt.Errorf("select %d: got %d", q, v)
		}
		return err
	})
}

// relayRun is what benchClients measured: queries per second and process CPU per query.
type relayRun struct {
	rate float64 // queries/s
	cpu  float64 // µs of process CPU per query
}

// versus reports r as a multiple of direct's rate ("x_direct") and the CPU per query
// beyond direct's ("relay-cpu-µs/query"), when direct was measured. It returns r.
func (r relayRun) versus(b *testing.B, direct relayRun) relayRun {
	if direct.rate > 0 {
		b.ReportMetric(r.rate/direct.rate, "x_direct")
		b.ReportMetric(r.cpu-direct.cpu, "relay-cpu-µs/query")
	}
	return r
}

// overCopy reports the relay CPU per query of r beyond that of floor, the TCP forwarder
// measured just before against the same direct run ("over-copy-µs/query"): what the
// gateway costs above the floor of any Go relay, with the machine's load of the moment
// mostly cancelled out.
func (r relayRun) overCopy(b *testing.B, floor, direct relayRun) {
	if direct.rate > 0 && floor.rate > 0 {
		b.ReportMetric(r.cpu-floor.cpu, "over-copy-µs/query")
	}
}

// benchClients runs b.N calls of query(client, n) on relayClients goroutines, each its
// own client i, n counting the queries. It reports the rate ("queries/s") and the
// process's CPU time per query ("cpu-µs/query") and returns them.
func benchClients(b *testing.B, query func(i, n int) error) relayRun {
	b.ReportAllocs()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := processCPU(b)
	start := time.Now()
	for i := range relayClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1))
				if n > b.N {
					return
				}
				if err := query(i, n); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU(b) - cpu0
	b.StopTimer()
	r := relayRun{rate: float64(b.N) / elapsed.Seconds(), cpu: float64(cpu.Microseconds()) / float64(b.N)}
	b.ReportMetric(r.rate, "queries/s")
	b.ReportMetric(r.cpu, "cpu-µs/query")
	return r
}

// processCPU returns the CPU time (user and system) this process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
