package awsquery

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/sigv4"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultClockSkew    = 5 * time.Minute
)

// The API versions, one per service.
const (
	versionSTS = "2011-06-15"
	versionIAM = "2010-05-08"
	versionRDS = "2014-10-31"
)

// Config configures a Server.
type Config struct {
	// IAM is the authority's domain. Required.
	IAM *iam.Service
	// Logger receives one record per request (never a secret, signature, session token or
	// Authorization header). If nil, logs are discarded.
	Logger *slog.Logger
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
	// MaxBodyBytes bounds a request body; a larger one is refused with 413. If zero, 1 MiB.
	MaxBodyBytes int64
	// ClockSkew is how far a request's signing time may be from now, either way. If zero,
	// 5m.
	ClockSkew time.Duration
	// Region is the region RDS responses name when the request's credential scope names
	// none (only unsigned requests have none). If empty, "us-east-1".
	Region string
	// AuditReader answers CloudTrail's LookupEvents (cloudtrail.go). If nil, LookupEvents
	// answers UnsupportedOperationException: the audit trail is off.
	AuditReader audit.Reader
	// Audit, if not nil, records one CloudTrail event per request that reached a known
	// action or failed authentication (audit.go), before the response is written. A
	// request whose event cannot be recorded is answered 500 (ServiceFailure for IAM,
	// InternalFailure otherwise) whatever its outcome: no call succeeds unrecorded. If
	// nil, no events.
	Audit audit.Recorder
}

// Server serves the AWS Query protocol of IAM, STS and RDS over HTTP. It is safe for
// concurrent use.
type Server struct {
	svc      *iam.Service
	log      *slog.Logger
	now      func() time.Time
	maxBody  int64
	skew     time.Duration
	region   string
	signer   sigv4.Signer
	bufPool  sync.Pool
	services map[string]*service
	reader   audit.Reader   // LookupEvents
	audit    audit.Recorder // every request's event
}

// service is one of the three APIs.
type service struct {
	name    string // credential scope service: "iam", "sts", "rds"
	version string
	ns      string
	fault   string // code of an internal error: ServiceFailure (IAM) or InternalFailure
	ops     map[string]handler
}

// handler runs one action. It returns the value encoded inside <ActionResult>, or nil for the
// actions whose response has no Result element.
type handler func(c *call) (any, error)

// call is one authenticated request on its way through a handler.
type call struct {
	ctx    context.Context
	s      *Server
	f      *form
	caller *iam.Caller
	region string
	action string
	st     *reqState
}

// issued records, for the request's log line, the temporary credentials an STS action
// handed out: successful credential-issuing calls are logged at info level, so that the
// log answers CloudTrail's question "who assumed which role, from which account and
// address". Never the secret or the session token. extra are the action's own attributes.
func (c *call) issued(roleARN, sessionARN string, cr *iam.Credentials, extra ...slog.Attr) {
	c.st.issued = []slog.Attr{
		slog.String("issued_access_key_id", cr.AccessKeyID),
		slog.Time("issued_expiration", cr.Expiration),
	}
	if roleARN != "" {
		c.st.issued = append(c.st.issued, slog.String("role_arn", roleARN), slog.String("session_arn", sessionARN))
	}
	c.st.issued = append(c.st.issued, extra...)
}

