package servertls

import (
	"crypto/tls"
	"errors"
	"fmt"
)

// Config returns a clone of base whose MinVersion is at least minVersion (see
// MinVersion). It refuses a minVersion MinVersion refuses and a base without a source
// of certificates (see HasCertificate). base is not modified. Its errors name the fields
// of the callers' Configs (MinTLSVersion, TLS) and carry no package prefix: callers wrap
// them with their own.
func Config(base *tls.Config, minVersion uint16) (*tls.Config, error) {
	minVersion, err := MinVersion(minVersion)
	if err != nil {
		return nil, err
	}
	if !HasCertificate(base) {
		return nil, errors.New("TLS has no certificate")
	}
	c := base.Clone()
	if c.MinVersion < minVersion {
		c.MinVersion = minVersion
	}
	return c, nil
}

// MinVersion returns the TLS version floor v stands for: v itself when it is
// tls.VersionTLS12 or tls.VersionTLS13, TLS 1.2 (as RDS) when it is zero. It refuses any
// other v, for callers that check a Config's MinTLSVersion before they have a TLS
// configuration to hand Config.
func MinVersion(v uint16) (uint16, error) {
	switch v {
	case 0:
		return tls.VersionTLS12, nil
	case tls.VersionTLS12, tls.VersionTLS13:
		return v, nil
	}
	return 0, fmt.Errorf("unsupported MinTLSVersion %#x", v)
}

// HasCertificate reports whether c (which may be nil) has a source of certificates —
// Certificates, GetCertificate or GetConfigForClient — and so could complete a server
// handshake.
func HasCertificate(c *tls.Config) bool {
	return c != nil && (len(c.Certificates) > 0 || c.GetCertificate != nil || c.GetConfigForClient != nil)
}
