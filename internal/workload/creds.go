package workload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
)

// Authority issues the sessions the endpoints hand out; *iam.Service implements it.
type Authority interface {
	// AssumeRoleForWorkload issues a session of the role without a caller (see iam).
	AssumeRoleForWorkload(ctx context.Context, roleARN, service, sessionName string, duration time.Duration) (iam.AssumeRoleOutput, error)
	// InstanceProfileRole returns the ARN of the role in an instance profile.
	InstanceProfileRole(ctx context.Context, profileARN string) (string, error)
}

var _ Authority = (*iam.Service)(nil)

// Errors.
var (
	// ErrNoRole means the instance profile does not exist or holds no role, the role
	// does not exist, or its trust policy does not let the endpoint's service assume it:
	// IMDS answers 404, as EC2 does for an instance without a profile.
	ErrNoRole = errors.New("workload: no role")
)

// Credentials is a role session as the endpoints hand it out. Its String and LogValue
// redact the secret and the session token.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	RoleARN         string
	AssumedRoleARN  string
	Issued          time.Time // when the endpoint obtained it (IMDS's LastUpdated)
}

// String shows the key ID and expiry only.
func (c Credentials) String() string {
	return fmt.Sprintf("%s (%s, expires %s)", c.AccessKeyID, c.RoleARN, c.Expiration.UTC().Format(time.RFC3339))
}

// LogValue implements slog.LogValuer without the secrets.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("role", c.RoleARN),
		slog.Time("expiration", c.Expiration),
	)
}

// Account returns the account of the role.
func (c Credentials) Account() string {
	if parts := strings.SplitN(c.RoleARN, ":", 6); len(parts) == 6 {
		return parts[4]
	}
	return ""
}

// CacheConfig configures a Cache.
type CacheConfig struct {
	// Authority issues the sessions. Required.
	Authority Authority
	// SessionName is the role session name (2–64 of [\w+=,.@-]), e.g. the instance ID.
	// Required.
	SessionName string
	// Service is the service principal that assumes the roles, whose trust policies must
	// allow it: iam.ServiceEC2 (IMDS) or iam.ServiceECSTasks (container credentials). If
	// empty, iam.ServiceEC2.
	Service string
	// Duration of each session; if zero, one hour (capped by the role's maximum).
	Duration time.Duration
	// Now is the clock; if nil, time.Now.
	Now func() time.Time
	// Logger receives rotations and failures; if nil, logs are discarded.
	Logger *slog.Logger
	// Audit, if not nil, records every issuance of a session, and every refusal of one,
	// as CloudTrail records an AWS service assuming a role (IssuanceEvent), before the
	// session is handed out: if Record fails, Get fails and the session is not kept.
	Audit audit.Recorder
}

// Cache holds one session per role and rotates it once less than a third of its lifetime
// remains. It is safe for concurrent use; concurrent requests for a role that needs a new
// session wait for one issue.
type Cache struct {
	cfg CacheConfig
	mu  sync.Mutex // held while issuing: one issue per rotation
	cur map[string]Credentials
}

// NewCache validates cfg and returns an empty cache.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if cfg.Authority == nil {
		return nil, errors.New("workload: CacheConfig.Authority is required")
	}
	if l := len(cfg.SessionName); l < 2 || l > 64 {
		return nil, fmt.Errorf("workload: session name %q must be 2 to 64 characters", cfg.SessionName)
	}
	for _, r := range cfg.SessionName {
		if !isSessionNameChar(r) {
			return nil, fmt.Errorf("workload: session name %q may contain only letters, digits and +=,.@_-", cfg.SessionName)
		}
	}
	if cfg.Duration != 0 && (cfg.Duration < 15*time.Minute || cfg.Duration > 12*time.Hour) {
		return nil, fmt.Errorf("workload: session duration %v must be between 15m and 12h", cfg.Duration)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Service == "" {
		cfg.Service = iam.ServiceEC2
	}
	return &Cache{cfg: cfg, cur: map[string]Credentials{}}, nil
}

func isSessionNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+=,.@-", r)
}

// needsRotation reports whether c should be replaced at now: less than a third of its
// lifetime remains (or it has expired).
func needsRotation(c Credentials, now time.Time) bool {
	life := c.Expiration.Sub(c.Issued)
	return c.Expiration.Sub(now) < life/3
}

// Get returns a session of roleARN, issuing one if there is none or the current one needs
// rotation. If issuing fails while the current session has not expired, Get returns the
// current session.
func (c *Cache) Get(ctx context.Context, roleARN string) (Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	cur, ok := c.cur[roleARN]
	if ok && !needsRotation(cur, now) {
		return cur, nil
	}
	out, err := c.cfg.Authority.AssumeRoleForWorkload(ctx, roleARN, c.cfg.Service, c.cfg.SessionName, c.cfg.Duration)
	if c.cfg.Audit != nil {
		ev := IssuanceEvent(now, c.cfg.Service, roleARN, c.cfg.SessionName, c.cfg.Duration, out, err)
		if aerr := c.cfg.Audit.Record(ctx, ev); aerr != nil {
			c.cfg.Logger.Error("workload credentials not recorded in the audit trail", "role", roleARN, "err", aerr)
			if err == nil {
				return Credentials{}, fmt.Errorf("workload: recording the issuance of a session of %s: %w", roleARN, aerr)
			}
		}
	}
	if err != nil {
		if isNoSuchEntity(err) {
			delete(c.cur, roleARN)
			return Credentials{}, fmt.Errorf("%w: %s", ErrNoRole, roleARN)
		}
		if isAccessDenied(err) {
			// The role no longer trusts the service: stop serving it at once, even a
			// session that has not expired.
			delete(c.cur, roleARN)
			c.cfg.Logger.Warn("workload: role refused to the endpoint", "role", roleARN, "service", c.cfg.Service, "reason", err.Error())
			return Credentials{}, fmt.Errorf("%w: %s does not trust %s", ErrNoRole, roleARN, c.cfg.Service)
		}
		if ok && now.Before(cur.Expiration) {
			c.cfg.Logger.Warn("rotating workload credentials failed: serving the current session", "credentials", cur, "err", err)
			return cur, nil
		}
		return Credentials{}, fmt.Errorf("workload: issuing a session of %s: %w", roleARN, err)
	}
	next := Credentials{
		AccessKeyID:     out.Credentials.AccessKeyID,
		SecretAccessKey: out.Credentials.SecretAccessKey,
		SessionToken:    out.Credentials.SessionToken,
		Expiration:      out.Credentials.Expiration.UTC(),
		RoleARN:         roleARN,
		AssumedRoleARN:  out.AssumedRoleUser.ARN,
		Issued:          now.UTC().Truncate(time.Second),
	}
	if ok {
		c.cfg.Logger.Info("workload credentials rotated", "credentials", next, "previous", cur.AccessKeyID)
	} else {
		c.cfg.Logger.Info("workload credentials issued", "credentials", next)
	}
	c.cur[roleARN] = next
	return next, nil
}

// isNoSuchEntity reports whether err is IAM's NoSuchEntity.
func isNoSuchEntity(err error) bool {
	var ie *iam.Error
	return errors.As(err, &ie) && ie.Code == iam.CodeNoSuchEntity
}

// isAccessDenied reports whether err is IAM's AccessDenied (a trust policy refusal).
func isAccessDenied(err error) bool {
	var ie *iam.Error
	return errors.As(err, &ie) && ie.Code == iam.CodeAccessDenied
}
