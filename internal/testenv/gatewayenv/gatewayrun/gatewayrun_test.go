package gatewayrun_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv/gatewayrun"
)

// alice logs in through a PostgreSQL gateway with a token for its site.
func TestPostgres(t *testing.T) {
	e := gatewayenv.New(t, gatewayenv.Options{Postgres: true})
	var mutated bool
	gw := gatewayrun.Postgres(t, e, func(*gateway.Config) { mutated = true })
	if !mutated || gw.Config.Engine != gateway.EnginePostgres {
		t.Fatalf("mutate called %v, engine %q", mutated, gw.Config.Engine)
	}
	cc, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=alice dbname=postgres sslmode=disable connect_timeout=20", gw.Port))
	if err != nil {
		t.Fatal(err)
	}
	cc.Password = gw.Token(t, "alice", "alice", time.Time{})
	cc.TLSConfig = e.ClientTLS()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc.Fallbacks = nil
	c, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatalf("connect as alice: %v", err)
	}
	defer c.Close(ctx)
	var user string
	if err := c.QueryRow(ctx, "select current_user").Scan(&user); err != nil || user != "alice" {
		t.Errorf("current_user = %q, %v; want alice", user, err)
	}
}
