// Package servertls derives the TLS configuration a wire protocol's server presents to
// clients (pgwire's and mysqlwire's Server) from the one its caller hands in: a clone,
// with MinVersion raised to the deployment's floor, refused when it could not complete a
// handshake. One rule for both engines keeps them from drifting apart: RDS accepts TLS
// 1.2 and 1.3, never older.
//
// It is not where certificates come from (that is the caller's tls.Config, or pki) and it
// does no I/O.
package servertls
