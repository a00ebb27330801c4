// Package pammodule carries pam_iamdb.so, the Linux-PAM module through which PostgreSQL and
// MariaDB ask iamdb whether an IAM login may proceed (native mode), and auth_iamdb.so,
// MariaDB's AWSAuthenticationPlugin, which asks the same without PAM; and builds them.
//
// # MariaDB's AWSAuthenticationPlugin
//
// c/auth_iamdb.c is a MariaDB server authentication plugin, RDS for MySQL's own design:
// users are created IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' (rdsiam.MySQLPluginUserSQL);
// the plugin asks the client for the token with mysql_clear_password and sends the
// verifier the user, the client's IP address (getpeername: aws:SourceIp, which MariaDB's
// PAM plugin v1 never passes) and the token, in the same protocol as the PAM module (the
// shared c/iamdb_verifier.h). It answers CR_OK only on allow and sets password_used, so a
// refusal reads as RDS's, "(using password: YES)". Its read-only system variables are
// awsauthenticationplugin_socket and awsauthenticationplugin_timeout; refusals go to the
// server's error log with the verifier's reason, never the token. It keeps up to 16 idle
// connections to the verifier for further logins (a mutex-guarded pool: its only mutable
// state), dropping one the verifier closed. BuildMariaDBPlugin
// compiles it against MariaDB's server plugin headers (Debian: libmariadbd-dev).
//
// The module is C (c/pam_iamdb.c, built against libpam): PostgreSQL loads PAM modules in
// every backend it forks and MariaDB's v1 plugin runs them on many threads, so the module is
// small, starts nothing and keeps no mutable static state. This package embeds the source
// (Source) and compiles it with the system's C compiler (Build); it is not the verifier
// (internal/native answers the module's requests) and does not write PAM service files or
// database configuration (iamdb native-setup does).
//
// # What the module does
//
//	database (PG backend / mysqld)          pam_iamdb.so                  iamdb verifier
//	  pam_authenticate ───────────────▶ PAM_USER, PAM_RHOST,
//	                                     token = pam_get_authtok
//	                                     (prompts through the
//	                                     conversation: the client's
//	                                     password)
//	                                     lengths checked ─── Unix socket ──▶ request
//	                                                    ◀─────────────────── response
//	  ◀─ PAM_SUCCESS only on "allow" ─── one deadline for all
//	  pam_acct_mgmt ──────────────────▶ PAM_SUCCESS only if this
//	                                     handle was authenticated
//
// The exchange is the native verifier protocol (all integers big-endian; one request, one
// response; the PAM module then closes, MariaDB's plugin keeps the connection for a
// further login):
//
//	request:  "IDB1" | userLen u16 (1..256) | user | hostLen u16 (0..255) | host
//	          | tokLen u16 (1..16384) | token
//	response: "IDB1" | verdict u8 (1 = allow, anything else = deny) | reasonLen u8 | reason
//
// The module checks every length before it connects: a user, host or token out of range is
// refused without contacting the verifier. PAM_RHOST is absent under MariaDB and for
// PostgreSQL's local connections (hostLen 0).
//
// # Arguments
//
//	socket=PATH    the verifier's Unix socket (required)
//	timeout=MS     one deadline for connect, write and read together; 50..30000, default 2000
//	keep_loaded    keep the PAM modules loaded in the process across pam_end (RTLD_NODELETE
//	               on every loaded object that defines a pam_sm_* function): libpam
//	               otherwise unloads the whole stack, "other" included, at every pam_end
//	               and loads it again at the next pam_start — per login in a server that
//	               authenticates in one long-lived process (MariaDB); a PostgreSQL backend
//	               lives for one login, where it changes nothing
//	use_first_pass, try_first_pass
//	               honoured by pam_get_authtok (take the token a previous module obtained)
//
// Any other argument, a missing socket= or a value out of range is a configuration error.
//
// # Return codes
//
//	pam_sm_authenticate
//	  PAM_SUCCESS           a complete, well-formed response with verdict 1
//	  PAM_AUTH_ERR          deny (the reason code is logged at LOG_NOTICE); malformed,
//	                        truncated or missing response; a length out of range
//	  PAM_AUTHINFO_UNAVAIL  cannot connect to the verifier, or the deadline passed (LOG_ERR)
//	  PAM_SERVICE_ERR       bad arguments (LOG_ERR)
//	  PAM_BUF_ERR           out of memory
//	  other                 pam_get_user's or pam_get_authtok's own failure, passed on
//	pam_sm_acct_mgmt        PAM_SUCCESS only when pam_sm_authenticate succeeded on the same
//	                        handle (pam_set_data), else PAM_PERM_DENIED
//	pam_sm_setcred          PAM_SUCCESS (an "auth" line needs the symbol)
//
// Nothing else is exported from the shared object. The module logs through pam_syslog
// (facility authpriv) and never logs or writes the token anywhere but to the verifier's
// socket; its copy of the request is wiped (explicit_bzero) before it is freed. The tests
// check this with strace.
//
// # Installing
//
// With a C compiler and libpam's headers (Debian: gcc, libpam0g-dev):
//
//	make -C internal/native/pammodule/c install                    # /lib/x86_64-linux-gnu/security
//	make -C internal/native/pammodule/c install PAMDIR=/lib64/security
//
// or through Build (which iamdb native-setup is to call). A PAM service file then names it,
// for example
// /etc/pam.d/iamdb:
//
//	auth    required pam_iamdb.so socket=/run/iamdb/native-pg.sock
//	account required pam_iamdb.so
//
// This was tried by hand against PostgreSQL 15 (pg_hba "pam pamservice=…") and MariaDB
// 10.11's auth_pam_v1 plugin, including concurrent logins; the end-to-end tests with the real
// verifier live with iamdb's native mode.
//
// The socket must be reachable by the database's own user (postgres, mysql): PAM runs in
// the database's processes.
package pammodule