// New validates cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.IAM == nil {
		return nil, errors.New("awsquery: config: IAM service is required")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, errors.New("awsquery: config: negative MaxBodyBytes")
	}
	if cfg.ClockSkew < 0 {
		return nil, errors.New("awsquery: config: negative ClockSkew")
	}
	if cfg.Region != "" && !validRegion(cfg.Region) {
		return nil, fmt.Errorf("awsquery: config: invalid region %q", cfg.Region)
	}
	s := &Server{
		svc:     cfg.IAM,
		log:     cfg.Logger,
		now:     cfg.Now,
		maxBody: cfg.MaxBodyBytes,
		skew:    cfg.ClockSkew,
		region:  cfg.Region,
		reader:  cfg.AuditReader,
		audit:   cfg.Audit,
		signer:  sigv4.Signer{Keys: sigv4.NewKeyCache(0)},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.skew == 0 {
		s.skew = DefaultClockSkew
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	s.bufPool.New = func() any { return new(bytes.Buffer) }
	s.services = map[string]*service{
		"iam": {name: "iam", version: versionIAM, ns: nsIAM, fault: "ServiceFailure", ops: iamOps()},
		"sts": {name: "sts", version: versionSTS, ns: nsSTS, fault: "InternalFailure", ops: stsOps()},
		"rds": {name: "rds", version: versionRDS, ns: nsRDS, fault: "InternalFailure", ops: rdsOps()},
	}
	return s, nil
}

// unsignedActions may be called without a signature (the caller proves itself otherwise).
var unsignedActions = map[string]bool{"sts:AssumeRoleWithWebIdentity": true}

// ServeHTTP handles one request: POST / with a form body (or GET / with the form in the query
// string), signed with SigV4; or, with an X-Amz-Target header, an AWS JSON 1.1 request of
// CloudTrail (LookupEvents).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "" { // AWS JSON 1.1: CloudTrail's LookupEvents
		s.serveCloudTrail(w, r)
		return
	}
	start := s.now()
	rid := newRequestID()
	st := &reqState{rid: rid}
	res, err := s.serve(r, st, start)
	buf := s.bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.putBuf(buf)

	ns := ""
	fault := "InternalFailure"
	if st.svc != nil {
		ns, fault = st.svc.ns, st.svc.fault
	}
	status := http.StatusOK
	if err == nil {
		err = writeResponse(buf, ns, st.action, res, rid)
		if err != nil {
			buf.Reset()
			err = fmt.Errorf("awsquery: encode response: %w", err)
		}
	}
	code := ""
	var qe *queryError
	if err != nil {
		qe = s.toQueryError(err, fault)
		status, code = qe.status, qe.code
		buf.Reset()
		if werr := writeError(buf, ns, qe, rid); werr != nil {
			s.log.Error("encode error response", "request_id", rid, "err", werr)
		}
	}
	if s.audit != nil && st.auditable() {
		if aerr := s.audit.Record(r.Context(), s.event(r, st, res, qe)); aerr != nil {
			s.log.Error("request not recorded in the audit trail", "request_id", rid, "action", st.action, "err", aerr)
			err = fmt.Errorf("awsquery: audit: %w", aerr)
			qe = s.toQueryError(err, fault)
			status, code = qe.status, qe.code
			buf.Reset()
			if werr := writeError(buf, ns, qe, rid); werr != nil {
				s.log.Error("encode error response", "request_id", rid, "err", werr)
			}
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", rid)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	if status == http.StatusMethodNotAllowed {
		h.Set("Allow", "GET, POST")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	s.logRequest(r, st, status, code, err, start)
}

func (s *Server) putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		s.bufPool.Put(b)
	}
}

// reqState is what ServeHTTP learns about a request on the way, for the response and the log.
type reqState struct {
	rid    string
	svc    *service
	action string
	akid   string
	caller string // the caller's ARN
	// account is the caller's account.
	account string
	// issued describes the credentials an STS action issued (call.issued).
	issued []slog.Attr

	// For the audit trail (audit.go).
	form      *form
	name      string              // the action asked for, known or not
	authTried bool                // the request was authenticated (or tried to be)
	principal *iam.Caller         // the authenticated caller
	keyOwner  *iam.Caller         // the key's caller when the signature failed
	region    string              // the verified credential scope's region
	identity  *audit.UserIdentity // the caller of an unsigned action, once known
	recipient string              // the account an unsigned action concerns
}

