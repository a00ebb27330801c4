package gateway

import (
	"context"
	"net/netip"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/policy"
	"github.com/iamdb/iamdb/token"
)

// Reasons (label "reason", the log's reason=, AuditRecord.Reason) besides token.Reasons().
const (
	reasonImplicitDeny    = "implicit-deny"       // no policy allows rds-db:connect
	reasonExplicitDeny    = "explicit-deny"       // a Deny statement matched
	reasonIAMAuthDisabled = "iam-auth-disabled"   // the database has IAM authentication off
	reasonNoPrincipal     = "no-principal"        // the key lookup returned no caller
	reasonNoSSL           = "no-ssl"              // plaintext attempt where TLS is required
	reasonPassword        = "password"            // the backend refused the password
	reasonNoPassword      = "no-password"         // the client closed instead of answering
	reasonProtocol        = "protocol"            // the client broke the protocol
	reasonTLS             = "tls"                 // the TLS handshake failed
	reasonBackend         = "backend-unavailable" // the backend could not be reached or failed
	reasonPoolTimeout     = "pool-timeout"        // no session became free in time
	reasonShutdown        = "shutdown"            // the gateway is shutting down
	reasonStartupTimeout  = "startup-timeout"     // no startup message within StartupTimeout
	reasonInvalidUser     = "invalid-user"        // a user name no account can have

	reasonTooManyClients         = "too-many-clients"         // beyond MaxClientConns
	reasonTooManyUnauthenticated = "too-many-unauthenticated" // beyond MaxUnauthenticatedPerIP
)

// AuditRecord describes one authentication attempt, whatever its outcome. It never holds
// a token, password or signature.
type AuditRecord struct {
	Time     time.Time
	Engine   string         // "postgres"
	Database string         // the database's identifier
	DBName   string         // the database (schema) the client asked for
	User     string         // the database user
	Source   netip.AddrPort // the client
	IAM      bool           // an IAM (token) login, not a password one
	// Principal and AccessKeyID say who signed the token, when it was verified.
	Principal   string
	AccessKeyID string
	Outcome     string // "ok", "refused", "error"
	Reason      string // "" when ok
	// Policy and Statement name the deciding statement of the rds-db:connect decision.
	Policy    string
	Statement string
}

// Authority is what the gateway needs of the IAM authority: signing keys, the served
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

// authorizer verifies a token and authorizes rds-db:connect. It is engine-neutral and
// safe for concurrent use.
type authorizer struct {
	iam      Authority
	db       iam.Database
	verifier *token.Verifier[*iam.Caller]
}

func newAuthorizer(cfg Config) (*authorizer, error) {
	v, err := token.NewVerifier(token.Config[*iam.Caller]{
		Region: cfg.Database.Region, Endpoints: cfg.Database.Endpoints, Port: cfg.Database.Port,
		Keys: cfg.IAM, Skew: cfg.Skew, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	return &authorizer{iam: cfg.IAM, db: cfg.Database, verifier: v}, nil
}

// database returns the current registration of the served database.
func (a *authorizer) database() iam.Database {
	if d, ok := a.iam.DatabaseByEndpoint(a.db.Endpoints[0], a.db.Port); ok && d.ResourceID == a.db.ResourceID {
		return d
	}
	return a.db
}

// authorize verifies tok for user and evaluates rds-db:connect; it fills rec's
// Principal, AccessKeyID, Outcome, Reason, Policy and Statement and reports whether the
// login is allowed.
func (a *authorizer) authorize(ctx context.Context, user, tok string, source netip.Addr, secure bool, rec *AuditRecord) bool {
	res, err := a.verifier.Verify(ctx, tok, user)
	if err != nil {
		rec.Reason = token.Reason(err)
		rec.Outcome = outcomeRefused
		if rec.Reason == "error" {
			rec.Outcome = outcomeError
		}
		return false
	}
	rec.AccessKeyID = res.AccessKeyID
	caller := res.Principal
	if caller == nil {
		rec.Outcome, rec.Reason = outcomeError, reasonNoPrincipal
		return false
	}
	rec.Principal = caller.ARN
	db := a.database()
	if !db.IAMAuth {
		rec.Outcome, rec.Reason = outcomeRefused, reasonIAMAuthDisabled
		return false
	}
	d, err := a.iam.AuthorizeConnect(ctx, caller, db, user, iam.RequestInfo{SourceIP: source, SecureTransport: secure, Region: db.Region})
	if err != nil {
		rec.Outcome, rec.Reason = outcomeError, reasonNoPrincipal
		return false
	}
	rec.Policy, rec.Statement = d.Policy, d.Statement
	switch d.Effect {
	case policy.Allowed:
		rec.Outcome = outcomeOK
		return true
	case policy.ExplicitDeny:
		rec.Outcome, rec.Reason = outcomeRefused, reasonExplicitDeny
	default:
		rec.Outcome, rec.Reason = outcomeRefused, reasonImplicitDeny
	}
	return false
}
