package gateway

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
)

func TestBackendLocalAddrInvalid(t *testing.T) {
	t.Parallel()
	e := env(t)
	for _, a := range []string{"gateway.example", "127.0.0.2:0", "fe80::1%lo"} {
		_, err := New(Config{Engine: EnginePostgres, IAM: e.svc, Database: e.Site(t, gatewayenv.Postgres).Database,
			Backend:     Backend{Addr: e.pg.Addr(), TLS: &tls.Config{}, AdminUser: "a", LocalAddr: a},
			ClientCerts: e.certs})
		if err == nil || !strings.Contains(err.Error(), "backend local address") {
			t.Errorf("New with Backend.LocalAddr %q: %v, want a refusal", a, err)
		}
	}
}

// In native mode pg_hba.conf gives the gateway's source address a cert line and sends
// everyone else to PAM: with Backend.LocalAddr the gateway's IAM logins come from that
// address and use the cert line; without it they arrive from 127.0.0.1 and PAM (here
// pam_deny) refuses them.
func TestBackendLocalAddrPostgresNative(t *testing.T) {
	t.Parallel()
	svc := localdbtest.PAMService(t, localdbtest.PAMDeny...)
	e := newTestEnv(gatewayenv.New(t, gatewayenv.Options{Postgres: true, PostgresOptions: localdb.PostgresOptions{
		Native: &localdb.PostgresNative{PAMService: svc, GatewaySource: "127.0.0.2"}}}))
	backend := Backend{
		Addr: e.pg.Addr(), TLS: &tls.Config{RootCAs: e.ca.Pool(), ServerName: "localhost"},
		AdminUser: e.pg.AdminUser, AdminPassword: e.pg.AdminPassword, LocalAddr: "127.0.0.2",
	}
	gw := startTestGateway(t, e, EnginePostgres, backend, nil)
	c := gw.mustConnect(t, gatewayenv.User, gw.token(t, "alice", gatewayenv.User, time.Time{}))
	var who, from string
	if err := c.QueryRow(context.Background(), "select current_user::text, host(inet_client_addr())").Scan(&who, &from); err != nil || who != "alice" || from != "127.0.0.2" {
		t.Errorf("through the gateway with LocalAddr: %q from %q, %v; want alice from 127.0.0.2", who, from, err)
	}

	backend.LocalAddr = ""
	plain := startTestGateway(t, e, EnginePostgres, backend, nil)
	if _, err := plain.connect(t, gatewayenv.User, plain.token(t, "alice", gatewayenv.User, time.Time{})); err == nil {
		t.Error("through the gateway without LocalAddr: logged in, want the backend's PAM (pam_deny) to refuse the certificate login")
	}
	if l := plain.logs.String(); !strings.Contains(l, `"backend_error":"PAM authentication failed for user \"alice\""`) {
		t.Errorf("gateway log lacks the backend's PAM refusal:\n%s", l)
	}
}

// The MySQL engine's backend connections come from LocalAddr too.
func TestBackendLocalAddrMySQL(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, func(c *Config) { c.Backend.LocalAddr = "127.0.0.2" })
	db := gw.mysqlMustOpen(t, gatewayenv.User, gw.token(t, "alice", gatewayenv.User, time.Time{}), "app")
	var host string
	if err := db.QueryRowContext(context.Background(), "select host from information_schema.processlist where id = connection_id()").Scan(&host); err != nil || !strings.HasPrefix(host, "127.0.0.2:") {
		t.Errorf("backend session's host = %q, %v; want 127.0.0.2:<port>", host, err)
	}
}
