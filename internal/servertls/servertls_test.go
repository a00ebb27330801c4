package servertls_test

import (
	"crypto/tls"
	"testing"

	"github.com/iamdb/iamdb/internal/servertls"
	"github.com/iamdb/iamdb/internal/testenv"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	withCert := testenv.ServerTLS()
	withGetter := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }}
	withPerClient := &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return nil, nil }}
	tests := []struct {
		name    string
		base    *tls.Config
		min     uint16
		wantMin uint16
		wantErr string
	}{
		{"default floor", withCert, 0, tls.VersionTLS12, ""},
		{"TLS 1.3 floor", withCert, tls.VersionTLS13, tls.VersionTLS13, ""},
		{"base above the floor", &tls.Config{Certificates: withCert.Certificates, MinVersion: tls.VersionTLS13}, tls.VersionTLS12, tls.VersionTLS13, ""},
		{"GetCertificate", withGetter, 0, tls.VersionTLS12, ""},
		{"GetConfigForClient", withPerClient, 0, tls.VersionTLS12, ""},
		{"TLS 1.1", withCert, tls.VersionTLS11, 0, "unsupported MinTLSVersion 0x302"},
		{"unknown version", withCert, 0x0305, 0, "unsupported MinTLSVersion 0x305"},
		{"no certificate", &tls.Config{}, 0, 0, "TLS has no certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := tt.base.MinVersion
			got, err := servertls.Config(tt.base, tt.min)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Config(%#x) = %v, want error %q", tt.min, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Config(%#x) = %v", tt.min, err)
			}
			if got == tt.base || got.MinVersion != tt.wantMin {
				t.Errorf("Config(%#x): MinVersion %#x (clone: %v), want %#x on a clone", tt.min, got.MinVersion, got != tt.base, tt.wantMin)
			}
			if tt.base.MinVersion != before {
				t.Errorf("Config(%#x) changed base's MinVersion to %#x", tt.min, tt.base.MinVersion)
			}
		})
	}
}

func TestMinVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want uint16
		wantErr  string
	}{
		{0, tls.VersionTLS12, ""},
		{tls.VersionTLS12, tls.VersionTLS12, ""},
		{tls.VersionTLS13, tls.VersionTLS13, ""},
		{tls.VersionTLS10, 0, "unsupported MinTLSVersion 0x301"},
		{tls.VersionTLS11, 0, "unsupported MinTLSVersion 0x302"},
		{0x0305, 0, "unsupported MinTLSVersion 0x305"},
	}
	for _, tt := range tests {
		got, err := servertls.MinVersion(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("MinVersion(%#x) = %#x, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("MinVersion(%#x) = %#x, %v; want %#x", tt.in, got, err, tt.want)
		}
	}
}

func TestHasCertificate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    *tls.Config
		want bool
	}{
		{"nil", nil, false},
		{"empty", &tls.Config{}, false},
		{"settings only", &tls.Config{MinVersion: tls.VersionTLS13, NextProtos: []string{"postgresql"}}, false},
		{"Certificates", testenv.ServerTLS(), true},
		{"GetCertificate", &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }}, true},
		{"GetConfigForClient", &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return nil, nil }}, true},
	}
	for _, tt := range tests {
		if got := servertls.HasCertificate(tt.c); got != tt.want {
			t.Errorf("HasCertificate(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
