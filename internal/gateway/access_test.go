package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/token"
)

// The access matrix (Teleport's access_test.go): every way a login is decided, written
// once and run against the PostgreSQL and the MySQL gateway with real clients (pgx,
// go-sql-driver), checking the wire error byte for byte, the logged reason and that no
// secret reaches the logs.

// answer is what the gateway tells a client of a login.
type answer uint8

const (
	allowed     answer = iota
	denied             // the RDS refusal of an IAM login (any reason)
	deniedEmpty        // the same, for an empty password
	noSSL              // the refusal of a plaintext login
	badPassword        // the backend's refusal of the password
)

// accessCase is one login of the matrix.
type accessCase struct {
	name      string
	user      string
	password  string // a token, or a password
	plaintext bool   // no TLS
	want      answer
	reason    string // logged; "" when allowed
}

// accessEngine drives one engine's gateway.
type accessEngine struct {
	gw        *testGW
	wrongPort string // an endpoint on another port
	// login logs user in (and checks the session is user's) and returns the wire
	// error's code and message, "" when it succeeded.
	login func(t *testing.T, user, password string, plaintext bool) (code, message string)
	// wire returns the code and message an answer must carry (message: a prefix for
	// badPassword, whose host part is the backend's).
	wire func(a answer, user string) (code, message string)
}

func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	for name, start := range map[string]func(t *testing.T) accessEngine{EnginePostgres: pgAccess, EngineMySQL: mysqlAccess} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runAccessMatrix(t, start(t))
		})
	}
}

func runAccessMatrix(t *testing.T, e accessEngine) {
	gw := e.gw
	now := gw.env.clock.Now()
	ep := fmt.Sprintf("localhost:%d", gw.port)
	build := func(endpoint, region, user, key string, at time.Time) string {
		tok, err := token.Build(endpoint, region, user, gw.env.keys[key], at)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok := func(key, user string) string { return build(ep, testRegion, user, key, now) }
	valid := tok("alice", "alice")
	tampered := valid[:len(valid)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", valid[len(valid)-1])+1)%16])
	cases := []accessCase{
		{"allowed", "alice", tok("alice", "alice"), false, allowed, ""},
		{"allowed through a role", "nina", tok("alice", "nina"), false, allowed, ""},
		{"allowed with session credentials", "alice", tok("alice-session", "alice"), false, allowed, ""},
		{"password user", "pwuser", testPassword, false, allowed, ""},
		{"unknown key", "alice", unknownKeyToken(t, gw), false, denied, "unknown-key"},
		{"empty token", "alice", "", false, deniedEmpty, "malformed"},
		{"no TLS", "alice", tok("alice", "alice"), true, noSSL, "no-ssl"},
		{"no TLS, password user", "pwuser", testPassword, true, noSSL, "no-ssl"},
		{"not a member of rds_iam", "pwuser", tok("alice", "pwuser"), false, badPassword, "password"},
		{"expired", "alice", build(ep, testRegion, "alice", "alice", now.Add(-16*time.Minute)), false, denied, "expired"},
		{"tampered", "alice", tampered, false, denied, "signature-mismatch"},
		{"wrong host", "alice", build(fmt.Sprintf("elsewhere.example.com:%d", gw.port), testRegion, "alice", "alice", now), false, denied, "host-not-allowed"},
		{"wrong port", "alice", build(e.wrongPort, testRegion, "alice", "alice", now), false, denied, "port-not-allowed"},
		{"wrong region", "alice", build(ep, "eu-west-1", "alice", "alice", now), false, denied, "wrong-scope-region"},
		{"wrong user", "nina", valid, false, denied, "user-mismatch"},
		{"no policy", "bob", tok("bob", "bob"), false, denied, "implicit-deny"},
		{"explicit deny", "carol", tok("carol", "carol"), false, denied, "explicit-deny"},
		{"inactive key", "dave", tok("dave", "dave"), false, denied, "inactive-key"},
		{"expired session", "alice", build(ep, testRegion, "alice", "alice-expired-session", now.Add(-time.Minute)), false, denied, "session-expired"},
		{"not a token", "alice", "hunter2", false, denied, "malformed"},
	}
	secrets := []string{testPassword, gw.env.keys["alice-session"].SessionToken, gw.env.keys["alice-expired-session"].SessionToken}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			secrets = append(secrets, tc.password)
			code, msg := e.login(t, tc.user, tc.password, tc.plaintext)
			wantCode, wantMsg := e.wire(tc.want, tc.user)
			if code != wantCode || msg != wantMsg && (tc.want != badPassword || !strings.HasPrefix(msg, wantMsg)) {
				t.Errorf("login as %s = %q %q, want %q %q", tc.user, code, msg, wantCode, wantMsg)
			}
			if tc.reason != "" && findLog(gw, `"msg":"authentication failed"`, `"user":"`+tc.user+`"`, `"reason":"`+tc.reason+`"`) == "" {
				t.Errorf("no authentication failed line with reason %q:\n%s", tc.reason, gw.logs.String())
			}
		})
	}
	if got := counter(t, gw, "iamdb_gateway_connections_total", map[string]string{"engine": gw.cfg.Engine, "outcome": "refused", "reason": "explicit-deny"}); got != 1 {
		t.Errorf("connections_total{refused,explicit-deny} = %v, want 1", got)
	}
	if line := findLog(gw, `"reason":"explicit-deny"`); !strings.Contains(line, `"statement":"NoCarol"`) || !strings.Contains(line, `"principal":"arn:aws:iam::123456789012:user/carol"`) {
		t.Errorf("explicit deny log line lacks the statement or principal: %s", line)
	}
	checkNoSecrets(t, gw, secrets...)
}

