package export

import (
	"bytes"
	"compress/gzip"
	"context"
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
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
)

// Defaults of Config.
const (
	DefaultInterval   = 5 * time.Minute
	DefaultTrail      = "iamdb"
	DefaultHomeRegion = "us-east-1"
)

// File names in Config.StateDir.
const (
	KeyFile   = "export-key.pem"
	StateFile = "export-state.json"
)

// Config configures an Exporter.
type Config struct {
	// Dir is the export directory, the "bucket" (required; created if needed).
	Dir string
	// StateDir holds the signing key and the position (required; created if needed).
	// It must not be readable by those who can read the export.
	StateDir string
	// Bucket is digestS3Bucket and s3Bucket; if empty, the base name of Dir.
	Bucket string
	// Trail is the trail name in digest file names; if empty, "iamdb".
	Trail string
	// HomeRegion is the trail's home region in digest file names, and the region of
	// events that have none; if empty, "us-east-1".
	HomeRegion string
	// Interval is the delivery interval of log files; if zero, 5 minutes.
	Interval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of randomness (file names, key generation); nil means
	// crypto/rand.
	Rand io.Reader
}

// Exporter delivers the audit trail into Config.Dir (see the package doc). One Run at a
// time; Flush may be called concurrently with it. One Exporter (one process) per
// StateDir.
type Exporter struct {
	cfg Config
	key *rsa.PrivateKey
	fp  string

	mu   sync.Mutex
	st   state
	buf  map[string][]json.RawMessage // events read, not yet delivered, by chain key
	size map[string]int               // bytes in buf
	pos  position                     // position after the last event read
	max  int                          // maxFileSize; tests lower it
}

// maxFileSize bounds a log file's uncompressed size: a chain's buffer that grows past it
// is delivered at once, before the interval ends.
const maxFileSize = 64 << 20

// state is StateFile.
type state struct {
	Version  int               `json:"version"`
	Position position          `json:"position"`
	Chains   map[string]*chain `json:"chains"`
}

// position is where the export stands in the journal: the newest eventTime delivered
// and the IDs of the delivered events of that second.
type position struct {
	Time time.Time `json:"time"`
	IDs  []string  `json:"ids"`
}

// chain is the digest chain of one account and region.
type chain struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	// Start is the digestStartTime of the next digest.
	Start time.Time `json:"start"`
	// Prev is the last digest delivered; nil before the first.
	Prev *prevDigest `json:"prev"`
	// Pending are the log files delivered since the last digest.
	Pending []pendingLog `json:"pending"`
}

type prevDigest struct {
	Object    string `json:"object"`
	Hash      string `json:"hash"`
	Signature string `json:"signature"`
}

type pendingLog struct {
	Delivered time.Time `json:"delivered"`
	LogEntry
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+){1,4}$`)
	trailRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{3,128}$`)
)

// Validate checks cfg as New does, without touching the file system.
func (cfg Config) Validate() error {
	_, err := cfg.withDefaults()
	return err
}

