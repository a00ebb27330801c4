package workload

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/audit"
)

// maxBody bounds request bodies: no endpoint reads one.
const maxBody = 1 << 10

// IMDSConfig configures an IMDS endpoint. Exactly one of InstanceProfileARN and RoleARN
// is set.
type IMDSConfig struct {
	// Authority issues the sessions and resolves the instance profile. Required.
	Authority Authority
	// InstanceProfileARN binds the endpoint to an instance profile, whose role is looked
	// up at each request: the profile may be created, or get its role, later.
	InstanceProfileARN string
	// RoleARN binds the endpoint to a role directly.
	RoleARN string
	// InstanceID is the instance's ID, served as meta-data/instance-id and used as the
	// role session name (as EC2 does). If empty, "i-" and 17 hex digits derived from the
	// profile or role ARN, stable across restarts.
	InstanceID string
	// Region is served as placement/region and in the identity document. Required.
	Region string
	// AllowIMDSv1 serves GET requests without a session token. Default false: IMDSv2
	// only, every GET needs a token from PUT /latest/api/token.
	AllowIMDSv1 bool
	// SessionDuration of the role sessions; if zero, one hour (capped by the role).
	SessionDuration time.Duration
	// Now is the clock; if nil, time.Now.
	Now func() time.Time
	// Rand seeds the token key; if nil, crypto/rand.
	Rand io.Reader
	// Logger receives refusals (without tokens) and rotations; if nil, logs are discarded.
	Logger *slog.Logger
	// Audit, if not nil, records every issuance of role credentials (CacheConfig.Audit).
	Audit audit.Recorder
}

// IMDS is an EC2 instance-metadata-compatible http.Handler. It is safe for concurrent use.
type IMDS struct {
	cfg     IMDSConfig
	account string
	key     tokenKey
	creds   *Cache
	started time.Time
}

// NewIMDS validates cfg and returns the handler.
func NewIMDS(cfg IMDSConfig) (*IMDS, error) {
	if cfg.Authority == nil {
		return nil, errors.New("workload: IMDSConfig.Authority is required")
	}
	if (cfg.InstanceProfileARN == "") == (cfg.RoleARN == "") {
		return nil, errors.New("workload: IMDS needs exactly one of an instance profile and a role")
	}
	bound, kind := cfg.RoleARN, "role/"
	if cfg.InstanceProfileARN != "" {
		bound, kind = cfg.InstanceProfileARN, "instance-profile/"
	}
	a, err := arn.Parse(bound)
	if err != nil || a.Service != "iam" || !arn.IsAccountID(a.AccountID) || !strings.HasPrefix(a.Resource, kind) || len(a.Resource) == len(kind) {
		return nil, fmt.Errorf("workload: %q is not the ARN of an IAM %s", bound, strings.TrimSuffix(kind, "/"))
	}
	if cfg.Region == "" {
		return nil, errors.New("workload: IMDSConfig.Region is required")
	}
	if cfg.InstanceID == "" {
		sum := sha256.Sum256([]byte(bound))
		cfg.InstanceID = "i-" + hex.EncodeToString(sum[:9])[:17]
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cache, err := NewCache(CacheConfig{Authority: cfg.Authority, SessionName: cfg.InstanceID, Duration: cfg.SessionDuration, Now: cfg.Now, Logger: cfg.Logger, Audit: cfg.Audit})
	if err != nil {
		return nil, err
	}
	m := &IMDS{cfg: cfg, account: a.AccountID, creds: cache, started: cfg.Now().UTC()}
	if _, err := io.ReadFull(cfg.Rand, m.key[:]); err != nil {
		return nil, fmt.Errorf("workload: token key: %w", err)
	}
	return m, nil
}

// InstanceID returns the instance's ID (the role session name).
func (m *IMDS) InstanceID() string { return m.cfg.InstanceID }

// ServeHTTP implements http.Handler.
func (m *IMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "EC2ws")
	if !localHost(r.Host) {
		// DNS rebinding: a page from evil.example whose name now resolves to 127.0.0.1
		// reaches us with its own name in Host. SDKs dial an address (169.254.169.254,
		// the configured endpoint's) or localhost.
		h := r.Host
		if len(h) > 64 {
			h = h[:64] + "…"
		}
		m.refuse(w, r, http.StatusForbidden, "host is not an IP address or localhost", "host", h)
		return
	}
	if len(r.Header.Values("X-Forwarded-For")) > 0 {
		m.refuse(w, r, http.StatusForbidden, "X-Forwarded-For")
		return
	}
	if r.ContentLength > maxBody {
		m.refuse(w, r, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			w.Header().Set("Allow", "OPTIONS, PUT")
			m.refuse(w, r, http.StatusMethodNotAllowed, "token: not PUT")
			return
		}
		m.serveToken(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "OPTIONS, GET, HEAD")
		m.refuse(w, r, http.StatusMethodNotAllowed, "not GET")
		return
	}
	tokens := r.Header.Values(tokenHeader)
	switch {
	case len(tokens) > 1:
		m.refuse(w, r, http.StatusUnauthorized, "several tokens")
		return
	case len(tokens) == 1:
		if err := m.key.check(tokens[0], m.cfg.Now()); err != nil {
			m.refuse(w, r, http.StatusUnauthorized, err.Error())
			return
		}
	case !m.cfg.AllowIMDSv1:
		m.refuse(w, r, http.StatusUnauthorized, "no token (IMDSv1 is off)")
		return
	}
	m.serveMetadata(w, r)
}