// unknownKeyToken returns a well-formed token signed with an access key the authority
// does not know.
func unknownKeyToken(t testing.TB, gw *testGW) string {
	t.Helper()
	creds := token.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	tok, err := token.Build(fmt.Sprintf("localhost:%d", gw.port), testRegion, "alice", creds, gw.env.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func pgAccess(t *testing.T) accessEngine {
	gw := newGateway(t, nil)
	dumpLogsOnFail(t, gw)
	return accessEngine{
		gw: gw, wrongPort: "localhost:5432",
		login: func(t *testing.T, user, password string, plaintext bool) (string, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := pgx.ConnectConfig(ctx, gw.connConfig(t, user, password, plaintext))
			if err != nil {
				pe := pgError(t, err)
				if pe.Severity != "FATAL" || pe.Detail != "" {
					t.Errorf("error severity %q, detail %q; want FATAL, none", pe.Severity, pe.Detail)
				}
				return pe.Code, pe.Message
			}
			defer c.Close(ctx)
			var current string
			if err := c.QueryRow(ctx, "select current_user").Scan(&current); err != nil || current != user {
				t.Errorf("current_user = %q, %v; want %q", current, err, user)
			}
			return "", ""
		},
		wire: func(a answer, user string) (string, string) {
			switch a {
			case denied, deniedEmpty:
				return "28000", `PAM authentication failed for user "` + user + `"`
			case noSSL:
				return "28000", `pg_hba.conf rejects connection for host "127.0.0.1", user "` + user + `", database "postgres", SSL off`
			case badPassword:
				return "28P01", `password authentication failed for user "` + user + `"`
			}
			return "", ""
		},
	}
}

func mysqlAccess(t *testing.T) accessEngine {
	gw := newMySQLGateway(t, nil)
	dumpLogsOnFail(t, gw)
	return accessEngine{
		gw: gw, wrongPort: "localhost:3306",
		login: func(t *testing.T, user, password string, plaintext bool) (string, string) {
			tc := gw.env.ClientTLS()
			if plaintext {
				tc = nil
			}
			db, err := gw.mysqlOpen(t, gw.mysqlConfig(user, password, "app", tc))
			if err != nil {
				me := mysqlError(t, err)
				return fmt.Sprintf("%d (%s)", me.Number, me.SQLState[:]), me.Message
			}
			defer db.Close()
			var current string
			if err := db.QueryRow("select current_user()").Scan(&current); err != nil || current != user+"@%" {
				t.Errorf("current_user() = %q, %v; want %s@%%", current, err, user)
			}
			return "", ""
		},
		wire: func(a answer, user string) (string, string) {
			switch a {
			case denied:
				return "1045 (28000)", "Access denied for user '" + user + "'@'127.0.0.1' (using password: YES)"
			case deniedEmpty:
				return "1045 (28000)", "Access denied for user '" + user + "'@'127.0.0.1' (using password: NO)"
			case noSSL:
				return "3159 (HY000)", "Connections using insecure transport are prohibited: the gateway requires TLS (--ssl)"
			case badPassword:
				return "1045 (28000)", "Access denied for user '" + user + "'@"
			}
			return "", ""
		},
	}
}
