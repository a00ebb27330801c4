// Package pghba checks a PostgreSQL server's pg_hba.conf for the rule that makes IAM
// database authentication through the gateway sound: members of rds_iam log in only with the
// gateway's client certificate. Any role may set itself a password (ALTER ROLE current_user
// PASSWORD …), so a password line that an IAM user reaches before a reject lets it in
// without a token, from wherever that line allows.
//
// PostgreSQL takes the first line that matches a connection's type, database, user and
// address. [Check] walks the lines in that order for each member of rds_iam (and for a
// member yet to be created, who holds nothing but rds_iam): a cert or reject line that
// matches the member covers its connection types, addresses and databases; a later line
// with any other method (scram-sha-256, md5, password, trust, peer, ldap, …) that matches
// the member on a connection type, address or database no earlier such line covers is a
// way around IAM. Coverage is judged line by line: host names, samehost and samenet count
// as any address for a password line and as none for a reject, so the check may warn
// about a file that is safe only by a combination of lines, never the other way.
//
// The package is pure: it takes the lines as the view pg_hba_file_rules shows them and the
// members of rds_iam ([RulesQuery] and [MembersQuery] read both) and does no I/O. It is
// what "iamdb doctor --postgres" runs; it does not edit pg_hba.conf.
//
// Reference: https://www.postgresql.org/docs/current/auth-pg-hba-conf.html
package pghba
