package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/iamdb/iamdb/token"
)

// DefaultMargin is how long before its expiry a cached token is replaced (Config.Margin).
const DefaultMargin = time.Minute

// MaxMargin bounds Config.Margin: a token is cached for at least 15 minutes minus it when
// its credentials last that long.
const MaxMargin = 10 * time.Minute

// Config configures a TokenSource. Zero values are the documented defaults.
type Config struct {
	// Credentials signs the tokens. Required. AWSDefaultCredentials returns the AWS SDK's
	// standard chain; StaticCredentials and EnvCredentials are simpler choices.
	Credentials CredentialsProvider
	// Region is the region tokens are signed for when a Target names none. If empty, the
	// region in an RDS host name ("….eu-west-1.rds.amazonaws.com"); else, when Credentials
	// has a method Region() string (as AWSDefaultCredentials' provider has: the AWS
	// configuration's region), its result; else Token fails with ErrNoRegion.
	Region string
	// Margin is how long before a token expires it is replaced by a fresh one. If zero,
	// DefaultMargin (1 minute); at most MaxMargin. A token expires 15 minutes after it is
	// signed, or when its credentials expire if that is sooner.
	Margin time.Duration
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time

	// Hooks for metrics, called synchronously on the caller's goroutine, never with a lock
	// held; they must be fast and safe for concurrent use. Nil hooks are not called.
	//
	// OnMint is called after a new token was signed, with its expiry and how long signing
	// (mostly: retrieving the credentials) took.
	OnMint func(t Target, expires time.Time, took time.Duration)
	// OnCacheHit is called when Token returns a cached token, or one minted by a
	// concurrent call.
	OnCacheHit func(t Target)
	// OnError is called when minting fails (once per mint, not per waiting caller) or the
	// Target is invalid, with the error Token returns — or, when the previous token is
	// still valid and is returned instead, with the error that was hidden.
	OnError func(t Target, err error)
}

// Target is what a token is signed for: a database user at the host and port the database
// knows itself by (the "signing host"), which need not be the address dialed — through a
// tunnel or a custom DNS name, dial one address and sign for the other.
type Target struct {
	Host   string // host name or IP address, as the database's endpoint names it
	Port   int    // the database's port
	User   string // the database user
	Region string // if empty, Config.Region and the rules documented there
}

// Endpoint returns "host:port", bracketing an IPv6 address.
func (t Target) Endpoint() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// String returns "user@host:port".
func (t Target) String() string { return t.User + "@" + t.Endpoint() }

func (t Target) validate() error {
	switch {
	case t.Host == "":
		return &Error{Op: "token", Kind: ErrInvalidTarget, Hint: "the target needs the database's host name"}
	case t.Port < 1 || t.Port > 65535:
		return &Error{Op: "token", Kind: ErrInvalidTarget, Err: fmt.Errorf("port %d out of range", t.Port), Hint: "the target needs the database's port"}
	case t.User == "":
		return &Error{Op: "token", Kind: ErrInvalidTarget, Hint: "the target needs a database user"}
	}
	return nil
}

// A TokenSource signs RDS auth tokens and caches them per Target until shortly before they
// expire. It is safe for concurrent use; at most one token is signed at a time for a
// Target, and concurrent callers wait for it. It holds no global state and starts no
// goroutines: a token is refreshed by the first call after its refresh time, so an idle
// source costs nothing and needs no Close.
//
// If signing a fresh token fails while the cached one is still valid, Token returns the
// cached one (and reports the error to OnError), so a brief credentials outage does not
// fail new connections. The cache keeps one small entry per distinct Target ever asked
// for; use one TokenSource per application, not one per connection.
type TokenSource struct {
	creds      CredentialsProvider
	region     string
	margin     time.Duration
	now        func() time.Time
	onMint     func(Target, time.Time, time.Duration)
	onCacheHit func(Target)
	onError    func(Target, error)

	mu      sync.Mutex
	entries map[Target]*entry // grows with the distinct targets asked for
}

// entry is one Target's cached token and its mint in flight; guarded by TokenSource.mu.
type entry struct {
	tok       Token
	refreshAt time.Time
	flight    *flight
}

// flight is one mint; done is closed when tok and err are set.
type flight struct {
	done chan struct{}
	tok  Token
	err  error
}

