package access

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/policy"
	"github.com/iamdb/iamdb/token"
)

// Outcomes of a login attempt (Record.Outcome; the gateway's metric label "outcome").
const (
	OutcomeOK      = "ok"      // authenticated and authorized
	OutcomeRefused = "refused" // the client was refused: bad token, denied, bad password, no TLS
	OutcomeError   = "error"   // something failed that is not the client's doing, or a protocol error
)

// Reasons the decision sets (Record.Reason) besides token.Reasons().
const (
	ReasonImplicitDeny    = "implicit-deny"     // no policy allows rds-db:connect
	ReasonExplicitDeny    = "explicit-deny"     // a Deny statement matched
	ReasonIAMAuthDisabled = "iam-auth-disabled" // the database has IAM authentication off
	ReasonNoPrincipal     = "no-principal"      // the key lookup returned no caller, or the decision failed
)

// Modes of a login (Record.Mode).
const (
	ModeGateway = "gateway" // through an iamdb gateway
	ModeNative  = "native"  // the database asked iamdb itself, through PAM
	ModeDoctor  = "doctor"  // iamdb doctor asked a gateway what the database says, with its token
)

// Record describes one authentication attempt, whatever its outcome. It never holds a
// token, password or signature.
type Record struct {
	Time     time.Time
	Engine   string         // "postgres" or "mysql"
	Mode     string         // ModeGateway or ModeNative
	Database string         // the database's identifier
	DBName   string         // the database (schema) the client asked for; "" when unknown (native)
	User     string         // the database user
	Source   netip.AddrPort // the client; the zero value when unknown (native MariaDB), port 0 natively
	IAM      bool           // an IAM (token) login, not a password one
	// IAMKnown says IAM false means a password login: the gateway asked the database
	// whether User is a member of rds_iam. A login refused before that (a bad user name,
	// no TLS, the lookup failing) is neither, and its event leaves iamLogin out.
	IAMKnown bool
	// Principal and AccessKeyID say who signed the token, when it was verified.
	Principal   string
	AccessKeyID string
	Outcome     string // OutcomeOK, OutcomeRefused or OutcomeError
	Reason      string // "" when ok
	// Policy and Statement name the deciding statement of the rds-db:connect decision.
	Policy    string
	Statement string

	// Caller is the token's signer when the token was verified, nil otherwise. Event
	// names it as CloudTrail does (Identity) only when an event is built, so a login
	// without an audit trail pays nothing for it.
	Caller *iam.Caller
	// ResourceID, Region and Account are the database's (its registration).
	ResourceID, Region, Account string
	// TLSVersion is the client connection's TLS version ("TLSv1.3"), "" for plaintext or
	// when unknown.
	TLSVersion string
	// BackendSessionID is the database session that serves the login: PostgreSQL's
	// backend pid, MariaDB's connection id; 0 when unknown (native mode, refusals).
	BackendSessionID uint64
}

// Authority is what a login decision needs of the IAM authority: signing keys, the
// database's registration and rds-db:connect decisions, all answered from memory.
// *iam.Service is one. Its methods are called concurrently.
type Authority interface {
	// LookupKey returns the signing key of an access key; the key's Principal is the
	// *iam.Caller it belongs to.
	token.KeyLookup[*iam.Caller]
	// DatabaseByEndpoint returns the database registered for a host name and port.
	DatabaseByEndpoint(host string, port int) (iam.Database, bool)
	// AuthorizeConnect evaluates rds-db:connect for caller on db as dbUser.
	AuthorizeConnect(ctx context.Context, caller *iam.Caller, db iam.Database, dbUser string, info iam.RequestInfo) (policy.Decision, error)
}

var _ Authority = (*iam.Service)(nil)

