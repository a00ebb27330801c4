package servertls

import (
	"crypto/tls"
	"errors"
	"fmt"
)

// Config returns a clone of base whose MinVersion is at least minVersion: tls.VersionTLS12
// or tls.VersionTLS13, zero meaning TLS 1.2. It refuses any other minVersion and a base
// without a source of certificates (Certificates, GetCertificate or GetConfigForClient).
// base is not modified. Its errors name the fields of the callers' Configs (MinTLSVersion,
// TLS) and carry no package prefix: callers wrap them with their own.
func Config(base *tls.Config, minVersion uint16) (*tls.Config, error) {
	if minVersion == 0 {
		minVersion = tls.VersionTLS12
	}
	if minVersion != tls.VersionTLS12 && minVersion != tls.VersionTLS13 {
		return nil, fmt.Errorf("unsupported MinTLSVersion %#x", minVersion)
	}
	c := base.Clone()
	if c.MinVersion < minVersion {
		c.MinVersion = minVersion
	}
	if len(c.Certificates) == 0 && c.GetCertificate == nil && c.GetConfigForClient == nil {
		return nil, errors.New("TLS has no certificate")
	}
	return c, nil
}
