package gatewayrun

import (
	"testing"

	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
)

// A Gateway is a gateway serving on its site until the test ends.
type Gateway struct {
	*gateway.Gateway
	*gatewayenv.Site
	Config gateway.Config
}

// Postgres starts a PostgreSQL gateway in front of e.Postgres; mutate, if not nil,
// adjusts its Config.
func Postgres(t testing.TB, e *gatewayenv.Env, mutate func(*gateway.Config)) *Gateway {
	t.Helper()
	return Start(t, e.Site(t, gatewayenv.Postgres), mutate)
}

// MySQL starts a MySQL gateway in front of e.MariaDB; mutate, if not nil, adjusts its
// Config.
func MySQL(t testing.TB, e *gatewayenv.Env, mutate func(*gateway.Config)) *Gateway {
	t.Helper()
	return Start(t, e.Site(t, gatewayenv.MariaDB), mutate)
}

// Start starts a gateway on site.
func Start(t testing.TB, site *gatewayenv.Site, mutate func(*gateway.Config)) *Gateway {
	t.Helper()
	engine := map[string]string{gatewayenv.Postgres: gateway.EnginePostgres, gatewayenv.MariaDB: gateway.EngineMySQL}[site.Engine]
	b := site.Backend
	cfg := gateway.Config{
		Engine: engine, IAM: site.Env.IAM, Database: site.Database, Certificate: &site.Certificate,
		Backend:     gateway.Backend{Addr: b.Addr, TLS: b.TLS, AdminUser: b.AdminUser, AdminPassword: b.AdminPassword},
		ClientCerts: site.Env.ClientCerts,
		Logger:      site.Logs.Logger(),
		Now:         site.Env.Clock.Now,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	site.Serve(t, g, gateway.ErrServerClosed)
	return &Gateway{Gateway: g, Site: site, Config: cfg}
}
