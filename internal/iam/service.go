package iam

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/oidc"
	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
)

// Service is the authority's domain: accounts, IAM entities, STS sessions and the RDS
// registry over a store.Store, with an in-memory snapshot for the data path (LookupKey,
// AuthorizeConnect, DatabaseByEndpoint). It is safe for concurrent use.
type Service struct {
	st     store.Store
	now    func() time.Time
	rand   io.Reader
	region string
	flush  time.Duration

	webKeys WebIdentityKeySource
	webSkew time.Duration
	log     *slog.Logger

	secrets  cipher.AEAD   // access key secrets at rest
	sessions cipher.AEAD   // session tokens
	previous []cipher.AEAD // session tokens sealed under previous master keys
	// previousSecrets opens MFA seeds that a rotation by an earlier iamdb left under a
	// previous master key.
	previousSecrets []cipher.AEAD

	snap        atomic.Pointer[snapshot]
	sessCache   atomic.Pointer[sessionCache]
	nativePorts atomic.Pointer[map[int][]string] // SetNativePorts: port → resource IDs
	refreshMu   sync.Mutex
	// Guarded by refreshMu: the compiled policies of the snapshots, by kind, name and
	// document; how many apply added since the last build, and how many build kept.
	compiled                   policyCache
	compiledAdds, compiledLive int
	// Counts of snapshots made by build and by applyChanges.
	fullBuilds, appliedBuilds atomic.Int64
	usage                     usageTracker
	ctxPool                   sync.Pool // *policy.Context

	admin *policy.Policy // AdministratorAccess, the identity policy of root callers

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// lockedReader makes a caller-supplied io.Reader safe for concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// New validates cfg, loads the snapshot from the store and starts watching the store for
// changes. ctx bounds the initial load only. Close the Service when done.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("iam: config: no store")
	}
	if len(cfg.MasterKey) != 32 {
		return nil, errors.New("iam: config: master key must be 32 bytes")
	}
	s := &Service{st: cfg.Store, now: cfg.Now, rand: cfg.Rand, region: cfg.DefaultRegion, flush: cfg.UsageFlushInterval}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	} else {
		s.rand = &lockedReader{r: s.rand}
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.flush <= 0 {
		s.flush = time.Minute
	}
	s.webKeys, s.webSkew, s.log = cfg.WebIdentityKeys, cfg.WebIdentitySkew, cfg.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.webKeys == nil {
		s.webKeys = oidc.NewKeyCache(oidc.KeyCacheConfig{Now: s.now})
	}
	if s.webSkew <= 0 {
		s.webSkew = defaultWebIdentitySkew
	}
	var err error
	if s.secrets, err = deriveAEAD(cfg.MasterKey, labelSecret); err != nil {
		return nil, err
	}
	if s.sessions, err = deriveAEAD(cfg.MasterKey, labelSession); err != nil {
		return nil, err
	}
	for _, k := range cfg.PreviousMasterKeys {
		if len(k) != 32 {
			return nil, errors.New("iam: config: previous master keys are 32 bytes")
		}
		a, err := deriveAEAD(k, labelSession)
		if err != nil {
			return nil, err
		}
		b, err := deriveAEAD(k, labelSecret)
		if err != nil {
			return nil, err
		}
		s.previous = append(s.previous, a)
		s.previousSecrets = append(s.previousSecrets, b)
	}
	s.admin = builtinPolicies[adminPolicyARN].compiled
	s.ctxPool.New = func() any { return new(policy.Context) }
	s.sessCache.Store(new(sessionCache))

	wctx, cancel := context.WithCancel(context.Background())
	watch := s.st.Watch(wctx) // before the load, so that no change is missed
	start := time.Now()
	if err := s.refresh(ctx); err != nil {
		cancel()
		return nil, err
	}
	// The load made garbage of about the size of what it keeps (the raw items, the
	// documents' JSON): hand it back to the system now rather than keep it resident.
	debug.FreeOSMemory()
	snap := s.snap.Load()
	s.log.Info("iam: loaded the store", "revision", snap.rev, "users", snap.users.Len(), "roles", snap.roles.Len(),
		"access_keys", snap.keys.Len(), "managed_policies", snap.managed.Len()-len(builtinPolicies),
		"seconds", time.Since(start).Seconds())
	if bad := sortedSet(s.snap.Load().unsealable); len(bad) > 0 {
		cancel()
		return nil, fmt.Errorf("%w: the secrets of %d access keys (%s) cannot be decrypted: "+
			"this is not the master key the store was written with (after a rotation, the new key is master_key_file)",
			ErrWrongMasterKey, len(bad), strings.Join(firstN(bad, 3), ", "))
	}
	if err := s.checkSeeds(ctx); err != nil {
		cancel()
		return nil, err
	}
	s.cancel = cancel
	s.done = make(chan struct{})
	go s.loop(wctx, watch)
	return s, nil
}

