package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/rdsiam"
	"github.com/iamdb/iamdb/internal/server"
	"github.com/iamdb/iamdb/token"
)

// A flood of idle TCP connections to one gateway of "iamdb serve" (200 from 127.0.0.1,
// past a cap of 50), first the PostgreSQL one and then the MySQL one, is refused beyond
// the cap (53300, 1040), and while it is held open everything else in the process keeps
// working: the AWS CLI against the authority, an IAM login through the other gateway,
// /healthz; once it ends, the flooded gateway logs users in again. (The finding: ~20,000
// idle connections to the PostgreSQL gateway exhausted the process's file descriptors and
// took all of them down.)
func TestServeGatewayFlood(t *testing.T) {
	ca := testCA(t)
	pg := localdbtest.Postgres(t, ca)
	maria := localdbtest.MariaDBWithOptions(t, localdb.MariaDBOptions{CA: ca, Databases: []string{"orders"}})
	ctx := context.Background()
	if err := pg.Exec(ctx, "CREATE USER iam_user WITH LOGIN", "GRANT rds_iam TO iam_user"); err != nil {
		t.Fatal(err)
	}
	if err := maria.Exec(ctx, append(rdsiam.MySQLIAMUserSQL("iam_user"), "GRANT ALL ON orders.* TO rds_iam")...); err != nil {
		t.Fatal(err)
	}
	tools := findClientTools(t)
	var awsCLI []string
	switch {
	case tools.awsV2 != "":
		awsCLI = []string{tools.awsV2}
	case tools.awsV1:
		awsCLI = []string{tools.python, "-m", "awscli"}
	default:
		needTool(t, false, "the AWS CLI", "apt-get install -y awscli")
	}

	dir := t.TempDir()
	writeGatewayFiles(t, dir, ca, pg.AdminPassword)
	if err := pki.WriteFile(filepath.Join(dir, "maria-password"), []byte(maria.AdminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pgPort, myPort, opsPort := freePort(t), freePort(t), freePort(t)
	const maxConns, flood = 50, 200
	limits := fmt.Sprintf(`max_client_conns = %d
max_unauthenticated_per_ip = -1
startup_timeout = "1m"
`, maxConns)
	cfgText := fmt.Sprintf(`dir = %q
[authority]
listen = "127.0.0.1:0"
%s%s
[ops]
listen = "127.0.0.1:%d"
drain_timeout = "5s"
`, dir, gatewayTOML{section: "postgres", database: "orders", kind: "instance", engine: "postgres", port: pgPort,
		backend: pg.Addr(), adminUser: pg.AdminUser, passwordFile: "admin-password", extra: limits},
		gatewayTOML{section: "mysql", database: "orders-mysql", kind: "instance", engine: "mariadb", port: myPort,
			backend: maria.Addr(), adminUser: maria.AdminUser, passwordFile: "maria-password", extra: limits}, opsPort)
	cfgPath := writeFile(t, dir, "iamdb.toml", cfgText)
	p := startServe(t, cfgPath)
	stdout, logs := p.stdout, p.logs
	authority, _, _ := strings.Cut(strings.TrimPrefix(stdout.String(), "ready authority="), "\n")
	authority = strings.TrimSpace(authority)
	akid, secret, err := server.ReadAdminKeyFile(filepath.Join(dir, "admin-credentials"))
	if err != nil {
		t.Fatal(err)
	}
	creds := token.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
	get := func(path string) (int, string) { return httpGet(fmt.Sprintf("http://127.0.0.1:%d%s", opsPort, path)) }

	pgLogin := func() error {
		c, err := pgIAMConnect(ctx, t, pgPort, "us-east-1", creds, ca.Pool())
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		var user string
		if err := c.QueryRow(ctx, "select current_user").Scan(&user); err != nil || user != "iam_user" {
			return fmt.Errorf("current_user %q, %v", user, err)
		}
		return nil
	}
	myLogin := func() error {
		got, err := mysqlIAMQuery(ctx, ca, myPort, creds)
		if err == nil && got != "iam_user@%" {
			err = fmt.Errorf("current_user() %q", got)
		}
		return err
	}

	for _, fl := range []struct {
		engine, database string
		port             int
		refused          func(t *testing.T, nc net.Conn) // checks the answer to a new connection
		cli              []string                        // a real client's command line
		cliWant          string                          // and what it must print
		flooded, other   func() error                    // IAM logins through the flooded gateway and the other one
	}{
		{"postgres", "orders", pgPort, func(t *testing.T, nc net.Conn) {
			msg, err := pgproto3.NewFrontend(nc, nc).Receive()
			if er, ok := msg.(*pgproto3.ErrorResponse); !ok || er.Code != "53300" || er.Message != "sorry, too many clients already" {
				t.Errorf("a new connection to the flooded gateway: %#v, %v; want 53300 sorry, too many clients already", msg, err)
			}
		},
			// With sslmode=require, libpq since the fix of CVE-2024-10977 reports only
			// "server sent an error response during SSL exchange": it no longer shows an
			// error received before TLS.
			[]string{"psql", fmt.Sprintf("host=127.0.0.1 port=%d user=iam_user dbname=postgres sslmode=disable password=x", pgPort), "-c", "select 1"},
			"sorry, too many clients already", pgLogin, myLogin},
		{"mysql", "orders-mysql", myPort, func(t *testing.T, nc net.Conn) {
			buf := make([]byte, 64)
			n, err := io.ReadAtLeast(nc, buf, 4)
			if want := "\xff\x10\x04#08004Too many connections"; n < 4 || string(buf[4:n]) != want {
				t.Errorf("a new connection to the flooded gateway: %q, %v; want an ERR packet %q", buf[:n], err, want)
			}
		},
			// mariadb 10.11 tries TLS by default: "ERROR 2002 (HY000): Received error packet
			// before completion of TLS handshake. The authenticity of the following error
			// cannot be verified: 1040 - Too many connections", as from MariaDB itself.
			[]string{"mariadb", "--host=127.0.0.1", fmt.Sprintf("--port=%d", myPort), "--user=iam_user", "--password=x", "-e", "select 1"},
			"1040 - Too many connections", myLogin, pgLogin},
	} {
		t.Run(fl.engine, func(t *testing.T) {
			// The flood: idle connections that send nothing, held open.
			addr := fmt.Sprintf("127.0.0.1:%d", fl.port)
			var conns []net.Conn
			defer func() {
				for _, nc := range conns {
					nc.Close()
				}
			}()
			for range flood {
				nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					t.Fatalf("flood connection %d: %v", len(conns), err)
				}
				conns = append(conns, nc)
			}
			labels := fmt.Sprintf(`{database=%q,engine=%q`, fl.database, fl.engine)
			waitFor(t, "the gateway to hold its cap and refuse the rest", func() (bool, string) {
				_, m := get("/metrics")
				held := `iamdb_gateway_client_connections` + labels + `} ` + fmt.Sprint(maxConns) + "\n"
				refused := `iamdb_gateway_connections_total` + labels + `,outcome="refused",reason="too-many-clients"} ` + fmt.Sprint(flood-maxConns) + "\n"
				return strings.Contains(m, held) && strings.Contains(m, refused), grepLines(m, "iamdb_gateway_c")
			})

			// While it is held: a new connection is refused before it sends anything,
			nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			fl.refused(t, nc)
			nc.Close()
			// and the real client prints the error.
			if bin, err := exec.LookPath(fl.cli[0]); err == nil {
				out, errOut, err := runTool(dir, append(os.Environ(), "PGCONNECT_TIMEOUT=10"), append([]string{bin}, fl.cli[1:]...)...)
				if err == nil || !strings.Contains(errOut, fl.cliWant) {
					t.Errorf("%s against the flooded gateway: %v\nstdout %s\nstderr %s", fl.cli[0], err, out, errOut)
				}
			}
			// The authority answers the AWS CLI.
			out, errOut, err := runTool(dir, toolEnv(t, "us-east-1", awsCreds{AccessKeyID: akid, SecretAccessKey: secret}.env()...),
				append(awsCLI, "sts", "get-caller-identity", "--endpoint-url", authority, "--output", "json")...)
			var id callerIdentity
			if err != nil || json.Unmarshal([]byte(out), &id) != nil || id.Account != "123456789012" {
				t.Errorf("aws sts get-caller-identity during the flood: %v, %q\nstderr: %s", err, out, errOut)
			}
			// The other gateway logs an IAM user in.
			if err := fl.other(); err != nil {
				t.Errorf("IAM login through the other gateway during the flood: %v\n%s", err, logs.String())
			}
			// /healthz answers.
			if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
				t.Errorf("/healthz during the flood = %d %q, want 200 ok", code, body)
			}

			// Once the flood ends, the flooded gateway logs IAM users in again.
			for _, nc := range conns {
				nc.Close()
			}
			conns = nil
			waitFor(t, "an IAM login through the flooded gateway after the flood", func() (bool, string) {
				if err := fl.flooded(); err != nil {
					return false, err.Error()
				}
				return true, ""
			})
		})
	}
	if !strings.Contains(logs.String(), "connection refused") || !strings.Contains(logs.String(), "reason=too-many-clients") {
		t.Errorf("the refusals were not logged:\n%s", logs.String())
	}
	if err := p.stop(t); err != nil {
		t.Errorf("serve after cancel: %v", err)
	}
}

// mysqlIAMQuery logs iam_user in through the MySQL gateway on port with a token and
// returns current_user().
func mysqlIAMQuery(ctx context.Context, ca *pki.CA, port int, creds token.Credentials) (string, error) {
	tok, err := token.Build(fmt.Sprintf("localhost:%d", port), "us-east-1", "iam_user", creds, time.Now())
	if err != nil {
		return "", err
	}
	return mysqlQuery(ctx, ca, port, "iam_user", tok, "orders", "select current_user()")
}

// mysqlQuery logs user in with password (cleartext, over TLS verified with ca) to database
// db (none if empty) through the MySQL gateway on localhost:port, and returns the one value
// of query.
func mysqlQuery(ctx context.Context, ca *pki.CA, port int, user, password, db, query string) (string, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = user, password, db
	cfg.Net, cfg.Addr = "tcp", fmt.Sprintf("localhost:%d", port)
	cfg.TLS = &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	cfg.AllowCleartextPasswords = true
	cfg.Timeout = 10 * time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return "", err
	}
	sdb := sql.OpenDB(connector)
	defer sdb.Close()
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var got string
	err = sdb.QueryRowContext(qctx, query).Scan(&got)
	return got, err
}
