package devenv

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/server"
)

// envVar is a variable of D/env.
type envVar struct{ k, v string }

// writeEnv writes D/env: a file to source that points the AWS CLI, the SDKs, psql,
// mariadb and iamdb's own commands at the dev instance, and D/env-ID for each extra
// account. They hold admins' secrets and the databases' admin passwords: 0600. dbs.maria
// is nil when MariaDB did not start; extra are the variables of the ops address and of the
// IMDS endpoints. D/env does not set AWS_EC2_METADATA_SERVICE_ENDPOINT: the admin's keys in
// the same file would win over the instance's credentials anyway.
func writeEnv(d, authorityURL string, cfg *server.Config, dbs *databases, extra []envVar) (string, error) {
	pg, pgPort, maria, myPort := dbs.pg, dbs.pgPort, dbs.maria, dbs.myPort
	akid, secret, err := server.ReadAdminKeyFile(cfg.Path(cfg.Bootstrap.AdminKeyFile))
	if err != nil {
		return "", fmt.Errorf("dev: %w", err)
	}
	caFile := filepath.Join(d, "ca.pem")
	admin := url.URL{
		Scheme: "postgres", User: url.UserPassword(pg.AdminUser, pg.AdminPassword),
		Host: net.JoinHostPort("localhost", strconv.Itoa(pgPort)), Path: "/postgres",
		RawQuery: url.Values{"sslmode": {"verify-full"}, "sslrootcert": {caFile}}.Encode(),
	}
	var accounts []string
	for _, acc := range cfg.Accounts {
		accounts = append(accounts, acc.ID)
	}
	vars := []envVar{
		{"AWS_ENDPOINT_URL", authorityURL},
		// The SDKs resolve credential providers (web identity, role_arn profiles) before
		// AWS_ENDPOINT_URL applies: their STS calls need the service-specific variable.
		{"AWS_ENDPOINT_URL_STS", authorityURL},
		{"AWS_ACCESS_KEY_ID", akid},
		{"AWS_SECRET_ACCESS_KEY", secret},
		{"AWS_REGION", cfg.Authority.Region},
		{"AWS_DEFAULT_REGION", cfg.Authority.Region},
		{"IAMDB_ACCOUNT_ID", cfg.Bootstrap.AccountID},
		{"IAMDB_EXTRA_ACCOUNTS", strings.Join(accounts, " ")},
		{"IAMDB_CA_FILE", caFile},
		{"IAMDB_PG_HOST", "localhost"},
		{"IAMDB_PG_PORT", strconv.Itoa(pgPort)},
		{"IAMDB_PG_CLUSTER", ClusterID},
		{"IAMDB_PG_ADMIN_URL", admin.String()},
		{"IAMDB_PG_BACKEND_ADDR", pg.Addr()},
	}
	if dbs.native.on() {
		vars = append(vars, envVar{"IAMDB_PG_NATIVE_HOST", "localhost"}, envVar{"IAMDB_PG_NATIVE_PORT", strconv.Itoa(pg.Port())},
			envVar{"IAMDB_PG_NATIVE_SOCKET", dbs.native.pgSocket}) // for iamdb doctor --native-socket
	}
	if maria != nil {
		// A go-sql-driver DSN without TLS parameters: the CA cannot be named in one, so
		// the program adds TLS verified against IAMDB_CA_FILE (create-db-user does).
		dsn := mysql.NewConfig()
		dsn.User, dsn.Passwd = maria.AdminUser, maria.AdminPassword
		dsn.Net, dsn.Addr = "tcp", net.JoinHostPort("localhost", strconv.Itoa(myPort))
		vars = append(vars, []envVar{
			{"IAMDB_MYSQL_HOST", "localhost"},
			{"IAMDB_MYSQL_PORT", strconv.Itoa(myPort)},
			{"IAMDB_MYSQL_INSTANCE", MySQLInstanceID},
			{"IAMDB_MYSQL_ADMIN_USER", maria.AdminUser},
			{"IAMDB_MYSQL_ADMIN_PASSWORD", maria.AdminPassword},
			{"IAMDB_MYSQL_ADMIN_DSN", dsn.FormatDSN()},
			{"IAMDB_MYSQL_BACKEND_ADDR", maria.Addr()},
		}...)
		if dbs.native.on() {
			vars = append(vars, envVar{"IAMDB_MYSQL_NATIVE_HOST", "localhost"}, envVar{"IAMDB_MYSQL_NATIVE_PORT", strconv.Itoa(maria.Port())},
				envVar{"IAMDB_MYSQL_PAM_SERVICE", dbs.native.myService}, // create-db-user --native's default
				envVar{"IAMDB_MYSQL_NATIVE_SOCKET", dbs.native.mySocket})
		}
	}
	vars = append(vars, extra...)
	path := filepath.Join(d, "env")
	if err := writeEnvFile(path, "# iamdb dev: source this file. It holds the admin's secret key.\n", vars); err != nil {
		return "", err
	}
	for _, acc := range cfg.Accounts {
		akid, secret, err := server.ReadAdminKeyFile(cfg.Path(acc.AdminKeyFile))
		if err != nil {
			return "", fmt.Errorf("dev: %w", err)
		}
		head := "# iamdb dev: source this file after " + path + " to act as the admin of account " + acc.ID + ".\n"
		if err := writeEnvFile(AccountEnvFile(d, acc.ID), head, []envVar{{"AWS_ACCESS_KEY_ID", akid}, {"AWS_SECRET_ACCESS_KEY", secret}}); err != nil {
			return "", err
		}
	}
	return path, nil
}

// writeEnvFile writes a file of export lines to source, after head; it unsets the
// variables that would otherwise win over the keys it sets.
func writeEnvFile(path, head string, vars []envVar) error {
	var b strings.Builder
	b.WriteString(head)
	for _, kv := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", kv.k, shellQuote(kv.v))
	}
	b.WriteString("unset AWS_SESSION_TOKEN AWS_PROFILE\n")
	if err := pki.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// loadOrCreateCA keeps the dev CA in D/ca.pem and D/ca-key.pem across restarts, so that
// clients keep trusting it.
func loadOrCreateCA(d string) (*pki.CA, error) {
	certFile, keyFile := filepath.Join(d, "ca.pem"), filepath.Join(d, "ca-key.pem")
	certPEM, err1 := os.ReadFile(certFile)
	keyPEM, err2 := os.ReadFile(keyFile)
	if err1 == nil && err2 == nil {
		ca, err := pki.LoadCA(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("dev: %s: %w", certFile, err)
		}
		return ca, nil
	}
	if !errors.Is(err1, fs.ErrNotExist) && err1 != nil {
		return nil, fmt.Errorf("dev: %w", err1)
	}
	ca, err := pki.NewCA("iamdb dev CA", 10*365*24*time.Hour, nil, time.Now())
	if err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	if err := pki.WriteFile(keyFile, ca.KeyPEM(), 0o600); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	if err := pki.WriteFile(certFile, ca.CertPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	return ca, nil
}
