package workload

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
)

// Container authorization token bounds.
const (
	MinAuthorizationTokenLen = 16
	MaxAuthorizationTokenLen = 1024
)

// ContainerConfig configures a container-credentials endpoint.
type ContainerConfig struct {
	// Authority issues the sessions. Required.
	Authority Authority
	// RoleARN is the role whose sessions the endpoint hands out. Required.
	RoleARN string
	// Path is the URL path served (the path of AWS_CONTAINER_CREDENTIALS_FULL_URI); if
	// empty, "/v1/credentials".
	Path string
	// AuthorizationToken is what clients must send as the Authorization header
	// (AWS_CONTAINER_AUTHORIZATION_TOKEN): 16 to 1024 visible ASCII characters. Required.
	AuthorizationToken string
	// SessionName is the role session name; if empty, "iamdb-container".
	SessionName string
	// SessionDuration of the role sessions; if zero, one hour (capped by the role).
	SessionDuration time.Duration
	// Now is the clock; if nil, time.Now.
	Now func() time.Time
	// Logger receives refusals and rotations; if nil, logs are discarded.
	Logger *slog.Logger
	// Audit, if not nil, records every issuance of role credentials (CacheConfig.Audit).
	Audit audit.Recorder
}

// Container is a container-credentials-compatible http.Handler (ECS, EKS Pod Identity).
// It is safe for concurrent use.
type Container struct {
	cfg   ContainerConfig
	token [sha256.Size]byte // digest of the authorization token
	creds *Cache
}

// NewContainer validates cfg and returns the handler.
func NewContainer(cfg ContainerConfig) (*Container, error) {
	if cfg.Authority == nil {
		return nil, errors.New("workload: ContainerConfig.Authority is required")
	}
	a, err := arn.Parse(cfg.RoleARN)
	if err != nil || a.Service != "iam" || !arn.IsAccountID(a.AccountID) || !strings.HasPrefix(a.Resource, "role/") || a.Resource == "role/" {
		return nil, fmt.Errorf("workload: %q is not the ARN of an IAM role", cfg.RoleARN)
	}
	if cfg.Path == "" {
		cfg.Path = "/v1/credentials"
	}
	if _, ok := metadataPath(cfg.Path); !ok || strings.ContainsAny(cfg.Path, "?#%") {
		return nil, fmt.Errorf("workload: container credentials path %q must be an absolute URL path without empty, . or .. segments", cfg.Path)
	}
	if err := CheckAuthorizationToken(cfg.AuthorizationToken); err != nil {
		return nil, err
	}
	if cfg.SessionName == "" {
		cfg.SessionName = "iamdb-container"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cache, err := NewCache(CacheConfig{Authority: cfg.Authority, Service: iam.ServiceECSTasks, SessionName: cfg.SessionName, Duration: cfg.SessionDuration, Now: cfg.Now, Logger: cfg.Logger, Audit: cfg.Audit})
	if err != nil {
		return nil, err
	}
	c := &Container{cfg: cfg, token: sha256.Sum256([]byte(cfg.AuthorizationToken)), creds: cache}
	c.cfg.AuthorizationToken = "" // only the digest is kept
	return c, nil
}

// CheckAuthorizationToken says whether tok can be a container authorization token: 16 to
// 1024 visible ASCII characters (a header value SDKs send unchanged; botocore refuses
// CR and LF).
func CheckAuthorizationToken(tok string) error {
	if len(tok) < MinAuthorizationTokenLen || len(tok) > MaxAuthorizationTokenLen {
		return fmt.Errorf("workload: the authorization token must be %d to %d characters long", MinAuthorizationTokenLen, MaxAuthorizationTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return errors.New("workload: the authorization token must be visible ASCII characters, without spaces")
		}
	}
	return nil
}

// Path returns the URL path served.
func (c *Container) Path() string { return c.cfg.Path }

// ServeHTTP implements http.Handler.
func (c *Container) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(r.Header.Values("X-Forwarded-For")) > 0 {
		c.refuse(w, r, http.StatusForbidden, "AccessDenied", "X-Forwarded-For")
		return
	}
	if r.ContentLength > maxBody {
		c.refuse(w, r, http.StatusRequestEntityTooLarge, "InvalidRequest", "body too large")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if r.URL.Path != c.cfg.Path {
		c.refuse(w, r, http.StatusNotFound, "NotFound", "no such path")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		c.refuse(w, r, http.StatusMethodNotAllowed, "InvalidRequest", "not GET")
		return
	}
	auth := r.Header.Values("Authorization")
	switch {
	case len(auth) == 0 || auth[0] == "":
		c.refuse(w, r, http.StatusUnauthorized, "Unauthorized", "no Authorization header")
		return
	case len(auth) > 1 || !c.authorized(auth[0]):
		c.refuse(w, r, http.StatusForbidden, "AccessDenied", "wrong authorization token")
		return
	}
	cr, err := c.creds.Get(r.Context(), c.cfg.RoleARN)
	if err != nil {
		if errors.Is(err, ErrNoRole) {
			c.refuse(w, r, http.StatusNotFound, "NoSuchEntity", err.Error())
			return
		}
		c.cfg.Logger.Error("container credentials", "err", err)
		c.writeError(w, http.StatusInternalServerError, "InternalFailure")
		return
	}
	writeJSON(w, struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		Token           string
		Expiration      string
		RoleArn         string
		AccountID       string `json:"AccountId"`
	}{cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken, isoTime(cr.Expiration), cr.RoleARN, cr.Account()})
}

// authorized compares digests in constant time, so that neither the token's bytes nor
// its length leak through timing.
func (c *Container) authorized(got string) bool {
	if len(got) > MaxAuthorizationTokenLen {
		return false
	}
	d := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(d[:], c.token[:]) == 1
}

func (c *Container) refuse(w http.ResponseWriter, r *http.Request, status int, code, why string) {
	c.cfg.Logger.Log(r.Context(), refusalLevel(status), "container credentials request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "status", status, "reason", why)
	c.writeError(w, status, code)
}

// writeError answers in the JSON shape the SDKs' endpoint providers decode.
func (c *Container) writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%q,"message":%q}`, code, http.StatusText(status))
}
