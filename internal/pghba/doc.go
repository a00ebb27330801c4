// Package pghba checks a PostgreSQL server's pg_hba.conf for the rule that makes IAM
// database authentication sound: members of rds_iam log in only with an IAM token — through
// the gateway (with its client certificate) or in native mode (a hostssl pam line whose PAM
// service is iamdb's: pam_iamdb.so asks iamdb's local verifier). Any role may set itself a
// password (ALTER ROLE current_user PASSWORD …), so a password line that an IAM user
// reaches before a reject lets it in without a token, from wherever that line allows.
//
// PostgreSQL takes the first line that matches a connection's type, database, user and
// address. [Check] walks the lines in that order for each member of rds_iam (and for a
// member yet to be created, who holds nothing but rds_iam): a cert or reject line that
// matches the member covers its connection types, addresses and databases, and so does a
// pam line of a native service ([Options].NativeServices) for TLS connections; a later
// line with any other method (scram-sha-256, md5, password, trust, peer, ldap, pam with
// another service, …) that matches the member on a connection type, address or database
// no earlier such line covers is a way around IAM. A native service's pam line that a
// member reaches without TLS (host, hostnossl, hostgssenc, local…) is a warning too: the
// token would travel in clear, and the verifier assumes TLS (aws:SecureTransport). Which
// PAM services are native is the caller's to decide (iamdb doctor reads their files). Coverage is judged line by line: host names, samehost and samenet count
// as any address for a password line and as none for a reject, so the check may warn
// about a file that is safe only by a combination of lines, never the other way.
//
// The package is pure: it takes the lines as the view pg_hba_file_rules shows them, the
// members of rds_iam ([RulesQuery] and [MembersQuery] read both) and the native services,
// and does no I/O. It is
// what "iamdb doctor --postgres" runs; it does not edit pg_hba.conf.
//
// Reference: https://www.postgresql.org/docs/current/auth-pg-hba-conf.html
package pghba