func (m *IMDS) refuse(w http.ResponseWriter, r *http.Request, status int, why string, attrs ...any) {
	attrs = append([]any{"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "status", status, "reason", why}, attrs...)
	m.cfg.Logger.Log(r.Context(), refusalLevel(status), "imds request refused", attrs...)
	http.Error(w, http.StatusText(status), status)
}

// localHost reports whether a Host header names no DNS name an attacker could point at
// us: an IP literal (IPv6 in brackets) or localhost, with an optional port.
func localHost(host string) bool {
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		name, port = host[1:end], host[end+1:]
		// A bracket inside the brackets (as an IPv6 zone, "[::%[]") is no literal a
		// client would send; net.SplitHostPort refuses it too.
		if strings.IndexByte(name, '[') >= 0 || (port != "" && port[0] != ':') {
			return false
		}
		if a, err := netip.ParseAddr(name); err != nil || !a.Is6() {
			return false
		}
	} else {
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			name, port = host[:i], host[i:]
		}
		if !strings.EqualFold(name, "localhost") {
			a, err := netip.ParseAddr(name)
			if err != nil || !a.Is4() {
				return false
			}
		}
	}
	if port == "" {
		return true
	}
	port = port[1:]
	if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return false
	}
	n, _ := strconv.Atoi(port)
	return n <= 65535
}

func (m *IMDS) serveToken(w http.ResponseWriter, r *http.Request) {
	vals := r.Header.Values(tokenTTLHeader)
	if len(vals) != 1 {
		m.refuse(w, r, http.StatusBadRequest, errTTLInvalid.Error())
		return
	}
	ttl, err := parseTokenTTL(vals[0])
	if err != nil {
		m.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	tok := m.key.mint(m.cfg.Now().Add(ttl))
	w.Header().Set(tokenTTLHeader, strconv.Itoa(int(ttl/time.Second)))
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, tok)
}

// metadataPath cleans a metadata path: one trailing slash is ignored (botocore asks for
// placement/availability-zone/), and paths with empty, "." or ".." segments, or longer
// than 256 bytes, are not found.
func metadataPath(p string) (string, bool) {
	if len(p) > 256 || !strings.HasPrefix(p, "/") {
		return "", false
	}
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return "/", true
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", false
		}
	}
	return p, true
}

func (m *IMDS) serveMetadata(w http.ResponseWriter, r *http.Request) {
	p, ok := metadataPath(r.URL.Path)
	if !ok {
		m.refuse(w, r, http.StatusNotFound, "no such path")
		return
	}
	const creds = "/latest/meta-data/iam/security-credentials"
	switch p {
	case "/":
		text(w, "latest\n")
	case "/latest":
		text(w, "dynamic\nmeta-data\n")
	case "/latest/meta-data":
		text(w, "iam/\ninstance-id\nplacement/\n")
	case "/latest/meta-data/instance-id":
		text(w, m.cfg.InstanceID)
	case "/latest/meta-data/placement":
		text(w, "availability-zone\nregion\n")
	case "/latest/meta-data/placement/region":
		text(w, m.cfg.Region)
	case "/latest/meta-data/placement/availability-zone":
		text(w, m.cfg.Region+"a")
	case "/latest/dynamic":
		text(w, "instance-identity/\n")
	case "/latest/dynamic/instance-identity":
		text(w, "document\n")
	case "/latest/dynamic/instance-identity/document":
		m.serveIdentity(w)
	case "/latest/meta-data/iam":
		if _, err := m.role(r); err != nil {
			m.roleError(w, r, err)
			return
		}
		text(w, "info\nsecurity-credentials/\n")
	case "/latest/meta-data/iam/info":
		m.serveInfo(w, r)
	case creds:
		role, err := m.role(r)
		if err != nil {
			m.roleError(w, r, err)
			return
		}
		text(w, roleName(role))
	default:
		name, ok := strings.CutPrefix(p, creds+"/")
		if !ok || strings.Contains(name, "/") {
			m.refuse(w, r, http.StatusNotFound, "no such path")
			return
		}
		m.serveCredentials(w, r, name)
	}
}

