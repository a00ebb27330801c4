package pgxauth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/client/pgxauth"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv/gatewayrun"
)

var shared = &gatewayenv.Shared{Options: gatewayenv.Options{Postgres: true}}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// counter counts a TokenSource's mints and Retrieve calls.
type counter struct{ mints, retrieves atomic.Int64 }

func (c *counter) provider(p client.CredentialsProvider) client.CredentialsProvider {
	return client.CredentialsProviderFunc(func(ctx context.Context) (client.Credentials, error) {
		c.retrieves.Add(1)
		return p.Retrieve(ctx)
	})
}

func newSource(t *testing.T, env *gatewayenv.Env, p client.CredentialsProvider, n *counter) *client.TokenSource {
	t.Helper()
	return env.TokenSource(t, n.provider(p), &n.mints)
}

func dsn(env *gatewayenv.Env, gw *gatewayrun.Gateway, user string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=postgres sslmode=verify-full sslrootcert=%s connect_timeout=20", gw.Port, user, env.CAFile)
}

// connConfig returns the parsed dsn(env, gw, user).
func connConfig(t *testing.T, env *gatewayenv.Env, gw *gatewayrun.Gateway, user string) *pgx.ConnConfig {
	t.Helper()
	cc, err := pgx.ParseConfig(dsn(env, gw, user))
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// newPool returns a pool of at most maxConns (if not zero) connections of user through gw,
// each logged in by src with opts; it is closed when the test ends.
func newPool(t *testing.T, env *gatewayenv.Env, gw *gatewayrun.Gateway, user string, src *client.TokenSource, opts pgxauth.Options, maxConns int32) *pgxpool.Pool {
	t.Helper()
	pc, err := pgxpool.ParseConfig(dsn(env, gw, user))
	if err != nil {
		t.Fatal(err)
	}
	pc.BeforeConnect = pgxauth.BeforeConnect(src, opts)
	if maxConns != 0 {
		pc.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// writeCA writes a new CA's certificate to a temporary file and returns its name.
func writeCA(t *testing.T) string {
	t.Helper()
	ca, err := pki.NewCA("test", time.Hour, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile
}

// currentUser runs "select current_user" on n new connections of pool at once.
func acquireAll(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conns := make([]*pgxpool.Conn, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { conns[i], errs[i] = pool.Acquire(ctx) })
	}
	wg.Wait()
	for i, c := range conns {
		if errs[i] != nil {
			t.Fatalf("Acquire: %v", errs[i])
		}
		var user string
		if err := c.QueryRow(ctx, "select current_user").Scan(&user); err != nil || user != gatewayenv.User {
			t.Errorf("select current_user = %q, %v; want %s", user, err, gatewayenv.User)
		}
		c.Release()
	}
}

// A pool keeps opening connections as the clock jumps past token and credential expiry.
// Not parallel: it moves the shared clock.
func TestPoolAcrossExpiry(t *testing.T) {
	env := shared.Get(t)
	gw := gatewayrun.Postgres(t, env, nil)
	creds, sessions := env.SessionCredentials(gatewayenv.User)
	var n counter
	src := newSource(t, env, creds, &n)
	pool := newPool(t, env, gw, gatewayenv.User, src, pgxauth.Options{RequireVerifiedTLS: true}, 4)
	const rounds = 3
	for round := range rounds {
		if round > 0 {
			env.Clock.Advance(20 * time.Minute) // tokens and the session credentials have expired
		}
		pool.Reset() // every connection of this round is new
		acquireAll(t, pool, 4)
		acquireAll(t, pool, 4) // reused and new ones, with the cached token
		if got := n.mints.Load(); got != int64(round+1) {
			t.Errorf("round %d: %d mints, want %d (one per token lifetime)", round, got, round+1)
		}
	}
	if got := sessions(); got != rounds {
		t.Errorf("%d sessions issued, want %d", got, rounds)
	}
	if st := pool.Stat(); st.NewConnsCount() < 4*rounds {
		t.Errorf("%d connections opened, want at least %d", st.NewConnsCount(), 4*rounds)
	}
}

// Credentials that expire before the token would are not outlived by the cached token.
// Not parallel: it moves the shared clock.
func TestCredentialExpiryCapsToken(t *testing.T) {
	env := shared.Get(t)
	gw := gatewayrun.Postgres(t, env, nil)
	creds, sessions := env.SessionCredentials(gatewayenv.User)
	// The shared clock runs with real time: the check allows for the time the test takes.
	start := time.Now()
	if _, err := creds.Retrieve(context.Background()); err != nil { // a session issued now, for 15 minutes
		t.Fatal(err)
	}
	var n counter
	var expiries []time.Time
	var mu sync.Mutex
	src, err := client.NewTokenSource(client.Config{
		Credentials: n.provider(creds), Region: gatewayenv.Region, Now: env.Clock.Now,
		OnMint: func(_ client.Target, exp time.Time, _ time.Duration) {
			mu.Lock()
			expiries = append(expiries, exp)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	connect := func() {
		t.Helper()
		cc := connConfig(t, env, gw, gatewayenv.User)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := pgxauth.BeforeConnect(src, pgxauth.Options{})(ctx, cc); err != nil {
			t.Fatal(err)
		}
		c, err := pgx.ConnectConfig(ctx, cc)
		if err != nil {
			t.Fatalf("connect at %v: %v", env.Clock.Now(), err)
		}
		c.Close(ctx)
	}
	env.Clock.Advance(8 * time.Minute) // the session has 7 minutes left
	connect()
	env.Clock.Advance(7*time.Minute + 30*time.Second) // the session has expired; a 15-minute token from 7.5 minutes ago would not have
	connect()
	if len(expiries) != 2 || sessions() != 2 {
		t.Fatalf("%d mints and %d sessions, want 2 and 2", len(expiries), sessions())
	}
	if d := env.Clock.Now().Sub(expiries[0]); d < 0 || d > 31*time.Second+time.Since(start) { // expirations are whole seconds
		t.Errorf("first token expired %v ago, want about 30 s (capped by the credentials)", d)
	}
}

// database/sql through pgx's stdlib: every new connection gets a token, across expiry.
// Not parallel: it moves the shared clock.
func TestDatabaseSQL(t *testing.T) {
	env := shared.Get(t)
	gw := gatewayrun.Postgres(t, env, nil)
	creds, _ := env.SessionCredentials(gatewayenv.User)
	var n counter
	src := newSource(t, env, creds, &n)
	cc := connConfig(t, env, gw, gatewayenv.User)
	db := stdlib.OpenDB(*cc, stdlib.OptionBeforeConnect(pgxauth.BeforeConnect(src, pgxauth.Options{})))
	defer db.Close()
	db.SetMaxIdleConns(0) // every Conn is a new connection
	ctx := context.Background()
	for round := range 3 {
		if round > 0 {
			env.Clock.Advance(20 * time.Minute)
		}
		for range 2 {
			var user string
			if err := db.QueryRowContext(ctx, "select current_user").Scan(&user); err != nil || user != gatewayenv.User {
				t.Fatalf("round %d: select current_user = %q, %v", round, user, err)
			}
		}
	}
	if got := n.mints.Load(); got != 3 {
		t.Errorf("%d mints, want 3", got)
	}
}

// The token is signed for Options.Host while pgx dials 127.0.0.1.
func TestSigningHostOverride(t *testing.T) {
	t.Parallel()
	env := shared.Get(t)
	gw := gatewayrun.Postgres(t, env, nil)
	src := env.TokenSource(t, env.LongTermCredentials(gatewayenv.User), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tt := range []struct {
		host   string
		wantOK bool
	}{
		{gatewayenv.Alias, true},           // a registered endpoint name that does not resolve
		{"unregistered.iamdb.test", false}, // the gateway refuses a token for another host
	} {
		cc := connConfig(t, env, gw, gatewayenv.User)
		if err := pgxauth.BeforeConnect(src, pgxauth.Options{Host: tt.host})(ctx, cc); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cc.Password, fmt.Sprintf("%s:%d/?", tt.host, gw.Port)) {
			t.Errorf("token for %s starts %.40q", tt.host, cc.Password)
		}
		c, err := pgx.ConnectConfig(ctx, cc)
		if (err == nil) != tt.wantOK {
			t.Errorf("connect with a token for %s: %v, want success %v", tt.host, err, tt.wantOK)
		}
		if err == nil {
			c.Close(ctx)
		}
	}
}

// A refused login's error says why it failed and does not contain the token.
func TestRefusedLoginError(t *testing.T) {
	t.Parallel()
	env := shared.Get(t)
	gw := gatewayrun.Postgres(t, env, nil)
	src := env.TokenSource(t, env.LongTermCredentials(gatewayenv.Denied), nil)
	err := newPool(t, env, gw, gatewayenv.Denied, src, pgxauth.Options{}, 0).Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "PAM authentication failed") {
		t.Fatalf("Ping as a user without a policy = %v, want PAM authentication failed", err)
	}
	gatewayenv.CheckNoToken(t, err)
}

// Configurations that could send the token in plaintext are refused before any network
// I/O, through every entry point.
func TestRefusesPlaintext(t *testing.T) {
	t.Parallel()
	addr, accepts := testenv.CountingListener(t)
	src, retrieves := gatewayenv.CountingSource(t)
	hook := pgxauth.BeforeConnect(src, pgxauth.Options{})
	for _, mode := range []string{"sslmode=disable", "sslmode=allow", "sslmode=prefer", "", "host=/tmp sslmode=disable"} {
		t.Run(mode, func(t *testing.T) {
			conn := fmt.Sprintf("host=127.0.0.1 port=%d user=app dbname=postgres connect_timeout=5 %s", addr.Port, mode)
			ctx := context.Background()
			check := func(via string, err error) {
				t.Helper()
				if !errors.Is(err, client.ErrInsecureTransport) {
					t.Errorf("%s: %v, want ErrInsecureTransport", via, err)
				}
			}
			cc, err := pgx.ParseConfig(conn)
			if err != nil {
				t.Fatal(err)
			}
			check("hook", hook(ctx, cc))
			if cc.Password != "" {
				t.Error("the hook set a password")
			}

			pc, err := pgxpool.ParseConfig(conn)
			if err != nil {
				t.Fatal(err)
			}
			pc.BeforeConnect = hook
			pool, err := pgxpool.NewWithConfig(ctx, pc)
			if err != nil {
				t.Fatal(err)
			}
			check("pgxpool", pool.Ping(ctx))
			pool.Close()

			db := stdlib.OpenDB(*cc, stdlib.OptionBeforeConnect(hook))
			check("database/sql", db.PingContext(ctx))
			db.Close()
		})
	}
	if accepts.Load() != 0 || retrieves.Load() != 0 {
		t.Errorf("%d connections accepted and %d credentials retrieved, want none", accepts.Load(), retrieves.Load())
	}
}

func TestAcceptsTLS(t *testing.T) {
	t.Parallel()
	caFile := writeCA(t)
	for _, mode := range []string{"sslmode=require", "sslmode=verify-ca sslrootcert=" + caFile, "sslmode=verify-full sslrootcert=" + caFile, "host=a,b sslmode=require"} {
		cc, err := pgx.ParseConfig("host=db.internal port=5432 user=app " + mode)
		if err != nil {
			t.Fatal(err)
		}
		if err := pgxauth.CheckTLS(cc); err != nil {
			t.Errorf("CheckTLS(%s) = %v, want nil", mode, err)
		}
	}
}

// AWSDefaultCredentials with a role to assume, through the authority's real STS endpoint:
// the token is signed with the role session's credentials and the gateway lets the
// session connect by the role's policy. Not parallel: it sets the environment.
func TestAssumeRoleThroughSTS(t *testing.T) {
	env := shared.Get(t)
	gw := gatewayrun.Postgres(t, env, nil)
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	id, secret := env.AccessKey(gatewayenv.User)
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_REGION", gatewayenv.Region)
	t.Setenv("AWS_ENDPOINT_URL_STS", gatewayenv.AWSEndpoint(t, env.Authority))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{RoleARN: gatewayenv.RoleARN, RoleSessionName: "client-test"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := creds.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.AccessKeyID, "ASIA") || !c.CanExpire || c.SessionToken == "" {
		t.Fatalf("assumed role credentials = %v, want temporary credentials", c)
	}
	src, err := client.NewTokenSource(client.Config{Credentials: creds, Now: env.Clock.Now}) // the region is the AWS configuration's
	if err != nil {
		t.Fatal(err)
	}
	cc := connConfig(t, env, gw, gatewayenv.User)
	if err := pgxauth.BeforeConnect(src, pgxauth.Options{})(ctx, cc); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatalf("connect with the role session's token: %v", err)
	}
	conn.Close(ctx)
	// The gateway logs "connection authorized" after its reply: it may come a moment later.
	want := `"principal":"arn:aws:sts::` + gatewayenv.Account + `:assumed-role/` + gatewayenv.RoleName + `/client-test"`
	gw.Logs.WaitLine(t, `"msg":"connection authorized"`, want)
}

func TestRequireVerifiedTLS(t *testing.T) {
	t.Parallel()
	caFile := writeCA(t)
	src, err := client.NewTokenSource(client.Config{Region: "us-east-1", Credentials: client.StaticCredentials("AKIAIOSFODNN7EXAMPLE", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		mode               string
		wantVerified, want error
		opts               pgxauth.Options
	}{
		{"sslmode=require", client.ErrInsecureTransport, nil, pgxauth.Options{}},
		{"sslmode=require sslrootcert=" + caFile, nil, nil, pgxauth.Options{}}, // libpq: verify-ca
		{"sslmode=verify-ca sslrootcert=" + caFile, nil, nil, pgxauth.Options{}},
		{"sslmode=verify-full sslrootcert=" + caFile, nil, nil, pgxauth.Options{}},
		// Several hosts: pgx would send each the token signed for the first.
		{"host=a,b sslmode=verify-full sslrootcert=" + caFile, client.ErrInvalidTarget, client.ErrInvalidTarget, pgxauth.Options{}},
		{"host=a,a port=5432,5433 sslmode=verify-full sslrootcert=" + caFile, client.ErrInvalidTarget, client.ErrInvalidTarget, pgxauth.Options{}},
		// … unless the caller names the one endpoint they all are.
		{"host=a,b sslmode=verify-full sslrootcert=" + caFile, nil, nil, pgxauth.Options{Host: "db.internal", Port: 5432}},
	} {
		cc, err := pgx.ParseConfig("host=db.internal port=5432 user=app " + tt.mode)
		if err != nil {
			t.Fatal(err)
		}
		verified := tt.opts
		verified.RequireVerifiedTLS = true
		if err := pgxauth.BeforeConnect(src, verified)(context.Background(), cc); !errors.Is(err, tt.wantVerified) {
			t.Errorf("BeforeConnect(RequireVerifiedTLS)(%s) = %v, want %v", tt.mode, err, tt.wantVerified)
		}
		if err := pgxauth.BeforeConnect(src, tt.opts)(context.Background(), cc); !errors.Is(err, tt.want) {
			t.Errorf("BeforeConnect(%s) = %v, want %v", tt.mode, err, tt.want)
		}
	}
}
