package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/workload"
)

// The workload credential endpoints: [[imds]] and [[container_credentials]] (internal/workload, docs/workload-credentials.md).

// validateWorkloadEndpoints checks the [[imds]] and [[container_credentials]] tables;
// accounts are the configured accounts.
func (c *Config) validateWorkloadEndpoints(accounts map[string]bool) []error {
	var errs []error
	listens := map[string]string{}
	checkListen := func(name, listen string, allowRemote bool) {
		switch {
		case listen == "":
			errs = append(errs, fmt.Errorf("%s.listen is required", name))
			return
		case !validHostPort(listen):
			errs = append(errs, fmt.Errorf("%s.listen %q must be host:port", name, listen))
			return
		case !allowRemote && !isLoopback(listen):
			errs = append(errs, fmt.Errorf("%s.listen %s is not a loopback address: whoever reaches it gets the role's credentials; set allow_non_loopback = true to serve beyond this machine", name, listen))
		}
		if prev, ok := listens[listen]; ok && !strings.HasSuffix(listen, ":0") {
			errs = append(errs, fmt.Errorf("%s.listen %s is also %s's", name, listen, prev))
		}
		listens[listen] = name
	}
	checkEntity := func(name, key, v, kind, account string) {
		if _, err := c.EntityARN(v, kind, account); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", name, key, err))
		}
		if account != "" && !accounts[account] {
			errs = append(errs, fmt.Errorf("%s.account %s is not a configured account", name, account))
		}
	}
	checkDuration := func(name string, d Duration) {
		if d.Duration != 0 && (d.Duration < 15*time.Minute || d.Duration > 12*time.Hour) {
			errs = append(errs, fmt.Errorf("%s.session_duration %v must be between 15m and 12h", name, d.Duration))
		}
	}
	for i, m := range c.IMDS {
		name := fmt.Sprintf("imds[%d]", i)
		checkListen(name, m.Listen, m.AllowNonLoopback)
		switch {
		case (m.InstanceProfile == "") == (m.Role == ""):
			errs = append(errs, fmt.Errorf("%s: exactly one of instance_profile and role is required", name))
		case m.InstanceProfile != "":
			checkEntity(name, "instance_profile", m.InstanceProfile, "instance-profile", m.Account)
		default:
			checkEntity(name, "role", m.Role, "role", m.Account)
		}
		if m.InstanceID != "" && !validInstanceID(m.InstanceID) {
			errs = append(errs, fmt.Errorf("%s.instance_id %q must be i- and 8 to 17 lower-case hex digits", name, m.InstanceID))
		}
		checkDuration(name, m.SessionDuration)
	}
	for i, cc := range c.ContainerCredentials {
		name := fmt.Sprintf("container_credentials[%d]", i)
		checkListen(name, cc.Listen, cc.AllowNonLoopback)
		if cc.Role == "" {
			errs = append(errs, fmt.Errorf("%s.role is required", name))
		} else {
			checkEntity(name, "role", cc.Role, "role", cc.Account)
		}
		if cc.AuthorizationTokenFile == "" {
			errs = append(errs, fmt.Errorf("%s.authorization_token_file is required", name))
		}
		if cc.Path != "" && (!strings.HasPrefix(cc.Path, "/") || strings.ContainsAny(cc.Path, "?#% ")) {
			errs = append(errs, fmt.Errorf("%s.path %q must be an absolute URL path", name, cc.Path))
		}
		checkDuration(name, cc.SessionDuration)
	}
	return errs
}

func validHostPort(addr string) bool {
	_, _, err := net.SplitHostPort(addr)
	return err == nil
}

// validInstanceID accepts EC2's shapes: i- and 8 or 17 hex digits (iamdb takes 8 to 17).
func validInstanceID(s string) bool {
	h, ok := strings.CutPrefix(s, "i-")
	if !ok || len(h) < 8 || len(h) > 17 {
		return false
	}
	return strings.Trim(h, "0123456789abcdef") == ""
}

// EntityARN returns the ARN of an IAM entity of kind ("instance-profile", "role") given by
// name (in account, or the bootstrap account) or by ARN.
func (c *Config) EntityARN(v, kind, account string) (string, error) {
	if strings.HasPrefix(v, "arn:") {
		a, err := arn.Parse(v)
		if err != nil || a.Service != "iam" || !arn.IsAccountID(a.AccountID) || !strings.HasPrefix(a.Resource, kind+"/") || len(a.Resource) == len(kind)+1 {
			return "", fmt.Errorf("%q is not the ARN of an IAM %s", v, kind)
		}
		if account != "" && a.AccountID != account {
			return "", fmt.Errorf("%s is in account %s, not %s", v, a.AccountID, account)
		}
		return v, nil
	}
	if v == "" || len(v) > 128 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-") != "" {
		return "", fmt.Errorf("%q is neither an ARN nor a name (letters, digits and +=,.@_-)", v)
	}
	return "arn:aws:iam::" + c.accountOr(account) + ":" + kind + "/" + v, nil
}

// runningEndpoint is a workload credential endpoint bound to a listener; serve starts it.
type runningEndpoint struct {
	kind  string // "imds" or "container_credentials"
	url   string // what clients are given: http://ADDR/ or http://ADDR/path
	bound string // "instance_profile=ARN" or "role=ARN"
	ln    net.Listener
	srv   *http.Server
	done  chan error // nil until serve
}

