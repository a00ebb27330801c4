package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/token"
)

const (
	testAKID   = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newClock() *testenv.Clock { return testenv.NewClock(t0) }

// provider is a scripted CredentialsProvider; it counts its calls.
type provider struct {
	calls atomic.Int64
	fn    func(ctx context.Context) (client.Credentials, error)
}

func (p *provider) Retrieve(ctx context.Context) (client.Credentials, error) {
	p.calls.Add(1)
	if p.fn == nil {
		return client.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}, nil
	}
	return p.fn(ctx)
}

var target = client.Target{Host: "db.example.com", Port: 5432, User: "app", Region: "eu-west-1"}

// counts are a TokenSource's hook calls.
type counts struct{ mints, hits, errs atomic.Int64 }

func newSource(t *testing.T, p client.CredentialsProvider, c *testenv.Clock, mutate func(*client.Config)) (*client.TokenSource, *counts) {
	t.Helper()
	n := &counts{}
	cfg := client.Config{
		Credentials: p, Now: c.Now,
		OnMint:     func(client.Target, time.Time, time.Duration) { n.mints.Add(1) },
		OnCacheHit: func(client.Target) { n.hits.Add(1) },
		OnError:    func(client.Target, error) { n.errs.Add(1) },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := client.NewTokenSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, n
}

// verify checks tok with the token package's Verifier at time now.
func verify(t *testing.T, tok client.Token, tgt client.Target, now time.Time) {
	t.Helper()
	v, err := token.NewVerifier(token.Config[any]{
		Region: tgt.Region, Endpoints: []string{tgt.Host}, Port: tgt.Port, Now: func() time.Time { return now },
		Keys: token.KeyLookupFunc[any](func(context.Context, string, string) (token.Key[any], error) {
			return token.Key[any]{SecretAccessKey: testSecret}, nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tok.Value(), tgt.User); err != nil {
		t.Errorf("Verify(token) = %v", err)
	}
}

func TestTokenCachedUntilMargin(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := &provider{}
	s, n := newSource(t, p, c, nil)
	ctx := context.Background()
	first, err := s.Token(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, first, target, c.Now())
	if got, want := first.Expires(), t0.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("Expires() = %v, want %v", got, want)
	}
	c.Advance(14*time.Minute - time.Second) // 1 s before the refresh time
	again, err := s.Token(ctx, target)
	if err != nil || again.Value() != first.Value() {
		t.Fatalf("Token at +13m59s = %v, %v; want the cached token", again, err)
	}
	c.Advance(time.Second) // expiry minus the 1-minute margin
	fresh, err := s.Token(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Value() == first.Value() {
		t.Error("Token at +14m returned the old token, want a fresh one")
	}
	verify(t, fresh, target, c.Now())
	if p.calls.Load() != 2 || n.mints.Load() != 2 || n.hits.Load() != 1 || n.errs.Load() != 0 {
		t.Errorf("retrieves, mints, hits, errors = %d, %d, %d, %d; want 2, 2, 1, 0", p.calls.Load(), n.mints.Load(), n.hits.Load(), n.errs.Load())
	}
}

func TestTokenMargin(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := &provider{}
	s, _ := newSource(t, p, c, func(cfg *client.Config) { cfg.Margin = 5 * time.Minute })
	ctx := context.Background()
	first, _ := s.Token(ctx, target)
	c.Advance(10*time.Minute - time.Second)
	if tok, _ := s.Token(ctx, target); tok.Value() != first.Value() {
		t.Error("token replaced before expiry minus margin")
	}
	c.Advance(time.Second)
	if tok, _ := s.Token(ctx, target); tok.Value() == first.Value() {
		t.Error("token not replaced at expiry minus margin")
	}
}

func TestCredentialExpiryCapsTokenLifetime(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := &provider{}
	p.fn = func(context.Context) (client.Credentials, error) {
		return client.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: testSecret, SessionToken: "sess",
			CanExpire: true, Expires: c.Now().Add(5 * time.Minute)}, nil
	}
	s, _ := newSource(t, p, c, nil)
	ctx := context.Background()
	first, err := s.Token(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := first.Expires(), t0.Add(5*time.Minute); !got.Equal(want) {
		t.Errorf("Expires() = %v, want the credentials' expiry %v", got, want)
	}
	c.Advance(4*time.Minute - time.Second)
	if tok, _ := s.Token(ctx, target); tok.Value() != first.Value() {
		t.Error("token replaced before the credentials' expiry minus the margin")
	}
	c.Advance(time.Second)
	tok, err := s.Token(ctx, target)
	if err != nil || tok.Value() == first.Value() {
		t.Errorf("Token at credentials' expiry minus margin = %v, %v; want a fresh token", tok, err)
	}
	if got, want := tok.Expires(), t0.Add(9*time.Minute); !got.Equal(want) {
		t.Errorf("fresh Expires() = %v, want %v", got, want)
	}
	if p.calls.Load() != 2 {
		t.Errorf("Retrieve called %d times, want 2", p.calls.Load())
	}
}

func TestCredentialsExpiringWithinMarginAreUsedButNotCached(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := &provider{}
	p.fn = func(context.Context) (client.Credentials, error) {
		return client.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, CanExpire: true, Expires: t0.Add(30 * time.Second)}, nil
	}
	s, _ := newSource(t, p, c, nil)
	for range 2 {
		tok, err := s.Token(context.Background(), target)
		if err != nil || !tok.Expires().Equal(t0.Add(30*time.Second)) {
			t.Fatalf("Token = %v, %v", tok, err)
		}
	}
	if p.calls.Load() != 2 {
		t.Errorf("Retrieve called %d times, want 2 (nothing cached)", p.calls.Load())
	}
}

func TestSubsecondClock(t *testing.T) {
	t.Parallel()
	c := testenv.NewClock(t0.Add(999 * time.Millisecond))
	s, _ := newSource(t, &provider{}, c, nil)
	tok, err := s.Token(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	// The token is dated in whole seconds; its expiry is 15 minutes after that date.
	if got, want := tok.Expires(), t0.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("Expires() = %v, want %v", got, want)
	}
}

func TestTargetsAreSeparate(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := &provider{}
	s, _ := newSource(t, p, c, nil)
	other := target
	other.User = "reporting"
	a, _ := s.Token(context.Background(), target)
	b, _ := s.Token(context.Background(), other)
	if a.Value() == b.Value() || p.calls.Load() != 2 {
		t.Errorf("two targets: same token %v or %d retrieves, want two tokens", a.Value() == b.Value(), p.calls.Load())
	}
	verify(t, b, other, c.Now())
}

func TestSigningHostIsTargetHost(t *testing.T) {
	t.Parallel()
	s, _ := newSource(t, &provider{}, newClock(), nil)
	for _, tgt := range []client.Target{
		{Host: "db.internal", Port: 5432, User: "app", Region: "us-east-1"},
		{Host: "::1", Port: 3306, User: "app", Region: "us-east-1"},
	} {
		tok, err := s.Token(context.Background(), tgt)
		if err != nil {
			t.Fatal(err)
		}
		if want := tgt.Endpoint() + "/?Action=connect"; !strings.HasPrefix(tok.Value(), want) {
			t.Errorf("token for %v starts %.40q, want %q", tgt, tok.Value(), want)
		}
	}
}

func TestRegionResolution(t *testing.T) {
	t.Parallel()
	withRegion := regionProvider{provider: &provider{}, region: "ap-south-1"}
	tests := []struct {
		name    string
		creds   client.CredentialsProvider
		cfg     string
		tgt     client.Target
		want    string
		wantErr error
	}{
		{"target", withRegion, "us-west-2", client.Target{Host: "a.b.eu-west-1.rds.amazonaws.com", Port: 5432, User: "u", Region: "sa-east-1"}, "sa-east-1", nil},
		{"config", withRegion, "us-west-2", client.Target{Host: "a.b.eu-west-1.rds.amazonaws.com", Port: 5432, User: "u"}, "us-west-2", nil},
		{"host", withRegion, "", client.Target{Host: "a.b.eu-west-1.rds.amazonaws.com", Port: 5432, User: "u"}, "eu-west-1", nil},
		{"china host", withRegion, "", client.Target{Host: "a.b.cn-north-1.rds.amazonaws.com.cn", Port: 5432, User: "u"}, "cn-north-1", nil},
		{"credentials", withRegion, "", client.Target{Host: "db.internal", Port: 5432, User: "u"}, "ap-south-1", nil},
		{"none", &provider{}, "", client.Target{Host: "db.internal", Port: 5432, User: "u"}, "", client.ErrNoRegion},
		{"empty credentials region", regionProvider{provider: &provider{}}, "", client.Target{Host: "db.internal", Port: 5432, User: "u"}, "", client.ErrNoRegion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newSource(t, tt.creds, newClock(), func(c *client.Config) { c.Region = tt.cfg })
			tok, err := s.Token(context.Background(), tt.tgt)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Token(%v) = %v, want %v", tt.tgt, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if scope := "%2F" + tt.want + "%2Frds-db%2F"; !strings.Contains(tok.Value(), scope) {
				t.Errorf("token for %v lacks region %s", tt.tgt, tt.want)
			}
		})
	}
}

type regionProvider struct {
	*provider
	region string
}

func (r regionProvider) Region() string { return r.region }

func TestRegionFromHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want string
	}{
		{"mydb.c9akciq32.eu-west-1.rds.amazonaws.com", "eu-west-1"},
		{"MyDB.C9AKCIQ32.US-EAST-1.RDS.AMAZONAWS.COM.", "us-east-1"},
		{"my-cluster.cluster-ro-c9akciq32.us-gov-west-1.rds.amazonaws.com", "us-gov-west-1"},
		{"proxy.proxy-c9akciq32.ap-northeast-1.rds.amazonaws.com", "ap-northeast-1"},
		{"mydb.c9akciq32.cn-northwest-1.rds.amazonaws.com.cn", "cn-northwest-1"},
		{"eu-west-1.rds.amazonaws.com", ""},
		{"rds.amazonaws.com", ""},
		{"mydb.c9akciq32.notaregion.rds.amazonaws.com", ""},
		{"mydb.c9akciq32.eu-west-x.rds.amazonaws.com", ""},
		{"mydb.eu-west-1.rds.amazonaws.com.evil.com", ""},
		{"db.internal", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := client.RegionFromHost(tt.host)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("RegionFromHost(%q) = %q, %v; want %q", tt.host, got, ok, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("imds: no role")
	tests := []struct {
		name  string
		fn    func(ctx context.Context) (client.Credentials, error)
		tgt   client.Target
		want  error
		cause error
	}{
		{"provider error", func(context.Context) (client.Credentials, error) { return client.Credentials{}, boom }, target, client.ErrNoCredentials, boom},
		{"empty key", func(context.Context) (client.Credentials, error) { return client.Credentials{}, nil }, target, client.ErrNoCredentials, nil},
		{"no secret", func(context.Context) (client.Credentials, error) {
			return client.Credentials{AccessKeyID: testAKID}, nil
		}, target, client.ErrNoCredentials, nil},
		{"expired", func(context.Context) (client.Credentials, error) {
			return client.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: testSecret, SessionToken: "s3cr3t-session", CanExpire: true, Expires: t0}, nil
		}, target, client.ErrExpiredCredentials, nil},
		{"typed provider error kept", func(context.Context) (client.Credentials, error) {
			return client.Credentials{}, &client.Error{Op: "credentials", Kind: client.ErrExpiredCredentials}
		}, target, client.ErrExpiredCredentials, nil},
		{"no host", nil, client.Target{Port: 5432, User: "u", Region: "us-east-1"}, client.ErrInvalidTarget, nil},
		{"no port", nil, client.Target{Host: "h", User: "u", Region: "us-east-1"}, client.ErrInvalidTarget, nil},
		{"port too big", nil, client.Target{Host: "h", Port: 65536, User: "u", Region: "us-east-1"}, client.ErrInvalidTarget, nil},
		{"no user", nil, client.Target{Host: "h", Port: 5432, Region: "us-east-1"}, client.ErrInvalidTarget, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n counts
			s, err := client.NewTokenSource(client.Config{Credentials: &provider{fn: tt.fn}, Now: newClock().Now,
				OnError: func(client.Target, error) { n.errs.Add(1) }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Token(context.Background(), tt.tgt)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Token = %v, want %v", err, tt.want)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("Token = %v, want it to wrap %v", err, tt.cause)
			}
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Kind != tt.want {
				t.Errorf("Token = %#v, want a *client.Error of kind %v", err, tt.want)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q reveals a secret", err)
			}
			if tt.fn != nil && n.errs.Load() != 1 {
				t.Errorf("OnError called %d times, want 1", n.errs.Load())
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	err := &client.Error{Op: "pgxauth", Kind: client.ErrInsecureTransport, Err: errors.New("sslmode=disable"), Hint: "use sslmode=verify-full"}
	if got, want := err.Error(), "client: pgxauth: refusing to send a token without TLS: sslmode=disable (hint: use sslmode=verify-full)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&client.Error{Kind: client.ErrNoRegion}).Error(), "client: no region"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, cfg := range []client.Config{
		{},
		{Credentials: &provider{}, Margin: -time.Second},
		{Credentials: &provider{}, Margin: 11 * time.Minute},
	} {
		if _, err := client.NewTokenSource(cfg); !errors.Is(err, client.ErrInvalidConfig) {
			t.Errorf("NewTokenSource(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

// A failed refresh returns the previous token while it is still valid.
func TestStaleTokenOnRefreshError(t *testing.T) {
	t.Parallel()
	c := newClock()
	var fail atomic.Bool
	p := &provider{}
	p.fn = func(context.Context) (client.Credentials, error) {
		if fail.Load() {
			return client.Credentials{}, errors.New("sts: throttled")
		}
		return client.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}, nil
	}
	s, n := newSource(t, p, c, nil)
	ctx := context.Background()
	first, _ := s.Token(ctx, target)
	fail.Store(true)
	c.Advance(14*time.Minute + 30*time.Second)
	tok, err := s.Token(ctx, target)
	if err != nil || tok.Value() != first.Value() {
		t.Errorf("Token during an outage = %v, %v; want the still valid token", tok, err)
	}
	if n.errs.Load() != 1 {
		t.Errorf("OnError called %d times, want 1", n.errs.Load())
	}
	c.Advance(30 * time.Second) // the old token has expired
	if _, err := s.Token(ctx, target); !errors.Is(err, client.ErrNoCredentials) {
		t.Errorf("Token after expiry during an outage = %v, want ErrNoCredentials", err)
	}
	fail.Store(false)
	if tok, err := s.Token(ctx, target); err != nil || tok.Value() == first.Value() {
		t.Errorf("Token after the outage = %v, %v; want a fresh token", tok, err)
	}
}

// Concurrent callers share one mint per target.
func TestSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		p := &provider{}
		p.fn = func(ctx context.Context) (client.Credentials, error) {
			<-release
			return client.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}, nil
		}
		s, n := newSource(t, p, testenv.NewClock(time.Now()), nil)
		other := target
		other.User = "other"
		const callers = 50
		toks := make([]client.Token, 2*callers)
		var wg sync.WaitGroup
		for i := range toks {
			wg.Go(func() {
				tgt := target
				if i%2 == 1 {
					tgt = other
				}
				tok, err := s.Token(context.Background(), tgt)
				if err != nil {
					t.Error(err)
				}
				toks[i] = tok
			})
		}
		synctest.Wait() // everyone is waiting: two in Retrieve, the rest for them
		if got := p.calls.Load(); got != 2 {
			t.Errorf("Retrieve in flight %d times, want 2 (one per target)", got)
		}
		close(release)
		wg.Wait()
		for i, tok := range toks {
			if tok.Value() != toks[i%2].Value() {
				t.Fatalf("caller %d got another token", i)
			}
		}
		if n.mints.Load() != 2 || n.hits.Load() != 2*callers-2 {
			t.Errorf("mints, hits = %d, %d; want 2, %d", n.mints.Load(), n.hits.Load(), 2*callers-2)
		}
	})
}

// When the caller minting gives up, a waiting caller mints with its own context.
func TestSingleFlightLeaderCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &provider{}
		var first atomic.Bool
		p.fn = func(ctx context.Context) (client.Credentials, error) {
			if first.CompareAndSwap(false, true) {
				<-ctx.Done()
				return client.Credentials{}, ctx.Err()
			}
			return client.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}, nil
		}
		s, _ := newSource(t, p, testenv.NewClock(time.Now()), nil)
		ctx, cancel := context.WithCancel(context.Background())
		leaderErr := tokenAsync(ctx, s)
		synctest.Wait()
		waiter := tokenAsync(context.Background(), s)
		synctest.Wait()
		cancel()
		if err := <-leaderErr; !errors.Is(err, context.Canceled) {
			t.Errorf("leader's Token = %v, want context.Canceled", err)
		}
		if err := <-waiter; err != nil {
			t.Errorf("waiter's Token = %v, want a token", err)
		}
		if p.calls.Load() != 2 {
			t.Errorf("Retrieve called %d times, want 2", p.calls.Load())
		}
	})
}