// role returns the ARN of the endpoint's role now.
func (m *IMDS) role(r *http.Request) (string, error) {
	if m.cfg.RoleARN != "" {
		return m.cfg.RoleARN, nil
	}
	role, err := m.cfg.Authority.InstanceProfileRole(r.Context(), m.cfg.InstanceProfileARN)
	if err != nil {
		if isNoSuchEntity(err) {
			return "", fmt.Errorf("%w: instance profile %s", ErrNoRole, m.cfg.InstanceProfileARN)
		}
		return "", err
	}
	return role, nil
}

func (m *IMDS) roleError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNoRole) {
		m.refuse(w, r, http.StatusNotFound, err.Error())
		return
	}
	m.cfg.Logger.Error("imds: resolving the role", "err", err)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

func roleName(roleARN string) string {
	return roleARN[strings.LastIndexByte(roleARN, '/')+1:]
}

func (m *IMDS) serveCredentials(w http.ResponseWriter, r *http.Request, name string) {
	role, err := m.role(r)
	if err != nil {
		m.roleError(w, r, err)
		return
	}
	if name != roleName(role) {
		m.refuse(w, r, http.StatusNotFound, "not the instance's role")
		return
	}
	c, err := m.creds.Get(r.Context(), role)
	if err != nil {
		m.roleError(w, r, err)
		return
	}
	writeJSON(w, struct {
		Code, LastUpdated, Type            string
		AccessKeyID                        string `json:"AccessKeyId"`
		SecretAccessKey, Token, Expiration string
	}{
		Code: "Success", LastUpdated: isoTime(c.Issued), Type: "AWS-HMAC",
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken,
		Expiration: isoTime(c.Expiration),
	})
}

func (m *IMDS) serveInfo(w http.ResponseWriter, r *http.Request) {
	if _, err := m.role(r); err != nil {
		m.roleError(w, r, err)
		return
	}
	profile := m.cfg.InstanceProfileARN
	if profile == "" {
		// Bound to a role: the profile EC2 would name is the role's namesake.
		profile = "arn:aws:iam::" + m.account + ":instance-profile/" + roleName(m.cfg.RoleARN)
	}
	writeJSON(w, struct{ Code, LastUpdated, InstanceProfileArn string }{"Success", isoTime(m.cfg.Now()), profile})
}

func (m *IMDS) serveIdentity(w http.ResponseWriter) {
	writeJSON(w, struct {
		AccountID        string `json:"accountId"`
		Architecture     string `json:"architecture"`
		AvailabilityZone string `json:"availabilityZone"`
		ImageID          string `json:"imageId"`
		InstanceID       string `json:"instanceId"`
		InstanceType     string `json:"instanceType"`
		PendingTime      string `json:"pendingTime"`
		PrivateIP        string `json:"privateIp"`
		Region           string `json:"region"`
		Version          string `json:"version"`
	}{
		AccountID: m.account, Architecture: "x86_64", AvailabilityZone: m.cfg.Region + "a",
		ImageID: "ami-00000000000000000", InstanceID: m.cfg.InstanceID, InstanceType: "iamdb.workload",
		PendingTime: isoTime(m.started), PrivateIP: "127.0.0.1", Region: m.cfg.Region, Version: "2017-09-30",
	})
}

// isoTime formats t as IMDS does: UTC, whole seconds, Z (botocore parses
// "%Y-%m-%dT%H:%M:%SZ" exactly).
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func text(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, s)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// refusalLevel logs refused authentication (401, 403) at Info, so that an operator sees
// who was turned away; other refusals (unknown paths, methods) at Debug.
func refusalLevel(status int) slog.Level {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
