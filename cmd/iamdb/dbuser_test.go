package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/internal/pki"
)

// --print writes the statements, quoted, and connects nowhere (the DSN is not dialled).
func TestCreateDBUserPrint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"mysql", []string{"--engine", "mysql", "iam_user"},
			"CREATE USER 'iam_user'@'%' REQUIRE SUBJECT '/CN=iam_user';\nGRANT rds_iam TO 'iam_user'@'%';\nSET DEFAULT ROLE rds_iam FOR 'iam_user'@'%';\n"},
		{"mariadb quoting", []string{"--engine", "mariadb", "o'brien"},
			"CREATE USER 'o\\'brien'@'%' REQUIRE SUBJECT '/CN=o\\'brien';\nGRANT rds_iam TO 'o\\'brien'@'%';\nSET DEFAULT ROLE rds_iam FOR 'o\\'brien'@'%';\n"},
		{"mysql from the DSN", []string{"--mysql", "admin:pw@tcp(192.0.2.1:3306)/", "a"},
			"CREATE USER 'a'@'%' REQUIRE SUBJECT '/CN=a';\nGRANT rds_iam TO 'a'@'%';\nSET DEFAULT ROLE rds_iam FOR 'a'@'%';\n"},
		{"postgres", []string{"--engine", "postgres", "iam_user", `We"ird User`},
			"CREATE USER \"iam_user\" WITH LOGIN;\nGRANT rds_iam TO \"iam_user\";\nCREATE USER \"We\"\"ird User\" WITH LOGIN;\nGRANT rds_iam TO \"We\"\"ird User\";\n"},
		{"postgres from the URL", []string{"--postgres", "postgres://192.0.2.1/postgres", "u"},
			"CREATE USER \"u\" WITH LOGIN;\nGRANT rds_iam TO \"u\";\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, status := runCLI(t, append([]string{"create-db-user", "--print"}, tt.args...)...)
			if status != 0 || out != tt.want {
				t.Errorf("iamdb create-db-user --print %q = %q (status %d, stderr %q), want %q", tt.args, out, status, errOut, tt.want)
			}
		})
	}
}

func TestCreateDBUserUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"create-db-user"},
		{"create-db-user", "u"},
		{"create-db-user", "--mysql", "admin:pw@tcp(h:1)/"},
		{"create-db-user", "--mysql", "admin:pw@tcp(h:1)/", "--postgres", "postgres://h/", "u"},
		{"create-db-user", "--engine", "mysql", "u"}, // --engine without --print
		{"create-db-user", "--print", "--engine", "oracle", "u"},
		{"create-db-user", "--print", "--engine", "postgres", "--mysql", "admin:pw@tcp(h:1)/", "u"},
		{"create-db-user", "--print", "--engine", "mysql", ""},
		{"create-db-user", "--nope"},
	} {
		if _, _, status := runCLI(t, args...); status != 2 {
			t.Errorf("iamdb %q: status %d, want 2", args, status)
		}
	}
}

func TestCreateDBUserTLSDefaults(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		tests := []struct{ in, ca, want string }{
			{"postgres://admin:pw@localhost:5433/postgres", "/d/ca.pem",
				"postgres://admin:pw@localhost:5433/postgres?sslmode=verify-full&sslrootcert=%2Fd%2Fca.pem"},
			{"postgres://localhost/postgres?sslmode=require", "/d/ca.pem",
				"postgres://localhost/postgres?sslmode=require&sslrootcert=%2Fd%2Fca.pem"},
			{"postgresql://localhost/?sslrootcert=%2Fother.pem", "/d/ca.pem",
				"postgresql://localhost/?sslmode=verify-full&sslrootcert=%2Fother.pem"},
			{"postgres://localhost/postgres", "", "postgres://localhost/postgres?sslmode=verify-full"},
			{"host=localhost user=admin", "/d/it's.pem", `host=localhost user=admin sslmode=verify-full sslrootcert='/d/it\'s.pem'`},
			{"host=localhost sslmode=disable sslrootcert=/x.pem", "/d/ca.pem", "host=localhost sslmode=disable sslrootcert=/x.pem"},
		}
		for _, tt := range tests {
			if got := withPostgresTLS(tt.in, tt.ca); got != tt.want {
				t.Errorf("withPostgresTLS(%q, %q) = %q, want %q", tt.in, tt.ca, got, tt.want)
			}
		}
	})
	t.Run("mysql", func(t *testing.T) {
		t.Parallel()
		ca, err := pki.NewCA("dbuser test CA", time.Hour, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		caFile := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			dsn, ca    string
			wantTLS    bool
			wantRoots  bool // verified against the CA file, not the system's roots
			wantErr    bool
			serverName string
		}{
			{dsn: "admin:pw@tcp(localhost:3307)/", ca: caFile, wantTLS: true, wantRoots: true, serverName: "localhost"},
			{dsn: "admin:pw@tcp(db.internal:3307)/?tls=true", ca: caFile, wantTLS: true, wantRoots: true, serverName: "db.internal"},
			{dsn: "admin:pw@tcp(localhost:3307)/", wantTLS: true, serverName: "localhost"},
			{dsn: "admin:pw@tcp(localhost:3307)/?tls=false", ca: caFile},
			{dsn: "admin:pw@tcp(localhost:3307)/", ca: filepath.Join(t.TempDir(), "missing.pem"), wantErr: true},
		}
		for _, tt := range tests {
			cfg, err := mysql.ParseDSN(tt.dsn)
			if err != nil {
				t.Fatal(err)
			}
			err = withMySQLTLS(cfg, tt.ca)
			if (err != nil) != tt.wantErr {
				t.Errorf("withMySQLTLS(%q, %q) = %v, want error %v", tt.dsn, tt.ca, err, tt.wantErr)
				continue
			}
			if err != nil {
				continue
			}
			if (cfg.TLS != nil) != tt.wantTLS {
				t.Errorf("withMySQLTLS(%q): TLS %v, want %v", tt.dsn, cfg.TLS != nil, tt.wantTLS)
				continue
			}
			if cfg.TLS == nil {
				continue
			}
			if (cfg.TLS.RootCAs != nil) != tt.wantRoots || cfg.TLS.ServerName != tt.serverName || cfg.TLS.InsecureSkipVerify {
				t.Errorf("withMySQLTLS(%q): roots %v, server name %q, insecure %v; want roots %v, %q", tt.dsn,
					cfg.TLS.RootCAs != nil, cfg.TLS.ServerName, cfg.TLS.InsecureSkipVerify, tt.wantRoots, tt.serverName)
			}
		}
	})
}