// tokenAsync calls s.Token(ctx, target) on a new goroutine; the channel receives its
// error.
func tokenAsync(ctx context.Context, s *client.TokenSource) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := s.Token(ctx, target)
		ch <- err
	}()
	return ch
}

// A waiter whose own context ends stops waiting.
func TestWaiterContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		p := &provider{fn: func(context.Context) (client.Credentials, error) {
			<-release
			return client.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}, nil
		}}
		s, _ := newSource(t, p, testenv.NewClock(time.Now()), nil)
		go s.Token(context.Background(), target)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := s.Token(ctx, target); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Token = %v, want context.DeadlineExceeded", err)
		}
		close(release)
	})
}

// A panicking provider releases the waiters and panics in the caller that minted.
func TestPanicReleasesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		p := &provider{fn: func(context.Context) (client.Credentials, error) {
			<-release
			panic("provider bug")
		}}
		s, _ := newSource(t, p, testenv.NewClock(time.Now()), nil)
		panicked := make(chan any, 1)
		go func() {
			defer func() { panicked <- recover() }()
			s.Token(context.Background(), target)
		}()
		synctest.Wait()
		waiter := tokenAsync(context.Background(), s)
		synctest.Wait()
		close(release)
		if p := <-panicked; p != "provider bug" {
			t.Errorf("recovered %v, want the provider's panic", p)
		}
		if err := <-waiter; !errors.Is(err, client.ErrNoCredentials) {
			t.Errorf("waiter's Token = %v, want ErrNoCredentials", err)
		}
	})
}

