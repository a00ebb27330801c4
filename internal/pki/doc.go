// Package pki is the gateway's certificate authority: it mints the server
// certificates that throwaway and self-hosted databases present, and the
// short-lived client certificates with which the gateway logs IAM users in to
// a backend ("Backend login without stored passwords" in DESIGN.md).
//
// A backend trusts the CA for IAM users only: PostgreSQL with a
// "hostssl all +rds_iam … cert" line in pg_hba.conf (the certificate's Subject
// CN is the role name), MariaDB/MySQL with REQUIRE SUBJECT '/CN=u'. A client
// certificate's Subject therefore holds exactly one attribute, the CN, equal
// byte for byte to the user name.
//
// Keys are ECDSA P-256 throughout: every PostgreSQL, MariaDB, MySQL and Go TLS
// stack accepts them, signing is an order of magnitude cheaper than RSA-2048
// key generation (so a certificate can be minted on the login path), and
// certificates stay small. Validity periods are short; there is no revocation
// (CRL, OCSP): a client certificate lives for an hour by default and is only
// ever minted after a token and a policy both allowed the login.
//
// ClientCertCache reuses a user's certificate until shortly before it expires,
// so the common login path costs a map lookup.
//
// This package is not a general-purpose CA: no intermediates, no CSRs, no
// revocation, no persistence beyond the PEM accessors.
package pki
