// Package nativesetup plans, checks and writes the files a database server needs for
// iamdb's native mode, as "iamdb native-setup" does and "iamdb doctor --native-engine"
// checks: the PAM service file, PostgreSQL's pg_hba.conf block or MariaDB's option file,
// and the PAM module pam_iamdb.so itself.
//
// A [Plan] is made from [Options] (native-setup's flags) by [New]; its files' content is
// rendered by package nativeconf (pure text). [Plan.Check] compares the files on disk with
// the plan, [Plan.Apply] writes them atomically, keeping an existing file's mode and owner,
// and builds the module with package pammodule when it is missing.
//
// It is not the PAM module nor the verifier, and it creates no database users.
// See docs/native-mode.md.
package nativesetup