// NewTokenSource validates cfg and returns a TokenSource.
func NewTokenSource(cfg Config) (*TokenSource, error) {
	if cfg.Credentials == nil {
		return nil, &Error{Op: "config", Kind: ErrInvalidConfig, Hint: "Config.Credentials is required, e.g. client.AWSDefaultCredentials"}
	}
	if cfg.Margin == 0 {
		cfg.Margin = DefaultMargin
	}
	if cfg.Margin < 0 || cfg.Margin > MaxMargin {
		return nil, &Error{Op: "config", Kind: ErrInvalidConfig, Err: fmt.Errorf("margin %v", cfg.Margin), Hint: "Config.Margin must be between 0 and 10 minutes"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &TokenSource{
		creds: cfg.Credentials, region: cfg.Region, margin: cfg.Margin, now: cfg.Now,
		onMint: cfg.OnMint, onCacheHit: cfg.OnCacheHit, onError: cfg.OnError,
		entries: map[Target]*entry{},
	}, nil
}

// Token returns a token for t: the cached one if it is not due for refresh, else a fresh
// one. The error is an *Error wrapping one of the Err… kinds, or ctx's error.
func (s *TokenSource) Token(ctx context.Context, t Target) (Token, error) {
	if err := t.validate(); err != nil {
		if s.onError != nil {
			s.onError(t, err)
		}
		return Token{}, err
	}
	for {
		now := s.now()
		s.mu.Lock()
		e := s.entries[t]
		if e == nil {
			e = &entry{}
			s.entries[t] = e
		}
		if !e.tok.IsZero() && now.Before(e.refreshAt) {
			tok := e.tok
			s.mu.Unlock()
			s.hit(t)
			return tok, nil
		}
		if f := e.flight; f != nil {
			s.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return Token{}, fmt.Errorf("client: token: %w", ctx.Err())
			}
			if f.err == nil {
				s.hit(t)
				return f.tok, nil
			}
			if isContextErr(f.err) && ctx.Err() == nil {
				continue // the caller that was minting gave up; try again with our context
			}
			return Token{}, f.err
		}
		f := &flight{done: make(chan struct{})}
		e.flight = f
		s.mu.Unlock()
		return s.fly(ctx, t, e, f)
	}
}

// fly mints a token for t as flight f of entry e and publishes the result.
func (s *TokenSource) fly(ctx context.Context, t Target, e *entry, f *flight) (tok Token, err error) {
	start := s.now()
	var hidden error
	defer func() {
		p := recover()
		if p != nil { // release the waiters, then go on panicking
			err = &Error{Op: "token", Kind: ErrNoCredentials, Err: fmt.Errorf("panic while minting: %v", p)}
		}
		s.mu.Lock()
		if err == nil {
			e.tok, e.refreshAt = tok, tok.expires.Add(-s.margin)
		} else if !e.tok.IsZero() && s.now().Before(e.tok.expires) {
			hidden, err, tok = err, nil, e.tok // the old token still works
		}
		e.flight = nil
		f.tok, f.err = tok, err
		close(f.done)
		s.mu.Unlock()
		if p != nil {
			panic(p)
		}
		switch {
		case err != nil:
			if s.onError != nil {
				s.onError(t, err)
			}
		case hidden != nil:
			if s.onError != nil {
				s.onError(t, hidden)
			}
		case s.onMint != nil:
			s.onMint(t, tok.expires, s.now().Sub(start))
		}
	}()
	return s.mint(ctx, t)
}

// mint signs a new token for t.
func (s *TokenSource) mint(ctx context.Context, t Target) (Token, error) {
	region, err := s.regionFor(t)
	if err != nil {
		return Token{}, err
	}
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		if isContextErr(err) {
			return Token{}, fmt.Errorf("client: credentials: %w", err)
		}
		var ce *Error
		if errors.As(err, &ce) && ce.Kind != nil {
			return Token{}, err
		}
		return Token{}, &Error{Op: "credentials", Kind: ErrNoCredentials, Err: err, Hint: credentialsHint}
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return Token{}, &Error{Op: "credentials", Kind: ErrNoCredentials, Err: errors.New("the provider returned no access key"), Hint: credentialsHint}
	}
	now := s.now().Truncate(time.Second) // the token's X-Amz-Date has whole seconds
	if creds.CanExpire && !now.Before(creds.Expires) {
		return Token{}, &Error{Op: "credentials", Kind: ErrExpiredCredentials,
			Err:  fmt.Errorf("access key %s expired at %s", creds.AccessKeyID, creds.Expires.UTC().Format(time.RFC3339)),
			Hint: "the provider must refresh temporary credentials before they expire; check the clock and the provider's cache"}
	}
	v, err := token.Build(t.Endpoint(), region, t.User, token.Credentials{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
	}, now)
	if err != nil {
		return Token{}, &Error{Op: "token", Kind: ErrInvalidTarget, Err: err}
	}
	expires := now.Add(token.MaxExpires)
	if creds.CanExpire && creds.Expires.Before(expires) {
		expires = creds.Expires
	}
	return Token{value: v, expires: expires, target: t}, nil
}

const credentialsHint = "configure AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, or instance/container credentials)"

// Region returns the region a token for t is signed for, by the rules documented at
// Config.Region, without signing one. The error is an *Error wrapping ErrNoRegion when
// none applies.
func (s *TokenSource) Region(t Target) (string, error) { return s.regionFor(t) }

// regionFor resolves t's region.
func (s *TokenSource) regionFor(t Target) (string, error) {
	if t.Region != "" {
		return t.Region, nil
	}
	if s.region != "" {
		return s.region, nil
	}
	if r, ok := RegionFromHost(t.Host); ok {
		return r, nil
	}
	if rp, ok := s.creds.(interface{ Region() string }); ok {
		if r := rp.Region(); r != "" {
			return r, nil
		}
	}
	return "", &Error{Op: "token", Kind: ErrNoRegion, Err: fmt.Errorf("%s is not an RDS host name", t.Host),
		Hint: "set Config.Region (or the target's), AWS_REGION, or the profile's region"}
}

func (s *TokenSource) hit(t Target) {
	if s.onCacheHit != nil {
		s.onCacheHit(t)
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
