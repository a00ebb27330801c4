package gateway

import (
	"github.com/iamdb/iamdb/internal/access"
)

// Reasons (label "reason", the log's reason=, AuditRecord.Reason) besides token.Reasons()
// and the decision's own (access.ReasonImplicitDeny, …).
const (
	reasonNoSSL          = "no-ssl"              // plaintext attempt where TLS is required
	reasonPassword       = "password"            // the backend refused the password
	reasonNoPassword     = "no-password"         // the client closed instead of answering
	reasonProtocol       = "protocol"            // the client broke the protocol
	reasonTLS            = "tls"                 // the TLS handshake failed
	reasonBackend        = "backend-unavailable" // the backend could not be reached or failed
	reasonPoolTimeout    = "pool-timeout"        // no session became free in time
	reasonShutdown       = "shutdown"            // the gateway is shutting down
	reasonStartupTimeout = "startup-timeout"     // no startup message within StartupTimeout
	reasonInvalidUser    = "invalid-user"        // a user name no account can have
	reasonAuditFailed    = "audit-failed"        // the login could not be recorded in the audit trail

	reasonTooManyClients         = "too-many-clients"         // beyond MaxClientConns
	reasonTooManyUnauthenticated = "too-many-unauthenticated" // beyond MaxUnauthenticatedPerIP
)

// AuditRecord describes one authentication attempt, whatever its outcome: the login
// decision's access.Record, with Mode access.ModeGateway. It never holds a token,
// password or signature.
type AuditRecord = access.Record

// Authority is what the gateway needs of the IAM authority: signing keys, the served
// database's registration and rds-db:connect decisions, all answered from memory.
// *iam.Service is one. It is the login decision's access.Authority.
type Authority = access.Authority
