package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iamdb/iamdb/internal/mysqlwire"
	"github.com/iamdb/iamdb/internal/pgwire"
)

func main() {
	addr := flag.String("addr", "", "server host:port")
	engine := flag.String("engine", "postgres", "postgres, or mysql (password from $MYSQL_PWD; startup: TLS up, handshake response sent, the switch to mysql_clear_password unanswered)")
	user := flag.String("user", "", "database user")
	db := flag.String("db", "", "database (default postgres for PostgreSQL, none for MySQL)")
	n := flag.Int("n", 1000, "connections")
	state := flag.String("state", "startup", "startup (TLS and StartupMessage sent, authentication pending) or auth (logged in, idle)")
	par := flag.Int("p", 16, "connections opened concurrently")
	sources := flag.Int("sources", 1, "spread the connections over this many source addresses, 127.0.0.2 and up (the gateway caps connections not yet logged in per address)")
	flag.Parse()
	nsrc = max(1, min(*sources, 250))
	if *db == "" && *engine == "postgres" {
		*db = "postgres"
	}
	if *addr == "" || *user == "" || (*state != "startup" && *state != "auth") || (*engine != "postgres" && *engine != "mysql") {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { io.Copy(io.Discard, os.Stdin); stop() }()

	var mu sync.Mutex
	var closers []func()
	var failed atomic.Int64
	var firstErr atomic.Value
	sem := make(chan struct{}, *par)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var c func()
			var err error
			switch {
			case *engine == "mysql":
				pw := os.Getenv("MYSQL_PWD")
				if *state == "startup" {
					pw = ""
				}
				c, err = openMySQL(*addr, *user, *db, pw, i)
			case *state == "startup":
				c, err = openStartup(*addr, *user, *db, i)
			default:
				c, err = openAuth(*addr, *user, *db, i)
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			mu.Lock()
			closers = append(closers, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		fmt.Printf("failed %d of %d: %v\n", f, *n, firstErr.Load())
	}
	fmt.Printf("open %d in %.1fs (state %s)\n", len(closers), time.Since(start).Seconds(), *state)
	os.Stdout.Sync()
	<-ctx.Done()
	for _, c := range closers {
		c()
	}
	if failed.Load() > 0 {
		os.Exit(1)
	}
}

// openStartup negotiates TLS, sends the StartupMessage and reads the server's first
// message, which must be an authentication request.
func openStartup(addr, user, db string, i int) (func(), error) {
	nc, err := dial(addr, i)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tc, err := pgwire.ProbeTLS(ctx, nc, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}) // sslmode=require
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	var body []byte
	body = binary.BigEndian.AppendUint32(body, 3<<16)
	for _, kv := range [][2]string{{"user", user}, {"database", db}, {"application_name", fmt.Sprintf("idleconns-%d", i)}} {
		body = append(append(body, kv[0]...), 0)
		body = append(append(body, kv[1]...), 0)
	}
	body = append(body, 0)
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))
	if _, err := tc.Write(append(msg, body...)); err != nil {
		tc.Close()
		return nil, err
	}
	r := bufio.NewReader(tc)
	typ, err := r.ReadByte()
	if err != nil {
		tc.Close()
		return nil, err
	}
	if typ != 'R' {
		tc.Close()
		return nil, errors.New("the server answered the startup with " + string(typ) + ", not an authentication request")
	}
	nc.SetDeadline(time.Time{})
	return func() { tc.Close() }, nil
}

// openAuth logs in with pgconn (sslmode=require, password from $PGPASSWORD).
func openAuth(addr, user, db string, i int) (func(), error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=require application_name=idleconns-%d connect_timeout=30", host, port, user, db, i))
	if err != nil {
		return nil, err
	}
	pc, err := pgconn.ConnectConfig(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	return func() { pc.Close(context.Background()) }, nil
}

// nsrc is the number of source addresses (-sources).
var nsrc = 1

// dial connects the i-th connection, from 127.0.0.(2 + i mod nsrc) when nsrc > 1.
func dial(addr string, i int) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if nsrc > 1 {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%nsrc))}
	}
	return d.Dial("tcp", addr)
}

// openMySQL negotiates TLS and sends the handshake response; with pw it then answers the
// server's switch to mysql_clear_password and is logged in, without it leaves the switch
// unanswered (the server waits for the password).
func openMySQL(addr, user, db, pw string, i int) (func(), error) {
	nc, err := dial(addr, i)
	if err != nil {
		return nil, err
	}
	closeFn, err := mysqlwire.HoldLogin(nc, mysqlwire.ClientConfig{User: user, Database: db,
		TLS: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}}, pw)
	if err != nil {
		return nil, err
	}
	return func() { closeFn() }, nil
}
