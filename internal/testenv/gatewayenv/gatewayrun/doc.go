// Package gatewayrun starts real iamdb gateways on the sites of a gatewayenv.Env, for the
// tests of the client libraries and the iamdb command. (The gateway's own tests build
// theirs on gatewayenv.Site directly, as they cannot import this package.)
//
// It is for tests only; repo_test.go keeps it out of production code.
package gatewayrun
