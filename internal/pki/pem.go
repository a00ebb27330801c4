package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// CertChainPEM returns cert's chain (leaf first) in PEM form.
func CertChainPEM(cert tls.Certificate) []byte {
	var out []byte
	for _, der := range cert.Certificate {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return out
}

// PrivateKeyPEM returns cert's private key as PKCS#8 PEM ("PRIVATE KEY"),
// which OpenSSL-based servers (PostgreSQL, MariaDB) read. It is a secret.
func PrivateKeyPEM(cert tls.Certificate) ([]byte, error) {
	if cert.PrivateKey == nil {
		return nil, errors.New("pki: certificate has no private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WritePEM writes cert's chain to certFile (mode 0644) and its private key to
// keyFile (mode 0600, also when the file existed with a wider mode), for a
// server's ssl_cert_file and ssl_key_file. Ownership is the caller's concern:
// PostgreSQL wants the key owned by its OS user (or root with mode 0640).
func WritePEM(certFile, keyFile string, cert tls.Certificate) error {
	keyPEM, err := PrivateKeyPEM(cert)
	if err != nil {
		return err
	}
	if err := WriteFile(certFile, CertChainPEM(cert), 0o644); err != nil {
		return err
	}
	return WriteFile(keyFile, keyPEM, 0o600)
}

// WriteFile writes data to name and sets its mode to perm even when the file
// already existed (os.WriteFile keeps an existing file's mode). Use it with
// 0600 for KeyPEM.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}
