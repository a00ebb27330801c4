// Package iamdb is the root of iamdb: AWS-compatible IAM database authentication for
// PostgreSQL and MySQL/MariaDB. It holds no code, only the repository-level tests (every
// package documented; the pure cores import only the standard library). See README.md.
package iamdb