// withDefaults validates cfg and fills in its defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Dir == "" || cfg.StateDir == "" {
		return cfg, errors.New("export: Dir and StateDir are required")
	}
	if cfg.Bucket == "" {
		abs, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return cfg, fmt.Errorf("export: %w", err)
		}
		cfg.Bucket = filepath.Base(abs)
	}
	if cfg.Trail == "" {
		cfg.Trail = DefaultTrail
	}
	if !trailRE.MatchString(cfg.Trail) {
		return cfg, fmt.Errorf("export: trail name %q: want 3 to 128 of A-Z a-z 0-9 . _ -", cfg.Trail)
	}
	if cfg.HomeRegion == "" {
		cfg.HomeRegion = DefaultHomeRegion
	}
	if !regionRE.MatchString(cfg.HomeRegion) {
		return cfg, fmt.Errorf("export: bad home region %q", cfg.HomeRegion)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Interval < time.Second || cfg.Interval > time.Hour {
		return cfg, fmt.Errorf("export: interval %v: want 1s to 1h", cfg.Interval)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return cfg, nil
}

// New validates cfg, loads or creates the signing key, writes its public key under
// Dir/public-keys and loads the position.
func New(cfg Config) (*Exporter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, d := range []string{cfg.Dir, filepath.Join(cfg.Dir, "public-keys")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	key, err := loadOrCreateKey(filepath.Join(cfg.StateDir, KeyFile), cfg.Rand)
	if err != nil {
		return nil, err
	}
	x := &Exporter{cfg: cfg, key: key, fp: Fingerprint(&key.PublicKey), buf: map[string][]json.RawMessage{}, size: map[string]int{}, max: maxFileSize}
	pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	if err := writeOnce(filepath.Join(cfg.Dir, "public-keys", x.fp+".pem"), pub, 0o444); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("export: public key: %w", err)
	}
	b, err := readLimited(filepath.Join(cfg.StateDir, StateFile), MaxDigestSize)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &x.st); err != nil {
			return nil, fmt.Errorf("export: state %s: %w", StateFile, err)
		}
		if x.st.Version != 1 {
			return nil, fmt.Errorf("export: state %s: version %d", StateFile, x.st.Version)
		}
	case errors.Is(err, os.ErrNotExist):
		x.st.Version = 1
	default:
		return nil, fmt.Errorf("export: state: %w", err)
	}
	if x.st.Chains == nil {
		x.st.Chains = map[string]*chain{}
	}
	x.pos = x.st.Position
	return x, nil
}

// Fingerprint is the fingerprint of the exporter's public key.
func (x *Exporter) Fingerprint() string { return x.fp }

// PublicKey is the exporter's public key.
func (x *Exporter) PublicKey() *rsa.PublicKey { return &x.key.PublicKey }

// Run exports the events of r, from where the last run stopped, until ctx ends: it
// delivers log files every Interval and the digests of every hour that has ended. When
// ctx ends it delivers what it has read and returns nil; it returns early on an error
// (the position stays at the last delivery, so a new Run continues from there).
func (x *Exporter) Run(ctx context.Context, r audit.Reader) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	x.mu.Lock()
	from := x.st.Position.Time
	x.mu.Unlock()
	scanned := make(chan error, 1)
	go func() {
		scanned <- r.Scan(sctx, from, true, func(e audit.Event) bool {
			return x.add(&e) == nil
		})
	}()
	t := time.NewTicker(x.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := x.Flush(); err != nil {
				cancel()
				<-scanned
				return err
			}
		case err := <-scanned:
			ferr := x.Flush()
			if ctx.Err() != nil && (err == nil || errors.Is(err, ctx.Err())) {
				return ferr
			}
			if err == nil {
				err = errors.New("scan ended")
			}
			return errors.Join(fmt.Errorf("export: read the journal: %w", err), ferr)
		}
	}
}

// add buffers e unless it was delivered before the position.
func (x *Exporter) add(e *audit.Event) error {
	t := e.EventTime.UTC().Truncate(time.Second)
	x.mu.Lock()
	defer x.mu.Unlock()
	if t.Before(x.st.Position.Time) || t.Equal(x.st.Position.Time) && slices.Contains(x.st.Position.IDs, e.EventID) {
		return nil // delivered before a restart
	}
	rec, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("export: encode event %s: %w", e.EventID, err)
	}
	acct := e.RecipientAccountID
	if !accountRE.MatchString(acct) {
		acct = "000000000000"
	}
	region := e.AWSRegion
	if !regionRE.MatchString(region) {
		region = x.cfg.HomeRegion
	}
	k := acct + "/" + region
	x.buf[k] = append(x.buf[k], rec)
	x.size[k] += len(rec) + 1
	switch {
	case t.After(x.pos.Time):
		x.pos = position{Time: t, IDs: []string{e.EventID}}
	case t.Equal(x.pos.Time):
		x.pos.IDs = append(slices.Clip(x.pos.IDs), e.EventID)
	}
	if x.size[k] >= x.max {
		// Deliver now, and record the file in the chain at once: a digest rebuilt after a
		// crash must list the same files as the one delivered before it. The position
		// stays, as other chains' events are still buffered.
		if err := x.deliverBuffered(k, x.cfg.Now().UTC()); err != nil {
			return err
		}
		return x.save()
	}
	return nil
}

