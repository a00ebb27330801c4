// Package accessenv is the fixture of the tests of the login decision: internal/access's
// and the native verifier's (internal/native), which ask the same access.Authorizer the
// same questions. It is an authority (testenv/authority) with one database registered
// on RegisteredPort, an Authorizer serving it on ServerPort (the database server's own
// port, as in native mode), and users whose policies cover the decision's branches:
//
//	alice    connect as alice
//	nobody   no policy (implicit deny)
//	office   connect, denied unless aws:SourceIp is in 192.0.2.0/24 (statement OnlyOffice)
//	blocked  connect, denied when aws:SourceIp is in 198.51.100.0/24 (NotFromThere)
//	plain    connect, denied without TLS: aws:SecureTransport false (TLSOnly)
//
// Each user has one access key, in Env.Keys by user name. It does not start a gateway
// or a database server: that is testenv/gatewayenv.
//
// It is for tests only; repo_test.go keeps it out of production code.
package accessenv
