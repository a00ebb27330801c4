// Package doctor checks, one finding each, what an IAM database login needs, and says how
// to fix what fails: it is "iamdb doctor" without its flags and printing.
//
// [Run] takes [Options] and runs the checks they call for, in this order:
//
//	login (Hostname, Port, Username): credentials, region, identity, tls, token
//	Postgres (a superuser's connection): pam_service for each PAM service that
//	    pg_hba.conf's pam lines name, then pg_hba
//	Native.Socket: native (the local verifier answers), native_login (its verdict)
//	Native.Setup: native_setup (the files of iamdb native-setup are in place)
//
// Each check is one function returning [Result]s, data the caller prints ([Print]) or
// inspects ([Failed]). A check that cannot run is a FAIL result, not an error: Run
// returns an error only for Options it cannot use (nativesetup.ErrOptions).
//
// Secrets: tokens are sent to the authority or the verifier, never put in a Result.
//
// It is not a monitor: it runs once, from the machine it is run on, with the caller's
// credentials. Protocol bytes (TLS probes) are pgwire's and mysqlwire's; the pg_hba.conf
// analysis is pghba's; native-setup's files are nativesetup's.
package doctor
