// Package itest is the end-to-end harness of the client packages' tests: an iamdb authority,
// real PostgreSQL and MariaDB servers started from the system's binaries, and iamdb gateways
// in front of them, all on loopback and sharing one adjustable clock so that tests can jump
// past token and credential expiry without sleeping.
//
// It is for tests only; nothing outside client/... can import it.
package itest