// deliverBuffered delivers the events buffered for chain key k, starting the chain if
// it is new.
func (x *Exporter) deliverBuffered(k string, now time.Time) error {
	c := x.st.Chains[k]
	if c == nil {
		acct, region, _ := strings.Cut(k, "/")
		c = &chain{Account: acct, Region: region, Start: now.Truncate(time.Hour)}
		x.st.Chains[k] = c
	}
	if err := x.deliver(c, x.buf[k], now); err != nil {
		return err
	}
	delete(x.buf, k)
	delete(x.size, k)
	return nil
}

// Flush delivers the digests of the hours that have ended and a log file for every
// account and region with events read since the last delivery, then saves the position.
// Run calls it every Interval.
func (x *Exporter) Flush() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	now := x.cfg.Now().UTC()
	keys := make([]string, 0, len(x.st.Chains))
	for k := range x.st.Chains {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := x.digests(x.st.Chains[k], now); err != nil {
			return err
		}
	}
	keys = keys[:0]
	for k := range x.buf {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := x.deliverBuffered(k, now); err != nil {
			return err
		}
	}
	x.st.Position = x.pos
	return x.save()
}

// save writes the state atomically.
func (x *Exporter) save() error {
	b, err := json.Marshal(&x.st)
	if err != nil {
		return fmt.Errorf("export: state: %w", err)
	}
	if err := writeAtomic(filepath.Join(x.cfg.StateDir, StateFile), b, 0o600); err != nil {
		return fmt.Errorf("export: state: %w", err)
	}
	return nil
}

const randChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// deliver writes one log file of c's events recs.
func (x *Exporter) deliver(c *chain, recs []json.RawMessage, now time.Time) error {
	var raw bytes.Buffer
	raw.WriteString(`{"Records":[`)
	entry := LogEntry{S3Bucket: x.cfg.Bucket, HashAlgorithm: HashAlgorithm}
	var oldest, newest time.Time
	for i, rec := range recs {
		if i > 0 {
			raw.WriteByte(',')
		}
		raw.Write(rec)
		sum := sha256.Sum256(rec)
		entry.EventHashValues = append(entry.EventHashValues, hex.EncodeToString(sum[:]))
		var e struct{ EventTime audit.Time }
		if err := json.Unmarshal(rec, &e); err != nil {
			return fmt.Errorf("export: event time: %w", err)
		}
		if i == 0 || e.EventTime.Before(oldest) {
			oldest = e.EventTime.Time
		}
		if i == 0 || e.EventTime.After(newest) {
			newest = e.EventTime.Time
		}
	}
	raw.WriteString("]}")
	sum := sha256.Sum256(raw.Bytes())
	entry.HashValue = hex.EncodeToString(sum[:])
	entry.OldestEventTime = oldest.UTC().Format(audit.TimeFormat)
	entry.NewestEventTime = newest.UTC().Format(audit.TimeFormat)
	var rnd [16]byte
	if _, err := io.ReadFull(x.cfg.Rand, rnd[:]); err != nil {
		return fmt.Errorf("export: random: %w", err)
	}
	for i, b := range rnd {
		rnd[i] = randChars[int(b)%len(randChars)]
	}
	entry.S3Object = path.Join("AWSLogs", c.Account, "CloudTrail", c.Region, now.Format("2006/01/02"),
		fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", c.Account, c.Region, now.Format("20060102T1504Z"), rnd[:]))
	gz, err := gzipBytes(raw.Bytes())
	if err != nil {
		return err
	}
	if err := writeOnce(filepath.Join(x.cfg.Dir, filepath.FromSlash(entry.S3Object)), gz, 0o444); err != nil {
		return fmt.Errorf("export: deliver %s: %w", entry.S3Object, err)
	}
	c.Pending = append(c.Pending, pendingLog{Delivered: now, LogEntry: entry})
	return nil
}

// digests delivers c's digests of the hours that ended by now.
func (x *Exporter) digests(c *chain, now time.Time) error {
	for {
		end := c.Start.Truncate(time.Hour).Add(time.Hour)
		if end.After(now) {
			return nil
		}
		d := &Digest{
			AWSAccountID:               c.Account,
			DigestStartTime:            c.Start.Format(audit.TimeFormat),
			DigestEndTime:              end.Format(audit.TimeFormat),
			DigestS3Bucket:             x.cfg.Bucket,
			DigestPublicKeyFingerprint: x.fp,
			DigestSignatureAlgorithm:   SignatureAlgorithm,
			LogFiles:                   []LogEntry{},
		}
		d.DigestS3Object = path.Join("AWSLogs", c.Account, "CloudTrail-Digest", c.Region, end.Format("2006/01/02"),
			fmt.Sprintf("%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz", c.Account, c.Region, x.cfg.Trail, x.cfg.HomeRegion,
				end.Format("20060102T150405Z")))
		var oldest, newest string
		n := 0
		for _, l := range c.Pending {
			if !l.Delivered.Before(end) {
				break
			}
			n++
			d.LogFiles = append(d.LogFiles, l.LogEntry)
			if oldest == "" || l.OldestEventTime < oldest {
				oldest = l.OldestEventTime
			}
			if l.NewestEventTime > newest {
				newest = l.NewestEventTime
			}
		}
		if n > 0 {
			d.OldestEventTime, d.NewestEventTime = &oldest, &newest
		}
		if p := c.Prev; p != nil {
			bucket, algo := x.cfg.Bucket, HashAlgorithm
			d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = &bucket, &p.Object
			d.PreviousDigestHashValue, d.PreviousDigestHashAlgo = &p.Hash, &algo
			d.PreviousDigestSignature = &p.Signature
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("export: digest: %w", err)
		}
		sig, err := sign(x.key, d, raw)
		if err != nil {
			return err
		}
		sigJSON, err := json.Marshal(sigFile{Signature: sig, SignatureAlgorithm: SignatureAlgorithm})
		if err != nil {
			return fmt.Errorf("export: digest: %w", err)
		}
		file := filepath.Join(x.cfg.Dir, filepath.FromSlash(d.DigestS3Object))
		if err := writeOnce(file+".sig", sigJSON, 0o444); err != nil && !sameFile(err, file+".sig", sigJSON, false) {
			return fmt.Errorf("export: deliver %s.sig: %w", d.DigestS3Object, err)
		}
		gz, err := gzipBytes(raw)
		if err != nil {
			return err
		}
		if err := writeOnce(file, gz, 0o444); err != nil && !sameFile(err, file, raw, true) {
			return fmt.Errorf("export: deliver %s: %w", d.DigestS3Object, err)
		}
		sum := sha256.Sum256(raw)
		c.Prev = &prevDigest{Object: d.DigestS3Object, Hash: hex.EncodeToString(sum[:]), Signature: sig}
		c.Pending = c.Pending[n:]
		c.Start = end
	}
}

// sameFile reports whether err says that file exists and file holds want (gunzipped if
// gz): a digest delivered before a crash that the state did not record.
func sameFile(err error, file string, want []byte, gz bool) bool {
	if !errors.Is(err, os.ErrExist) {
		return false
	}
	b, rerr := readLimited(file, MaxDigestSize)
	if rerr == nil && gz {
		b, rerr = gunzip(b, MaxDigestSize)
	}
	return rerr == nil && bytes.Equal(b, want)
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		return nil, fmt.Errorf("export: gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("export: gzip: %w", err)
	}
	return buf.Bytes(), nil
}

// gunzip decompresses b, refusing more than max bytes.
func gunzip(b []byte, max int64) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > max {
		return nil, fmt.Errorf("larger than %d bytes uncompressed", max)
	}
	return out, nil
}

// writeOnce creates file with b and mode; it never replaces an existing file (the error
// is then os.ErrExist).
func writeOnce(file string, b []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return writeSynced(file, ".tmp-*", b, mode, os.Link)
}
