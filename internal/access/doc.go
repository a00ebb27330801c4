// Package access is iamdb's login decision, shared by every way a database user logs in
// with an IAM auth token: the gateway (internal/gateway), which terminates the client's
// protocol, and native mode (internal/native), where the database asks iamdb through
// PAM. One decision, one set of reasons: a login the gateway refuses is refused natively
// for the same reason, and the other way round.
//
// An Authorizer decides for one database:
//
//	token.Verifier        the token's form, date and expiry, region, user, the endpoint
//	                      host and the port it names (Config.Port), its signature and
//	                      access key (Authority.LookupKey)
//	Authority.DatabaseByEndpoint
//	                      the database's current registration (IAM authentication on?),
//	                      looked up by its registered endpoint and port
//	Authority.AuthorizeConnect
//	                      rds-db:connect on dbuser:RESOURCE-ID/USER with aws:SourceIp
//	                      (absent when the source is unknown) and aws:SecureTransport
//
// and fills a Record — the audit record of the attempt — with who signed the token, the
// outcome, the reason and the deciding statement. Everything is answered from memory
// (*iam.Service's snapshot); no call does I/O.
//
// It is not the place for anything engine-specific: user-name rules, TLS, rds_iam
// membership, backend sessions and wire errors stay with the gateway; sockets and peer
// credentials with native mode. It never logs: callers log the Record.
package access
