package export

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
)

// Algorithm names of the digest.
const (
	SignatureAlgorithm = "SHA256withRSA"
	HashAlgorithm      = "SHA-256"
)

// Bounds of what VerifyDir and ParseDigest read.
const (
	// MaxDigestSize bounds an uncompressed digest file (some 3 million events an hour
	// in one account and region).
	MaxDigestSize = 256 << 20
	// MaxLogSize bounds an uncompressed log file (the exporter writes at most 64 MiB).
	MaxLogSize = 256 << 20
	maxSigSize = 64 << 10
	maxKeySize = 64 << 10
)

// Digest is a CloudTrail digest file. Previous* are nil in the first digest of a chain.
type Digest struct {
	AWSAccountID               string     `json:"awsAccountId"`
	DigestStartTime            string     `json:"digestStartTime"`
	DigestEndTime              string     `json:"digestEndTime"`
	DigestS3Bucket             string     `json:"digestS3Bucket"`
	DigestS3Object             string     `json:"digestS3Object"`
	DigestPublicKeyFingerprint string     `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm   string     `json:"digestSignatureAlgorithm"`
	NewestEventTime            *string    `json:"newestEventTime"`
	OldestEventTime            *string    `json:"oldestEventTime"`
	PreviousDigestS3Bucket     *string    `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object     *string    `json:"previousDigestS3Object"`
	PreviousDigestHashValue    *string    `json:"previousDigestHashValue"`
	PreviousDigestHashAlgo     *string    `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature    *string    `json:"previousDigestSignature"`
	LogFiles                   []LogEntry `json:"logFiles"`
}

// LogEntry is one element of a digest's logFiles. EventHashValues is iamdb's extension
// (see the package doc).
type LogEntry struct {
	S3Bucket        string   `json:"s3Bucket"`
	S3Object        string   `json:"s3Object"`
	HashValue       string   `json:"hashValue"`
	HashAlgorithm   string   `json:"hashAlgorithm"`
	NewestEventTime string   `json:"newestEventTime"`
	OldestEventTime string   `json:"oldestEventTime"`
	EventHashValues []string `json:"eventHashValues,omitempty"`
}

// sigFile is the sidecar <digest>.sig.
type sigFile struct {
	Signature          string `json:"signature"`
	SignatureAlgorithm string `json:"signatureAlgorithm"`
}

var (
	errFormat = errors.New("export: invalid digest format")
)

// ParseDigest decodes an uncompressed digest file and checks that it is well formed:
// the required fields are present, times are CloudTrail times, the algorithms are
// SHA256withRSA and SHA-256, hashes are hex SHA-256 and every object is a clean
// relative path.
func ParseDigest(b []byte) (*Digest, error) {
	if len(b) > MaxDigestSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", errFormat, len(b), MaxDigestSize)
	}
	var d Digest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %v", errFormat, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the object", errFormat)
	}
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", errFormat, err)
	}
	return &d, nil
}

func (d *Digest) check() error {
	if d.DigestS3Bucket == "" || d.DigestPublicKeyFingerprint == "" {
		return errors.New("digestS3Bucket or digestPublicKeyFingerprint missing")
	}
	if !cleanObject(d.DigestS3Object) {
		return fmt.Errorf("bad digestS3Object %q", d.DigestS3Object)
	}
	if d.DigestSignatureAlgorithm != SignatureAlgorithm {
		return fmt.Errorf("unknown digestSignatureAlgorithm %q", d.DigestSignatureAlgorithm)
	}
	start, err := parseTime(d.DigestStartTime)
	if err != nil {
		return fmt.Errorf("digestStartTime: %v", err)
	}
	end, err := parseTime(d.DigestEndTime)
	if err != nil {
		return fmt.Errorf("digestEndTime: %v", err)
	}
	if end.Before(start) {
		return errors.New("digestEndTime before digestStartTime")
	}
	for _, t := range []*string{d.NewestEventTime, d.OldestEventTime} {
		if t != nil {
			if _, err := parseTime(*t); err != nil {
				return fmt.Errorf("event time: %v", err)
			}
		}
	}
	prev := []*string{d.PreviousDigestS3Bucket, d.PreviousDigestS3Object, d.PreviousDigestHashValue,
		d.PreviousDigestHashAlgo, d.PreviousDigestSignature}
	n := 0
	for _, p := range prev {
		if p != nil {
			n++
		}
	}
	switch n {
	case 0:
	case len(prev):
		if !cleanObject(*d.PreviousDigestS3Object) || !isHash(*d.PreviousDigestHashValue) ||
			*d.PreviousDigestHashAlgo != HashAlgorithm || !isHex(*d.PreviousDigestSignature) {
			return errors.New("bad previous digest fields")
		}
	default:
		return errors.New("previous digest fields partly null")
	}
	for i, l := range d.LogFiles {
		if !cleanObject(l.S3Object) || !isHash(l.HashValue) || l.HashAlgorithm != HashAlgorithm {
			return fmt.Errorf("logFiles[%d]: bad object, hash or algorithm", i)
		}
		if _, err := parseTime(l.NewestEventTime); err != nil {
			return fmt.Errorf("logFiles[%d].newestEventTime: %v", i, err)
		}
		if _, err := parseTime(l.OldestEventTime); err != nil {
			return fmt.Errorf("logFiles[%d].oldestEventTime: %v", i, err)
		}
		for _, h := range l.EventHashValues {
			if !isHash(h) {
				return fmt.Errorf("logFiles[%d]: bad eventHashValues", i)
			}
		}
	}
	return nil
}

// parseTime parses a CloudTrail time (audit.TimeFormat).
func parseTime(s string) (time.Time, error) {
	return time.Parse(audit.TimeFormat, s)
}

// cleanObject reports whether o is a clean relative slash path that stays below the
// export directory.
func cleanObject(o string) bool {
	return o != "" && len(o) <= 1024 && !strings.HasPrefix(o, "/") && path.Clean(o) == o &&
		o != ".." && !strings.HasPrefix(o, "../") && !strings.ContainsAny(o, "\\\x00")
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && s != "" && len(s) <= 4096
}

func isHash(s string) bool { return len(s) == 2*sha256.Size && isHex(s) }

// signedString is CloudTrail's string to sign for a digest whose uncompressed content
// is raw.
func signedString(d *Digest, raw []byte) string {
	sum := sha256.Sum256(raw)
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	return d.DigestEndTime + "\n" + d.DigestS3Bucket + "/" + d.DigestS3Object + "\n" +
		hex.EncodeToString(sum[:]) + "\n" + prev
}

func sign(key *rsa.PrivateKey, d *Digest, raw []byte) (string, error) {
	h := sha256.Sum256([]byte(signedString(d, raw)))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	if err != nil {
		return "", fmt.Errorf("export: sign digest: %w", err)
	}
	return hex.EncodeToString(sig), nil
}

func verifySignature(pub *rsa.PublicKey, d *Digest, raw []byte, sigHex string) error {
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return err
	}
	h := sha256.Sum256([]byte(signedString(d, raw)))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
}

// Fingerprint is the key's digestPublicKeyFingerprint: the hex SHA-256 of its DER
// PKCS #1 RSAPublicKey.
func Fingerprint(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(x509.MarshalPKCS1PublicKey(pub))
	return hex.EncodeToString(sum[:])
}

// Keys are public keys by fingerprint.
type Keys map[string]*rsa.PublicKey

// Add adds pub under its fingerprint.
func (k Keys) Add(pub *rsa.PublicKey) { k[Fingerprint(pub)] = pub }

// ReadPublicKey reads a PEM public key ("RSA PUBLIC KEY", PKCS #1, or "PUBLIC KEY",
// PKIX).
func ReadPublicKey(file string) (*rsa.PublicKey, error) {
	b, err := readLimited(file, maxKeySize)
	if err != nil {
		return nil, fmt.Errorf("export: public key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("export: public key %s: no PEM block", file)
	}
	switch blk.Type {
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("export: public key %s: %w", file, err)
		}
		return pub, nil
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("export: public key %s: %w", file, err)
		}
		pub, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("export: public key %s: not RSA", file)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("export: public key %s: PEM type %q", file, blk.Type)
}

// ReadPublicKeys reads every public-keys/*.pem of an export directory. Use it only on a
// trusted copy of the keys (see the package doc).
func ReadPublicKeys(dir string) (Keys, error) {
	files, err := filepath.Glob(filepath.Join(dir, "public-keys", "*.pem"))
	if err != nil {
		return nil, fmt.Errorf("export: public keys: %w", err)
	}
	keys := Keys{}
	for _, f := range files {
		pub, err := ReadPublicKey(f)
		if err != nil {
			return nil, err
		}
		keys.Add(pub)
	}
	return keys, nil
}

// loadOrCreateKey reads the RSA private key of file or creates it (0600).
func loadOrCreateKey(file string, random io.Reader) (*rsa.PrivateKey, error) {
	b, err := readLimited(file, maxKeySize)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "RSA PRIVATE KEY" {
			return nil, fmt.Errorf("export: signing key %s: not a PEM RSA PRIVATE KEY", file)
		}
		key, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("export: signing key %s: %w", file, err)
		}
		if key.N.BitLen() < 2048 {
			return nil, fmt.Errorf("export: signing key %s: %d bits, fewer than 2048", file, key.N.BitLen())
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("export: signing key: %w", err)
	}
	if random == nil {
		random = rand.Reader
	}
	key, err := rsa.GenerateKey(random, 3072)
	if err != nil {
		return nil, fmt.Errorf("export: generate signing key: %w", err)
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	if err := writeAtomic(file, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("export: signing key: %w", err)
	}
	return key, nil
}

// readLimited reads file, refusing more than max bytes.
func readLimited(file string, max int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, max)
	}
	return b, nil
}

// writeAtomic writes b to file through a temporary file, fsync and rename.
func writeAtomic(file string, b []byte, mode os.FileMode) error {
	return writeSynced(file, ".tmp-"+filepath.Base(file)+"-*", b, mode, os.Rename)
}

// writeSynced writes b with mode to a temporary file (named by pattern, as
// os.CreateTemp) in file's directory, fsyncs it, puts it at file with publish (os.Rename
// replaces, os.Link never does), and fsyncs the directory. The temporary file is removed.
func writeSynced(file, pattern string, b []byte, mode os.FileMode, publish func(tmp, file string) error) error {
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := publish(tmp.Name(), file); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
