// Package nativeconf renders the database-side configuration of iamdb's native mode, in
// which PostgreSQL and MariaDB authenticate IAM users themselves, as RDS does: through PAM
// (the module pam_iamdb.so asks iamdb's local verifier over a Unix socket) or, for MariaDB
// by default, through iamdb's AWSAuthenticationPlugin (auth_iamdb.so, which asks the
// verifier itself):
//
//   - the PAM service file (/etc/pam.d/<service>): [PAMService];
//   - PostgreSQL's pg_hba.conf block that sends members of rds_iam to PAM over TLS and
//     rejects them on every other way in, leaving everyone else's methods alone:
//     [HBABlock], placed at the top of the file between marker lines by [ApplyHBA];
//   - MariaDB's server settings, which load AWSAuthenticationPlugin with the verifier's
//     socket: [MariaDBPluginConf]; or the PAM plugin (v1) with mysql_clear_password:
//     [MariaDBConf].
//
// The package is pure: it renders and edits text and does no I/O. "iamdb native-setup"
// writes the results and the throwaway servers of internal/localdb use them.
//
// It is not the module, the plugin nor the verifier, and it does not create users
// (rdsiam.MySQLNativeUserSQL and MySQLPluginUserSQL do).
//
// References: https://www.postgresql.org/docs/current/auth-pam.html,
// https://www.postgresql.org/docs/current/auth-pg-hba-conf.html,
// https://mariadb.com/kb/en/authentication-plugin-pam/,
// https://mariadb.com/kb/en/configuring-mariadb-with-option-files/
package nativeconf