// checkSeeds returns ErrWrongMasterKey if an MFA device's seed opens under neither the
// master key nor a previous one, and logs a warning for seeds under a previous key (a
// rotation by an iamdb that left them behind: rotate-master-key takes them along).
func (s *Service) checkSeeds(ctx context.Context) error {
	var bad, old []string
	err := s.st.View(ctx, func(tx store.Tx) error {
		for after := ""; ; {
			items, err := tx.List(kindMFA, "", after, 500)
			if err != nil || len(items) == 0 {
				return err
			}
			for _, it := range items {
				after = it.Key
				var d mfaDoc
				if err := json.Unmarshal(it.Value, &d); err != nil {
					return fmt.Errorf("iam: MFA device %q: %w", it.Key, err)
				}
				acct := keyAccount(it.Key)
				if _, err := open(s.secrets, d.Seed, []byte(mfaSeedADPrefix+d.serial(acct))); err == nil {
					continue
				}
				if prev, err := s.openSeedPrevious(acct, &d); err == nil {
					clear(prev)
					old = append(old, d.serial(acct))
				} else {
					bad = append(bad, d.serial(acct))
				}
			}
		}
	})
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: the seeds of %d MFA devices (%s) cannot be decrypted: "+
			"this is not the master key the store was written with (after a rotation, the new key is master_key_file)",
			ErrWrongMasterKey, len(bad), strings.Join(firstN(bad, 3), ", "))
	}
	if len(old) > 0 {
		s.log.Warn("iam: MFA seeds are still encrypted under a previous master key; run rotate-master-key again to take them along",
			"devices", len(old), "first", firstN(old, 3))
	}
	return nil
}

// ErrWrongMasterKey is returned by New when the store holds secrets the master key cannot
// decrypt.
var ErrWrongMasterKey = errors.New("iam: wrong master key")

// firstN returns at most n elements of ids, and "…" if there were more.
func firstN(ids []string, n int) []string {
	if len(ids) <= n {
		return ids
	}
	return append(ids[:n:n], "…")
}

// loop rebuilds the snapshot on every store revision and flushes usage records.
func (s *Service) loop(ctx context.Context, watch <-chan int64) {
	defer close(s.done)
	tick := time.NewTicker(s.flush)
	defer tick.Stop()
	var retry <-chan time.Time
	failing := false
	rebuild := func() {
		err := s.refresh(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			retry = time.After(time.Second)
			if !failing {
				s.log.Warn("iam: cannot rebuild the snapshot from the store; serving the last one, retrying every second", "err", err)
			}
			failing = true
		case err == nil && failing:
			s.log.Info("iam: the snapshot is up to date again")
			failing = false
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-watch:
			if !ok {
				return
			}
			rebuild()
		case <-retry:
			retry = nil
			rebuild()
		case <-tick.C:
			s.flushUsage(ctx) // a failure keeps the records for the next tick
		}
	}
}

// Close stops watching the store and flushes pending "last used" records. It does not
// close the store. Later calls do nothing.
func (s *Service) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = s.flushUsage(ctx)
		if errors.Is(err, store.ErrClosed) {
			err = nil
		}
	})
	return err
}

// update runs fn in one store transaction and then brings the snapshot up to date, so that
// a caller sees its own writes on the data path at once.
func (s *Service) update(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.st.Update(ctx, fn); err != nil {
		return err
	}
	s.refresh(ctx) // on failure the watch loop retries
	return nil
}

type requestInfoKey struct{}

// WithRequestInfo returns ctx carrying info, for Authorize and every operation.
func WithRequestInfo(ctx context.Context, info RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// RequestInfoFrom returns the RequestInfo in ctx, if any.
func RequestInfoFrom(ctx context.Context) (RequestInfo, bool) {
	info, ok := ctx.Value(requestInfoKey{}).(RequestInfo)
	return info, ok
}

func (s *Service) requestInfo(ctx context.Context) RequestInfo {
	info, _ := RequestInfoFrom(ctx)
	if info.Region == "" {
		info.Region = s.region
	}
	return info
}

// Root returns a Caller acting as the account's root user, for trusted in-process callers
// (configuration, command-line tools). Root is allowed every action in its account.
func (s *Service) Root(account string) *Caller {
	p := policy.Principal{ARN: rootARN(account), Account: account, Type: policy.PrincipalAccount, UserID: account}
	return &Caller{
		Account: account, ARN: p.ARN, UserID: account, Type: CallerRoot, Principal: p,
		identity: []*policy.Policy{s.admin},
	}
}

// needCaller checks that an operation has a caller.
func needCaller(c *Caller) error {
	if c == nil || !arn.IsAccountID(c.Account) {
		return apiErr(CodeInvalidClientTokenID, "The security token included in the request is invalid.")
	}
	return nil
}
