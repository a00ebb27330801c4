// Package doctor checks, one finding each, what an IAM database login needs, and says how
// to fix what fails: it is "iamdb doctor" without its flags and printing.
//
// [Run] takes [Options] and runs the checks they call for, in this order:
//
//	login (Hostname, Port, Username): credentials, region, identity, tls, the client's
//	    settings (client_tls, cleartext, socket), clock, token (or Token's token_*
//	    findings), then for a refusal what the authority tells the caller (endpoint,
//	    region, policy_arn, user_case, profile: diagnose.go), and for an accepted token
//	    what the database says through the gateway (db_user, dbname, db_hba: database.go)
//	Postgres (a superuser's connection): pam_service for each PAM service that
//	    pg_hba.conf's pam lines name, then pg_hba
//	Native.Socket: native (the local verifier answers), native_login (its verdict)
//	Native.Setup: native_setup (the files of iamdb native-setup are in place), and for
//	    MariaDB through PAM pam_other (what PAM's fallback service loads per login)
//
// Each check is one function returning [Result]s, data the caller prints ([Print]) or
// inspects ([Failed]). A check that cannot run is a FAIL result, not an error: Run
// returns an error only for Options it cannot use (nativesetup.ErrOptions).
//
// Secrets: tokens are sent to the authority, the verifier or the gateway, never put in a
// Result. Every question to the authority is asked with the caller's own credentials (and,
// for profile, those of the shared files' other profiles); one it may not ask is a skip.
//
// It is not a monitor: it runs once, from the machine it is run on, with the caller's
// credentials. Protocol bytes (TLS probes) are pgwire's and mysqlwire's; the pg_hba.conf
// analysis is pghba's; native-setup's files are nativesetup's.
package doctor
