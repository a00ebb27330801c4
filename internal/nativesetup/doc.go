// Package nativesetup plans, checks and writes the files a database server needs for
// iamdb's native mode, as "iamdb native-setup" does and "iamdb doctor --native-engine"
// checks: for PostgreSQL, the PAM service file, pg_hba.conf's block and the PAM module
// pam_iamdb.so; for MariaDB, by default, the option file that loads iamdb's
// AWSAuthenticationPlugin and the plugin auth_iamdb.so itself, or, with the PAM way in
// (Options.MariaDBAuth "pam"), the PAM service file, the option file loading auth_pam_v1
// and pam_iamdb.so.
//
// A [Plan] is made from [Options] (native-setup's flags) by [New]; its files' content is
// rendered by package nativeconf (pure text). [Plan.Check] compares the files on disk with
// the plan, [Plan.Apply] writes them atomically, keeping an existing file's mode and owner,
// and builds the module or plugin with package pammodule when it is missing.
//
// It is not the PAM module, the plugin nor the verifier, and it creates no database users.
// See docs/native-mode.md.
package nativesetup