// newEndpoint returns the endpoint serving h on ln: small headers, short timeouts (and ln
// bounded to maxEndpointConns connections).
func newEndpoint(kind, url, bound string, h http.Handler, ln net.Listener, log *slog.Logger) *runningEndpoint {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return &runningEndpoint{kind: kind, url: url, bound: bound, ln: ln, srv: srv}
}

func (e *runningEndpoint) serve() {
	e.done = make(chan error, 1)
	go func() { e.done <- e.srv.Serve(e.ln) }()
}

// closeEndpoints stops the endpoints, or closes the listeners of those not serving.
func closeEndpoints(eps []*runningEndpoint) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, e := range eps {
		if e.done == nil {
			e.ln.Close()
			continue
		}
		e.srv.Shutdown(ctx)
		<-e.done
	}
}

// listenEndpoints binds the [[imds]] and [[container_credentials]] endpoints of s.cfg. On
// error the ones bound are closed.
func (s *Server) listenEndpoints() (err error) {
	defer func() {
		if err != nil {
			closeEndpoints(s.endpoints)
			s.endpoints = nil
		}
	}()
	for i, m := range s.cfg.IMDS {
		e, err := s.listenIMDS(m)
		if err != nil {
			return fmt.Errorf("serve: imds[%d]: %w", i, err)
		}
		s.endpoints = append(s.endpoints, e)
	}
	for i, cc := range s.cfg.ContainerCredentials {
		e, err := s.listenContainerCredentials(cc)
		if err != nil {
			return fmt.Errorf("serve: container_credentials[%d]: %w", i, err)
		}
		s.endpoints = append(s.endpoints, e)
	}
	return nil
}

func (s *Server) listenIMDS(m IMDSEndpointConfig) (*runningEndpoint, error) {
	cfg := &s.cfg
	wc := workload.IMDSConfig{
		Authority: s.svc, InstanceID: m.InstanceID, Region: m.Region, AllowIMDSv1: m.AllowIMDSv1,
		SessionDuration: m.SessionDuration.Duration, Audit: s.recorder(),
	}
	if wc.Region == "" {
		wc.Region = cfg.Authority.Region
	}
	var err error
	bound := ""
	if m.InstanceProfile != "" {
		wc.InstanceProfileARN, err = cfg.EntityARN(m.InstanceProfile, "instance-profile", m.Account)
		bound = "instance_profile=" + wc.InstanceProfileARN
	} else {
		wc.RoleARN, err = cfg.EntityARN(m.Role, "role", m.Account)
		bound = "role=" + wc.RoleARN
	}
	if err != nil {
		return nil, err
	}
	elog := s.log.With("endpoint", "imds", "listen", m.Listen)
	wc.Logger = elog
	h, err := workload.NewIMDS(wc)
	if err != nil {
		return nil, err
	}
	ln, err := s.listen(m.Listen)
	if err != nil {
		return nil, err
	}
	ln = s.listeners.limit(ln, "imds", maxEndpointConns, elog)
	url := "http://" + ln.Addr().String() + "/"
	elog.Info("imds listening", "url", url, "bound", bound, "instance_id", h.InstanceID(), "imdsv1", m.AllowIMDSv1)
	return newEndpoint("imds", url, bound, h, ln, s.log), nil
}

func (s *Server) listenContainerCredentials(cc ContainerEndpointConfig) (*runningEndpoint, error) {
	roleARN, err := s.cfg.EntityARN(cc.Role, "role", cc.Account)
	if err != nil {
		return nil, err
	}
	tokenFile := s.cfg.Path(cc.AuthorizationTokenFile)
	tok, created, err := loadOrCreateAuthorizationToken(tokenFile, s.rand)
	if err != nil {
		return nil, err
	}
	elog := s.log.With("endpoint", "container_credentials", "listen", cc.Listen)
	if created {
		elog.Info("created the container authorization token file", "file", tokenFile)
	}
	h, err := workload.NewContainer(workload.ContainerConfig{
		Authority: s.svc, RoleARN: roleARN, Path: cc.Path, AuthorizationToken: tok,
		SessionName: cc.SessionName, SessionDuration: cc.SessionDuration.Duration, Logger: elog, Audit: s.recorder(),
	})
	if err != nil {
		return nil, err
	}
	ln, err := s.listen(cc.Listen)
	if err != nil {
		return nil, err
	}
	ln = s.listeners.limit(ln, "container_credentials", maxEndpointConns, elog)
	url := "http://" + ln.Addr().String() + h.Path()
	elog.Info("container credentials listening", "url", url, "role", roleARN, "authorization_token_file", tokenFile)
	return newEndpoint("container_credentials", url, "role="+roleARN, h, ln, s.log), nil
}

// loadOrCreateAuthorizationToken reads a container authorization token file (one
// trailing newline ignored), or creates it (0600) with a random token and no newline
// (botocore refuses a token file that ends with one).
func loadOrCreateAuthorizationToken(path string, random io.Reader) (tok string, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(b) > workload.MaxAuthorizationTokenLen+2 {
			return "", false, fmt.Errorf("authorization token file %s is larger than %d bytes", path, workload.MaxAuthorizationTokenLen)
		}
		tok = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if err := workload.CheckAuthorizationToken(tok); err != nil {
			return "", false, fmt.Errorf("authorization token file %s: %w", path, err)
		}
		return tok, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, err
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(random, raw); err != nil {
		return "", false, err
	}
	tok = base64.RawURLEncoding.EncodeToString(raw)
	if err := writeFileExclusive(path, []byte(tok)); err != nil {
		return "", false, fmt.Errorf("authorization token file: %w", err)
	}
	return tok, true, nil
}
