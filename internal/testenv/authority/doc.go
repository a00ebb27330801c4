// Package authority starts an iamdb authority for tests: a real iam.Service on a
// temporary SQLite store, read through a testenv.Clock, bootstrapped with an account and
// its administrator's access key, with helpers that create users, access keys, roles and
// policies the way an administrator would.
//
// New ties the authority to a test; Open starts one that a test binary shares (see
// testenv/gatewayenv) and that its Close stops. The helpers take the test they fail.
//
// The authority's HTTP API is not started here, so that awsquery's own tests can use
// this package: gatewayenv.AWSEndpoint serves it.
//
// It is for tests only; repo_test.go keeps it out of production code.
package authority
