package dbuser

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/iamdb/iamdb/internal/pki"
)

func TestTLSDefaults(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		tests := []struct{ in, ca, want string }{
			{"postgres://admin:pw@localhost:5433/postgres", "/d/ca.pem",
				"postgres://admin:pw@localhost:5433/postgres?sslmode=verify-full&sslrootcert=%2Fd%2Fca.pem"},
			{"postgres://localhost/postgres?sslmode=require", "/d/ca.pem",
				"postgres://localhost/postgres?sslmode=require&sslrootcert=%2Fd%2Fca.pem"},
			{"postgresql://localhost/?sslrootcert=%2Fother.pem", "/d/ca.pem",
				"postgresql://localhost/?sslrootcert=%2Fother.pem&sslmode=verify-full"},
			{"postgres://localhost/postgres", "", "postgres://localhost/postgres?sslmode=verify-full"},
			{"postgres://localhost/postgres?options=-c%20search_path%3Dx", "/d/my ca.pem",
				"postgres://localhost/postgres?options=-c%20search_path%3Dx&sslmode=verify-full&sslrootcert=%2Fd%2Fmy%20ca.pem"},
			{"host=localhost user=admin", "/d/it's.pem", `host=localhost user=admin sslmode=verify-full sslrootcert='/d/it\'s.pem'`},
			{"host=localhost sslmode=disable sslrootcert=/x.pem", "/d/ca.pem", "host=localhost sslmode=disable sslrootcert=/x.pem"},
		}
		for _, tt := range tests {
			if got := PostgresTLS(tt.in, tt.ca); got != tt.want {
				t.Errorf("PostgresTLS(%q, %q) = %q, want %q", tt.in, tt.ca, got, tt.want)
			}
		}
	})
	t.Run("mysql", func(t *testing.T) {
		t.Parallel()
		ca, err := pki.NewCA("iamdb dbuser test CA", time.Hour, nil, time.Now())
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
			err = MySQLTLS(cfg, tt.ca)
			if (err != nil) != tt.wantErr {
				t.Errorf("MySQLTLS(%q, %q) = %v, want error %v", tt.dsn, tt.ca, err, tt.wantErr)
				continue
			}
			if err != nil {
				continue
			}
			if (cfg.TLS != nil) != tt.wantTLS {
				t.Errorf("MySQLTLS(%q): TLS %v, want %v", tt.dsn, cfg.TLS != nil, tt.wantTLS)
				continue
			}
			if cfg.TLS == nil {
				continue
			}
			if (cfg.TLS.RootCAs != nil) != tt.wantRoots || cfg.TLS.ServerName != tt.serverName || cfg.TLS.InsecureSkipVerify {
				t.Errorf("MySQLTLS(%q): roots %v, server name %q, insecure %v; want roots %v, %q", tt.dsn,
					cfg.TLS.RootCAs != nil, cfg.TLS.ServerName, cfg.TLS.InsecureSkipVerify, tt.wantRoots, tt.serverName)
			}
		}
	})
}
