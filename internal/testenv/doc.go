// Package testenv holds the pieces every test environment of iamdb shares: one fake Clock
// that the authority, the gateways and the tests read, and one LogBuffer that a slog
// handler writes to and tests read back (and check for leaked secrets). Beside them: the
// wire packages' scripted peers and framing check (wiretest.go, framing.go), a short
// directory for Unix sockets and a bounded context for calls to real servers (testing.go).
//
// It is for tests only and imports only the standard library; repo_test.go keeps it out of
// production code. The authority on a temporary store is in testenv/authority; the
// environment a gateway runs in (authority, CA, real databases) is in testenv/gatewayenv.
package testenv
