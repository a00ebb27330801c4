package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/iam"
)

// Prefix is the path the console is served under.
const Prefix = "/console/"

// Config configures a Console.
type Config struct {
	// IAM is the authority's IAM service (required): sign-in, and authorization of what the
	// API has no action for.
	IAM *iam.Service
	// API is the authority's AWS Query API handler (required): every IAM and RDS page calls
	// it in process with the session's credentials.
	API http.Handler
	// Region is the authority's region; if empty, us-east-1.
	Region string
	// Audit reads the audit trail for the overview and the activity page; if nil, they say
	// the audit trail is off.
	Audit audit.Reader
	// Recorder records sign-ins (CloudTrail's ConsoleLogin events); if nil, none are.
	Recorder audit.Recorder
	// LiveSessions lists the gateways' live sessions; if nil, the page says there are no
	// gateways.
	LiveSessions func() []gateway.LiveSession
	// Logger logs sign-ins and failures of the console itself; if nil, logs are discarded.
	Logger *slog.Logger
	// IdleTimeout ends a session after that long without a request; if zero, 30 minutes.
	IdleTimeout time.Duration
	// MaxAge is a session's absolute lifetime; if zero, iam.DefaultConsoleSession (12h).
	MaxAge time.Duration
	// MaxSessions bounds the sessions held; if zero, 10,000. A sign-in beyond it ends the
	// session idle longest. One user holds at most 20: its 21st sign-in ends its own
	// session idle longest.
	MaxSessions int
	// MaxSignIns bounds the sign-ins checked at once (each hashes a password with 19 MiB);
	// if zero, 4. Others wait.
	MaxSignIns int
	// Now is the clock; if nil, time.Now.
	Now func() time.Time
}

// Console is the web console's HTTP handler, for the paths under Prefix.
type Console struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions sessions
	signins  chan struct{}
	static   http.Handler
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns a Console.
func New(cfg Config) (*Console, error) {
	if cfg.IAM == nil || cfg.API == nil {
		return nil, errors.New("console: Config.IAM and Config.API are required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = iam.DefaultConsoleSession
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10000
	}
	if cfg.MaxSignIns <= 0 {
		cfg.MaxSignIns = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Console{
		cfg: cfg, log: log, mux: http.NewServeMux(),
		sessions: sessions{m: map[string]*session{}, max: cfg.MaxSessions},
		signins:  make(chan struct{}, cfg.MaxSignIns),
	}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c.static = http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))
	c.routes()
	return c, nil
}

// routes registers every page. Page files add theirs in their own register functions.
func (c *Console) routes() {
	c.mux.HandleFunc("GET "+Prefix+"static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		c.static.ServeHTTP(w, r)
	})
	c.mux.HandleFunc("GET "+Prefix+"signin", c.signinPage)
	c.mux.HandleFunc("POST "+Prefix+"signin", c.signin)
	c.page("POST "+Prefix+"signout", c.signout)
	for _, register := range pageSets {
		register(c)
	}
}

// pageSets are the page files' register functions, added by their init functions.
var pageSets []func(*Console)

// pageFunc serves a page for a signed-in session.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *session)

// page registers a page that needs a session: without one, a GET goes to the sign-in page
// (and back after), anything else is refused. A POST must carry the session's CSRF token.
func (c *Console) page(pattern string, fn pageFunc) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s := c.sessions.get(cookieValue(r, sessionCookie), c.cfg.Now(), c.cfg.IdleTimeout)
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, &APIError{Code: "SessionExpired", Message: "Your session has ended. Sign in again.", Status: http.StatusUnauthorized})
			return
		}
		if r.Method == http.MethodPost && !sameToken(r.PostFormValue("csrf"), s.csrf) {
			c.fail(w, r, s, &APIError{Code: "InvalidRequest", Message: "The form has expired. Go back, reload the page and try again.", Status: http.StatusForbidden})
			return
		}
		fn(w, r, s)
	})
}

// ServeHTTP serves the console: security headers on every answer, POSTs only from the
// console's own origin, form bodies bounded.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if r.Method == http.MethodPost {
		if !sameOrigin(r) {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	}
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin reports whether a POST came from a page of this origin: Sec-Fetch-Site when
// the browser sends it, else Origin, else Referer; a request with none of them (not a
// browser's) is allowed: the CSRF token still has to match; Origin "null" is not.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	from := r.Header.Get("Origin")
	if from == "null" { // a sandboxed or cross-origin-redirected form: not one of ours
		return false
	}
	if from == "" {
		from = r.Header.Get("Referer")
	}
	if from == "" {
		return true
	}
	u, err := url.Parse(from)
	return err == nil && strings.EqualFold(u.Host, r.Host) && (r.TLS == nil || u.Scheme == "https")
}

// Sweep ends sessions that expired or went idle; every sign-in calls it.
func (c *Console) Sweep() { c.sessions.sweep(c.cfg.Now(), c.cfg.IdleTimeout) }

// Sessions returns the number of signed-in sessions.
func (c *Console) Sessions() int { return c.sessions.count() }

// caller returns the session's IAM caller, for authorizing what the API has no action for.
func (c *Console) caller(r *http.Request, s *session) (*iam.Caller, error) {
	k, err := c.cfg.IAM.LookupKey(r.Context(), s.creds.AccessKeyID, s.creds.SessionToken)
	if err != nil {
		return nil, &APIError{Code: "InvalidClientTokenId", Message: "Your session is no longer valid. Sign in again.", Status: http.StatusForbidden}
	}
	return k.Principal, nil
}

// authorize checks that the session may do action on resource, as the API would.
func (c *Console) authorize(r *http.Request, s *session, action, resource string) error {
	caller, err := c.caller(r, s)
	if err != nil {
		return err
	}
	ctx := iam.WithRequestInfo(r.Context(), iam.RequestInfo{SourceIP: remoteIP(r), SecureTransport: r.TLS != nil, Region: c.cfg.Region})
	if err := c.cfg.IAM.Authorize(ctx, caller, action, resource, nil); err != nil {
		var ie *iam.Error
		if errors.As(err, &ie) {
			return &APIError{Code: ie.Code, Message: ie.Message, Status: http.StatusForbidden}
		}
		return err
	}
	return nil
}

func remoteIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// arnPrefix is the partition's ARN prefix for the session's account.
func (s *session) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s::%s:%s", service, s.account, resource)
}