// serve runs the request and returns the result of its action.
func (s *Server) serve(r *http.Request, st *reqState, now time.Time) (any, error) {
	if r.URL.Path != "/" {
		return nil, &queryError{404, "InvalidAction", "Unknown path: the Query API is served at /"}
	}
	var body []byte
	switch r.Method {
	case http.MethodPost:
		ct := r.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if ct != "" && (err != nil || mt != "application/x-www-form-urlencoded") {
			return nil, &queryError{415, "UnsupportedMediaType", "Content-Type must be application/x-www-form-urlencoded"}
		}
		if r.ContentLength > s.maxBody {
			return nil, errTooLarge(s.maxBody)
		}
		body, err = io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
		if err != nil {
			return nil, &queryError{400, "MalformedQueryString", "The request body could not be read"}
		}
		if int64(len(body)) > s.maxBody {
			return nil, errTooLarge(s.maxBody)
		}
	case http.MethodGet:
	default:
		return nil, &queryError{405, "InvalidAction", "The Query API accepts only POST and GET"}
	}
	f, err := parseForm(r.URL.RawQuery, string(body))
	if err != nil {
		var fe *errForm
		if errors.As(err, &fe) {
			return nil, &queryError{400, "MalformedQueryString", "The request is malformed: " + fe.msg}
		}
		return nil, err
	}

	// Which API: Version, else the credential scope's service.
	version, hasVersion := f.get("Version")
	action, hasAction := f.get("Action")
	if hasVersion {
		for _, svc := range s.services {
			if svc.version == version {
				st.svc = svc
			}
		}
	} else if svc, ok := s.services[scopeService(r)]; ok {
		st.svc = svc
	}
	if !hasAction || action == "" {
		return nil, &queryError{400, "MissingAction", "The request must contain the parameter Action"}
	}
	if st.svc == nil {
		if !hasVersion {
			return nil, &queryError{400, "MissingParameter", "The request must contain the parameter Version"}
		}
		return nil, &queryError{400, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", clip(action), clip(version))}
	}
	op, known := st.svc.ops[action]
	if known {
		st.action = action
	}
	st.form, st.name = f, action

	c := &call{s: s, f: f, action: action, st: st}
	info := iam.RequestInfo{SourceIP: sourceIP(r), SecureTransport: r.TLS != nil}
	if unsignedActions[st.svc.name+":"+action] && r.Header.Get("Authorization") == "" {
		info.Region = s.region
		c.ctx = iam.WithRequestInfo(r.Context(), info)
		return op(c)
	}

	sum := sha256.Sum256(body)
	st.authTried = true
	a, err := authenticate(r.Context(), &s.signer, r, hex.EncodeToString(sum[:]), s.svc.LookupKey, now, s.skew)
	if err != nil {
		st.keyOwner = a.key.Principal
		return nil, err
	}
	caller, err := st.scopedCaller(a, st.svc.name)
	if err != nil {
		return nil, err
	}
	st.principal = caller
	if !known {
		return nil, &queryError{400, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", clip(action), st.svc.version)}
	}
	info.Region = a.v.Region
	c.ctx = iam.WithRequestInfo(r.Context(), info)
	c.caller = caller
	c.region = a.v.Region
	st.region = a.v.Region
	return op(c)
}

func errTooLarge(max int64) error {
	return &queryError{413, "RequestEntityTooLarge", fmt.Sprintf("Request body larger than %d bytes", max)}
}

// sourceIP is the peer's address. Forwarding headers are not trusted: a proxy in front of
// the authority must be transparent (or terminate nothing) for aws:SourceIp to hold.
func sourceIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(r.RemoteAddr)
	return a.Unmap()
}

// toQueryError maps any error to its wire form, once, here: protocol errors as they are, the
// domain's *iam.Error with its code, message and the status of its code, everything else to a
// 500 whose detail only the log sees.
func (s *Server) toQueryError(err error, fault string) *queryError {
	var qe *queryError
	if errors.As(err, &qe) {
		return qe
	}
	var ie *iam.Error
	if errors.As(err, &ie) {
		return &queryError{domainStatus(ie.Code), ie.Code, ie.Message}
	}
	msg := "The request processing has failed because of an unknown error, exception or failure."
	return &queryError{500, fault, msg}
}

func (s *Server) logRequest(r *http.Request, st *reqState, status int, code string, err error, start time.Time) {
	level := slog.LevelDebug
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400, st.issued != nil:
		level = slog.LevelInfo
	}
	ctx := r.Context()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", st.rid),
		slog.String("remote", r.RemoteAddr),
		slog.Int("status", status),
		slog.Duration("duration", s.now().Sub(start)),
	}
	if st.svc != nil {
		attrs = append(attrs, slog.String("service", st.svc.name))
	}
	if st.action != "" {
		attrs = append(attrs, slog.String("action", st.action))
	}
	if st.akid != "" {
		attrs = append(attrs, slog.String("access_key_id", st.akid))
	}
	if st.caller != "" {
		attrs = append(attrs, slog.String("caller", st.caller), slog.String("caller_account", st.account))
	}
	if status < 400 {
		attrs = append(attrs, st.issued...)
	}
	if code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	s.log.LogAttrs(ctx, level, "aws query request", attrs...)
}

// newRequestID returns a random (version 4) UUID.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// scopedCaller records a's access key in st, checks that its credential scope names
// service and a valid region, and records and returns the key's caller.
func (st *reqState) scopedCaller(a authenticated, service string) (*iam.Caller, error) {
	st.akid = a.v.AccessKeyID
	if a.v.Service != service {
		return nil, &queryError{403, "SignatureDoesNotMatch", fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", service)}
	}
	if !validRegion(a.v.Region) {
		return nil, &queryError{403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region. "}
	}
	caller := a.key.Principal
	if caller == nil {
		return nil, fmt.Errorf("awsquery: key %s has no caller", a.v.AccessKeyID)
	}
	st.caller, st.account = callerARN(caller), caller.Account
	return caller, nil
}

func callerARN(c *iam.Caller) string { return c.ARN }