// Config configures an Authorizer.
type Config struct {
	// Authority answers keys, registrations and decisions. Required.
	Authority Authority
	// Database is the database decided for, as registered: its Endpoints are the host
	// names tokens may name, its Region the region they are signed for, its Endpoints[0]
	// and Port what its current registration is looked up by. Required.
	Database iam.Database
	// Port is the port tokens must name: the port clients dial. If zero, Database.Port.
	// A native endpoint on the database server's own port (5432, say) serves the database
	// registered with the gateway's port: same resource ID, tokens for its own port.
	Port int
	// Skew is how far in the future a token's date may be. If zero, token.DefaultSkew (5
	// minutes); if negative, none.
	Skew time.Duration
	// Now returns the current time (token validity). If nil, time.Now.
	Now func() time.Time
}

// Authorizer verifies a token and authorizes rds-db:connect for one database. It is
// engine-neutral and safe for concurrent use.
type Authorizer struct {
	iam      Authority
	db       iam.Database
	verifier *token.Verifier[*iam.Caller]
}

// NewAuthorizer validates cfg and returns an Authorizer.
func NewAuthorizer(cfg Config) (*Authorizer, error) {
	if cfg.Authority == nil {
		return nil, errors.New("access: config: Authority is required")
	}
	db := cfg.Database
	if len(db.Endpoints) == 0 || db.Port < 1 || db.Port > 65535 {
		return nil, errors.New("access: config: Database needs endpoints and a port")
	}
	port := cfg.Port
	if port == 0 {
		port = db.Port
	}
	if port < 1 || port > 65535 {
		return nil, errors.New("access: config: Port out of range")
	}
	v, err := token.NewVerifier(token.Config[*iam.Caller]{
		Region: db.Region, Endpoints: db.Endpoints, Port: port,
		Keys: cfg.Authority, Skew: cfg.Skew, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	return &Authorizer{iam: cfg.Authority, db: db, verifier: v}, nil
}

// Database returns the current registration of the database: looked up by its
// registered first endpoint and port, and kept only if it is still the same database
// (resource ID); otherwise the registration the Authorizer was created with.
func (a *Authorizer) Database() iam.Database {
	if d, ok := a.iam.DatabaseByEndpoint(a.db.Endpoints[0], a.db.Port); ok && d.ResourceID == a.db.ResourceID {
		return d
	}
	return a.db
}

// Authorize verifies tok for user and evaluates rds-db:connect with aws:SourceIp =
// source (absent from the request context when source is the zero Addr: a policy's
// NotIpAddress then holds, IpAddress does not) and aws:SecureTransport = secure. It
// fills rec's Principal, AccessKeyID, Caller, database fields, Outcome, Reason, Policy and
// Statement and reports
// whether the login is allowed. The token is never copied into rec.
func (a *Authorizer) Authorize(ctx context.Context, user, tok string, source netip.Addr, secure bool, rec *Record) bool {
	db := a.Database()
	rec.SetDatabase(db)
	res, err := a.verifier.Verify(ctx, tok, user)
	if err != nil {
		rec.Reason = token.Reason(err)
		rec.Outcome = OutcomeRefused
		if rec.Reason == "error" {
			rec.Outcome = OutcomeError
		}
		return false
	}
	rec.AccessKeyID = res.AccessKeyID
	caller := res.Principal
	if caller == nil {
		rec.Outcome, rec.Reason = OutcomeError, ReasonNoPrincipal
		return false
	}
	rec.Principal = caller.ARN
	rec.Caller = caller
	if !db.IAMAuth {
		rec.Outcome, rec.Reason = OutcomeRefused, ReasonIAMAuthDisabled
		return false
	}
	d, err := a.iam.AuthorizeConnect(ctx, caller, db, user, iam.RequestInfo{SourceIP: source, SecureTransport: secure, Region: db.Region})
	if err != nil {
		rec.Outcome, rec.Reason = OutcomeError, ReasonNoPrincipal
		return false
	}
	rec.Policy, rec.Statement = d.Policy, d.Statement
	switch d.Effect {
	case policy.Allowed:
		rec.Outcome, rec.Reason = OutcomeOK, ""
		return true
	case policy.ExplicitDeny:
		rec.Outcome, rec.Reason = OutcomeRefused, ReasonExplicitDeny
	default:
		rec.Outcome, rec.Reason = OutcomeRefused, ReasonImplicitDeny
	}
	return false
}