func TestTokenRedacted(t *testing.T) {
	t.Parallel()
	p := &provider{fn: func(context.Context) (client.Credentials, error) {
		return client.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: testSecret, SessionToken: "s3cr3t-session", CanExpire: true, Expires: t0.Add(time.Hour)}, nil
	}}
	s, _ := newSource(t, p, newClock(), nil)
	tok, err := s.Token(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := p.Retrieve(context.Background())
	sig := tok.Value()[strings.LastIndex(tok.Value(), "=")+1:]
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %[1]v"} {
		outs = append(outs, fmt.Sprintf(verb, tok), fmt.Sprintf(verb, &tok), fmt.Sprintf(verb, creds), fmt.Sprintf(verb, struct{ T client.Token }{tok}))
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("connect", "token", tok, "creds", creds)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("connect", "token", tok, "creds", creds)
	j, _ := json.Marshal(struct {
		Token client.Token
		Creds client.Credentials
	}{tok, creds})
	outs = append(outs, logs.String(), string(j), tok.String(), tok.GoString())
	for _, out := range outs {
		for _, secret := range []string{sig, testSecret, "s3cr3t", "X-Amz-Signature"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q reveals %q", out, secret)
			}
		}
	}
	if got := tok.String(); !strings.Contains(got, "app@db.example.com:5432") || !strings.Contains(got, "redacted") {
		t.Errorf("String() = %q, want the target and [redacted]", got)
	}
	if (client.Token{}).String() != "client.Token{}" || !(client.Token{}).IsZero() {
		t.Error("zero Token")
	}
}

func TestEnvCredentials(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", testAKID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	c, err := client.EnvCredentials().Retrieve(context.Background())
	if err != nil || c.AccessKeyID != testAKID || c.SecretAccessKey != testSecret || c.CanExpire {
		t.Errorf("EnvCredentials = %v, %v", c, err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	if _, err := client.EnvCredentials().Retrieve(context.Background()); !errors.Is(err, client.ErrNoCredentials) {
		t.Errorf("EnvCredentials without a key = %v, want ErrNoCredentials", err)
	}
}

func TestStaticCredentials(t *testing.T) {
	t.Parallel()
	c, err := client.StaticCredentials(testAKID, testSecret, "st").Retrieve(context.Background())
	if err != nil || c.AccessKeyID != testAKID || c.SecretAccessKey != testSecret || c.SessionToken != "st" {
		t.Errorf("StaticCredentials = %v, %v", c, err)
	}
}
