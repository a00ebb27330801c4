package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/audit/audittest"
)

// synctest's clock starts at 2000-01-01T00:00:00Z.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// testEvents are n events, one every 36 s from 00:02, in two accounts and two regions.
func testEvents(n int) []audit.Event {
	var evs []audit.Event
	names := []string{"CreateUser", "GetUser", "AssumeRole", "connect"}
	for i := range n {
		acct, region := "111111111111", "us-east-1"
		if i%3 == 1 {
			acct = "222222222222"
		}
		if i%5 == 4 {
			region = "eu-west-1"
		}
		evs = append(evs, audit.Event{
			EventVersion: audit.EventVersion,
			UserIdentity: audit.UserIdentity{Type: "IAMUser", AccountID: acct, UserName: fmt.Sprintf("user%d", i%7)},
			EventTime:    audit.Time{Time: epoch.Add(2*time.Minute + time.Duration(i)*36*time.Second)},
			EventSource:  audit.SourceIAM, EventName: names[i%len(names)], AWSRegion: region,
			SourceIPAddress: "127.0.0.1", EventID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			EventType: audit.TypeAPICall, ManagementEvent: true, RecipientAccountID: acct,
			EventCategory: audit.CategoryManage,
		})
	}
	return evs
}

// runExporter runs an Exporter over evs in a synctest bubble, stopping at each of stops
// (offsets from the epoch) and starting a new Exporter on the same directories after
// each but the last (a restart).
func runExporter(t *testing.T, dir, stateDir string, evs []audit.Event, stops ...time.Duration) Keys {
	t.Helper()
	keys := Keys{}
	synctest.Test(t, func(t *testing.T) {
		j := audittest.LiveJournal(t, evs)
		for _, stop := range stops {
			x, err := New(Config{Dir: dir, StateDir: stateDir})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			keys.Add(x.PublicKey())
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- x.Run(ctx, j) }()
			time.Sleep(epoch.Add(stop).Sub(time.Now()))
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
		}
	})
	return keys
}

// fixture is one export of 300 events over three hours, made once and copied by tests.
var fixture struct {
	once      sync.Once
	dir, keys string
	pub       Keys
	err       error
}

const fixtureEvents = 300

// exported returns a fresh copy of the fixture export and the keys that verify it.
func exported(t *testing.T) (string, Keys) {
	t.Helper()
	fixture.once.Do(func() {
		base, err := os.MkdirTemp("", "iamdb-export-test-")
		if err != nil {
			fixture.err = err
			return
		}
		fixture.dir, fixture.keys = filepath.Join(base, "trail-bucket"), filepath.Join(base, "state")
		fixture.pub = runExporter(t, fixture.dir, fixture.keys, testEvents(fixtureEvents), 5*time.Hour+10*time.Minute)
		if t.Failed() {
			fixture.err = errors.New("the fixture export failed")
		}
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	dir := filepath.Join(t.TempDir(), "trail-bucket")
	if err := copyDir(fixture.dir, dir); err != nil {
		t.Fatal(err)
	}
	return dir, fixture.pub
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(filepath.Dir(fixture.dir))
	}
	os.Exit(code)
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}

// files lists the files under dir/AWSLogs whose relative path contains part.
func files(t *testing.T, dir, part string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(dir, "AWSLogs"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.Contains(p, part) && strings.HasSuffix(p, ".json.gz") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(out)
	return out
}

func readGz(t *testing.T, dir, object string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(object)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := gunzip(b, MaxLogSize)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func writeGz(t *testing.T, dir, object string, raw []byte) {
	t.Helper()
	gz, err := gzipBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(object)), gz, 0o644); err != nil {
		t.Fatal(err)
	}
}

// remove removes object from dir and returns it.
func remove(t *testing.T, dir, object string) string {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, object)); err != nil {
		t.Fatal(err)
	}
	return object
}

func records(t *testing.T, raw []byte) []json.RawMessage {
	t.Helper()
	var f struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f.Records
}

func TestExportLayoutAndVerify(t *testing.T) {
	dir, keys := exported(t)
	logs := files(t, dir, "/CloudTrail/")
	digests := files(t, dir, "/CloudTrail-Digest/")
	// 4 chains (2 accounts × 2 regions), digests ending 01:00 … 05:00.
	if len(digests) != 4*5 {
		t.Errorf("%d digests, want 20: %v", len(digests), digests)
	}
	n := 0
	for _, l := range logs {
		base := path.Base(l)
		acct, region := strings.Split(l, "/")[1], strings.Split(l, "/")[3]
		want := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/2000/01/01/%s_CloudTrail_%s_20000101T", acct, region, acct, region)
		if !strings.HasPrefix(l, want) || len(base) != len(acct+"_CloudTrail_"+region+"_20000101T0000Z_")+16+len(".json.gz") {
			t.Errorf("log file %s: want %s…Z_<16>.json.gz", l, want)
		}
		for _, r := range records(t, readGz(t, dir, l)) {
			var e audit.Event
			if err := json.Unmarshal(r, &e); err != nil {
				t.Fatal(err)
			}
			if e.RecipientAccountID != acct || e.AWSRegion != region {
				t.Errorf("event %s (%s, %s) in %s", e.EventID, e.RecipientAccountID, e.AWSRegion, l)
			}
			n++
		}
	}
	if n != fixtureEvents {
		t.Errorf("%d records exported, want %d", n, fixtureEvents)
	}
	// The first digest of a chain has null previous*, an idle hour has logFiles [].
	first := "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2000/01/01/111111111111_CloudTrail-Digest_us-east-1_iamdb_us-east-1_20000101T010000Z.json.gz"
	raw := string(readGz(t, dir, first))
	for _, want := range []string{`"previousDigestSignature":null`, `"digestStartTime":"2000-01-01T00:00:00Z"`,
		`"digestEndTime":"2000-01-01T01:00:00Z"`, `"digestS3Bucket":"trail-bucket"`, `"digestS3Object":"` + first + `"`,
		`"digestSignatureAlgorithm":"SHA256withRSA"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("first digest lacks %s: %s", want, raw)
		}
	}
	idle := strings.Replace(first, "20000101T010000Z", "20000101T050000Z", 1)
	if raw := string(readGz(t, dir, idle)); !strings.Contains(raw, `"logFiles":[]`) || !strings.Contains(raw, `"newestEventTime":null`) {
		t.Errorf("idle digest: %s", raw)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(first)+".sig")); err != nil {
		t.Errorf("signature sidecar: %v", err)
	}
	rep := VerifyDir(dir, keys, time.Time{}, time.Time{})
	if !rep.Valid() || len(rep.Digests) != 20 || len(rep.Logs) != len(logs) {
		t.Fatalf("VerifyDir: valid %v, %d digests, %d logs (want 20, %d): %+v", rep.Valid(), len(rep.Digests), len(rep.Logs), len(logs), rep)
	}
	// The keys written beside the export are the signer's.
	dirKeys, err := ReadPublicKeys(dir)
	if err != nil || len(dirKeys) != 1 || dirKeys[keysFingerprint(keys)] == nil {
		t.Errorf("ReadPublicKeys = %v, %v", dirKeys, err)
	}
	// A time range checks fewer digests.
	rep = VerifyDir(dir, keys, epoch.Add(2*time.Hour+30*time.Minute), epoch.Add(3*time.Hour+30*time.Minute))
	// [02:00, 03:00) and [03:00, 04:00) in each of the 4 chains, and the successor
	// [04:00, 05:00) that names the last of them.
	if !rep.Valid() || len(rep.Digests) != 4*3 {
		t.Errorf("VerifyDir(02:30, 03:30): valid %v, %d digests, want 12", rep.Valid(), len(rep.Digests))
	}
}

func keysFingerprint(k Keys) string {
	for fp := range k {
		return fp
	}
	return ""
}

func TestDeliveredFilesAreReadOnly(t *testing.T) {
	exported(t)
	pubs, _ := filepath.Glob(filepath.Join(fixture.dir, "public-keys", "*.pem"))
	for _, f := range append(files(t, fixture.dir, "/CloudTrail"), pubs...) {
		if !filepath.IsAbs(f) {
			f = filepath.Join(fixture.dir, f)
		}
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o444 {
			t.Errorf("%s: %v, %v; want 0444", f, fi.Mode(), err)
		}
	}
	fi, err := os.Stat(filepath.Join(fixture.keys, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key: %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestRestartContinues(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir, state := filepath.Join(base, "out"), filepath.Join(base, "state")
	evs := testEvents(200)
	keys := runExporter(t, dir, state, evs, 90*time.Minute, 4*time.Hour+5*time.Minute)
	if len(keys) != 1 {
		t.Fatalf("%d keys after a restart, want 1", len(keys))
	}
	rep := VerifyDir(dir, keys, time.Time{}, time.Time{})
	if !rep.Valid() {
		t.Fatalf("VerifyDir after a restart: %+v", rep)
	}
	n, ids := 0, map[string]bool{}
	for _, l := range files(t, dir, "/CloudTrail/") {
		for _, r := range records(t, readGz(t, dir, l)) {
			var e audit.Event
			json.Unmarshal(r, &e)
			ids[e.EventID] = true
			n++
		}
	}
	if n != len(evs) || len(ids) != len(evs) {
		t.Errorf("%d records, %d distinct, want %d", n, len(ids), len(evs))
	}
	firsts := 0
	for _, d := range files(t, dir, "/CloudTrail-Digest/") {
		if strings.Contains(string(readGz(t, dir, d)), `"previousDigestS3Object":null`) {
			firsts++
		}
	}
	if firsts != 4 {
		t.Errorf("%d chain starts, want 4 (one per chain: the restart continues them)", firsts)
	}
}

// A crash after a digest's delivery and before the state recorded it: the digest rebuilt
// after the restart is the same, accepted as delivered, and the chain goes on.
func TestCrashAfterDigest(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir, state := filepath.Join(base, "out"), filepath.Join(base, "state")
	stateFile := filepath.Join(state, StateFile)
	evs := testEvents(150)
	var saved []byte
	var keys Keys
	synctest.Test(t, func(t *testing.T) {
		j := audittest.LiveJournal(t, evs)
		run := func(until time.Duration) {
			x, err := New(Config{Dir: dir, StateDir: state})
			if err != nil {
				t.Fatal(err)
			}
			keys = Keys{x.Fingerprint(): x.PublicKey()}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- x.Run(ctx, j) }()
			time.Sleep(epoch.Add(until).Sub(time.Now()))
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run until %v: %v", until, err)
			}
		}
		run(59 * time.Minute)
		var err error
		if saved, err = os.ReadFile(stateFile); err != nil {
			t.Fatal(err)
		}
		run(70 * time.Minute) // delivers the digests of hour 1
		if len(files(t, dir, "/CloudTrail-Digest/")) == 0 {
			t.Fatal("no digest delivered")
		}
		if err := os.WriteFile(stateFile, saved, 0o600); err != nil { // "crash"
			t.Fatal(err)
		}
		run(3*time.Hour + 10*time.Minute)
	})
	if rep := VerifyDir(dir, keys, time.Time{}, time.Time{}); !rep.Valid() || len(rep.Digests) != 4*3 {
		t.Errorf("VerifyDir after a crash: valid %v, %d digests, want 12: %+v", rep.Valid(), len(rep.Digests), rep.Digests)
	}
}

// A chain's buffer past the size bound is delivered before the interval ends.
func TestLargeBufferDeliveredEarly(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir := filepath.Join(base, "out")
	evs := testEvents(40)[:40:40]
	for i := range evs {
		evs[i].RecipientAccountID, evs[i].AWSRegion = "111111111111", "us-east-1"
		evs[i].EventTime.Time = epoch.Add(time.Duration(i) * time.Second) // all within one interval
	}
	synctest.Test(t, func(t *testing.T) {
		j := audittest.LiveJournal(t, evs)
		x, err := New(Config{Dir: dir, StateDir: filepath.Join(base, "state")})
		if err != nil {
			t.Fatal(err)
		}
		x.max = 4000 // about 10 records
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- x.Run(ctx, j) }()
		time.Sleep(time.Minute) // every event read, no interval ended
		synctest.Wait()
		if n := len(files(t, dir, "/CloudTrail/")); n < 3 {
			t.Errorf("%d log files delivered before the interval ended, want several", n)
		}
		time.Sleep(time.Hour)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if rep := VerifyDir(dir, Keys{x.Fingerprint(): x.PublicKey()}, time.Time{}, time.Time{}); !rep.Valid() || len(rep.Logs) < 3 {
			t.Errorf("VerifyDir: valid %v, %d logs", rep.Valid(), len(rep.Logs))
		}
	})
}

// status returns the verdict on object in rep.
func status(rep Report, object string) (Result, bool) {
	for _, r := range append(slices.Clone(rep.Digests), rep.Logs...) {
		if r.Object == object {
			return r, true
		}
	}
	return Result{}, false
}

func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	const chainDir = "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2000/01/01/"
	const digest2 = chainDir + "111111111111_CloudTrail-Digest_us-east-1_iamdb_us-east-1_20000101T020000Z.json.gz"
	tests := []struct {
		name string
		// tamper changes dir and returns the object whose status to check.
		tamper     func(t *testing.T, dir string) string
		wantStatus string
		wantDetail string
	}{{
		name: "edited event",
		tamper: func(t *testing.T, dir string) string {
			l := files(t, dir, "111111111111/CloudTrail/us-east-1")[2]
			raw := readGz(t, dir, l)
			edited := bytes.Replace(raw, []byte(`"userName":"user`), []byte(`"userName":"mallory`), 1)
			if bytes.Equal(raw, edited) {
				t.Fatal("nothing to edit")
			}
			writeGz(t, dir, l, edited)
			return l
		},
		wantStatus: "INVALID: hash value doesn't match", wantDetail: "edited: event 1 of",
	}, {
		name: "removed log file",
		tamper: func(t *testing.T, dir string) string {
			return remove(t, dir, files(t, dir, "222222222222/CloudTrail/us-east-1")[3])
		},
		wantStatus: "INVALID: not found", wantDetail: "removed: ",
	}, {
		name:       "removed digest",
		tamper:     func(t *testing.T, dir string) string { return remove(t, dir, digest2) },
		wantStatus: "INVALID: not found", wantDetail: "named as the previous digest by",
	}, {
		name: "log files swapped",
		tamper: func(t *testing.T, dir string) string {
			ls := files(t, dir, "111111111111/CloudTrail/us-east-1")
			a, b := filepath.Join(dir, ls[1]), filepath.Join(dir, ls[4])
			tmp := a + ".tmp"
			for _, mv := range [][2]string{{a, tmp}, {b, a}, {tmp, b}} {
				if err := os.Rename(mv[0], mv[1]); err != nil {
					t.Fatal(err)
				}
			}
			return ls[1]
		},
		wantStatus: "INVALID: hash value doesn't match", wantDetail: "swapped: it holds the content of",
	}, {
		name: "events reordered",
		tamper: func(t *testing.T, dir string) string {
			l := files(t, dir, "111111111111/CloudTrail/us-east-1")[5]
			recs := records(t, readGz(t, dir, l))
			if len(recs) < 2 {
				t.Fatal("too few records to reorder")
			}
			recs[0], recs[1] = recs[1], recs[0]
			raw, _ := json.Marshal(map[string]any{"Records": recs})
			writeGz(t, dir, l, raw)
			return l
		},
		wantStatus: "INVALID: hash value doesn't match", wantDetail: "reordered: the same",
	}, {
		name: "digest edited",
		tamper: func(t *testing.T, dir string) string {
			raw := readGz(t, dir, digest2)
			edited := bytes.Replace(raw, []byte(`"digestStartTime":"2000-01-01T01:00:00Z"`), []byte(`"digestStartTime":"2000-01-01T01:30:00Z"`), 1)
			if bytes.Equal(raw, edited) {
				t.Fatal("nothing to edit")
			}
			writeGz(t, dir, digest2, edited)
			return digest2
		},
		wantStatus: "INVALID: signature verification failed",
	}, {
		name: "signature edited",
		tamper: func(t *testing.T, dir string) string {
			f := filepath.Join(dir, digest2+".sig")
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(b, []byte(`"signature":"`)) + len(`"signature":"`)
			if b[i] == '0' {
				b[i] = '1'
			} else {
				b[i] = '0'
			}
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return digest2
		},
		wantStatus: "INVALID: signature verification failed",
	}, {
		name: "log file moved to another day",
		tamper: func(t *testing.T, dir string) string {
			l := files(t, dir, "111111111111/CloudTrail/eu-west-1")[0]
			to := filepath.Join(dir, strings.Replace(l, "/2000/01/01/", "/2000/01/02/", 1))
			os.MkdirAll(filepath.Dir(to), 0o755)
			if err := os.Rename(filepath.Join(dir, l), to); err != nil {
				t.Fatal(err)
			}
			return l
		},
		wantStatus: "INVALID: not found", wantDetail: "moved: a file of the same name is at AWSLogs/111111111111/CloudTrail/eu-west-1/2000/01/02/",
	}, {
		name: "digest moved to another day",
		tamper: func(t *testing.T, dir string) string {
			moved := strings.Replace(digest2, "/01/01/", "/01/02/", 1)
			os.MkdirAll(filepath.Join(dir, path.Dir(moved)), 0o755)
			for _, ext := range []string{"", ".sig"} {
				if err := os.Rename(filepath.Join(dir, digest2+ext), filepath.Join(dir, moved+ext)); err != nil {
					t.Fatal(err)
				}
			}
			return moved
		},
		wantStatus: "INVALID: has been moved from its original location",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, keys := exported(t)
			object := tt.tamper(t, dir)
			rep := VerifyDir(dir, keys, time.Time{}, time.Time{})
			if rep.Valid() {
				t.Fatalf("VerifyDir after %s: valid", tt.name)
			}
			r, ok := status(rep, object)
			if !ok || r.Status != tt.wantStatus {
				t.Fatalf("%s: %q (found %v), want %q", object, r.Status, ok, tt.wantStatus)
			}
			if !slices.ContainsFunc(r.Details, func(d string) bool { return strings.Contains(d, tt.wantDetail) }) {
				t.Errorf("%s details %q, want one containing %q", object, r.Details, tt.wantDetail)
			}
			bad := 0
			for _, r := range append(slices.Clone(rep.Digests), rep.Logs...) {
				if !r.Valid() {
					bad++
				}
			}
			if bad > 3 {
				t.Errorf("%d files invalid, want only the tampered ones: %+v", bad, rep)
			}
		})
	}
}

func TestVerifyWrongKey(t *testing.T) {
	t.Parallel()
	dir, _ := exported(t)
	rep := VerifyDir(dir, Keys{}, time.Time{}, time.Time{})
	if rep.Valid() || len(rep.Digests) == 0 || !strings.HasPrefix(rep.Digests[0].Status, "INVALID: public key not found for fingerprint ") {
		t.Errorf("VerifyDir without keys: %+v", rep.Digests)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	for _, cfg := range []Config{
		{},
		{Dir: d},
		{Dir: d, StateDir: d, Trail: "a/b"},
		{Dir: d, StateDir: d, HomeRegion: "../x"},
		{Dir: d, StateDir: d, Interval: time.Millisecond},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

func TestParseDigest(t *testing.T) {
	t.Parallel()
	dir, _ := exported(t)
	good := readGz(t, dir, files(t, dir, "/CloudTrail-Digest/")[0])
	if _, err := ParseDigest(good); err != nil {
		t.Fatalf("ParseDigest(exported) = %v", err)
	}
	for _, bad := range []string{
		"", "{}", "[]", string(good) + "{}",
		strings.Replace(string(good), `"digestSignatureAlgorithm":"SHA256withRSA"`, `"digestSignatureAlgorithm":"MD5"`, 1),
		strings.Replace(string(good), `"digestS3Object":"AWSLogs`, `"digestS3Object":"../AWSLogs`, 1),
		strings.Replace(string(good), `"digestEndTime":"2000`, `"digestEndTime":"1999`, 1),
	} {
		if _, err := ParseDigest([]byte(bad)); err == nil {
			t.Errorf("ParseDigest(%.80q) = nil error", bad)
		}
	}
}

func FuzzParseDigest(f *testing.F) {
	f.Add([]byte(`{"awsAccountId":"111111111111","digestStartTime":"2000-01-01T00:00:00Z","digestEndTime":"2000-01-01T01:00:00Z","digestS3Bucket":"b","digestS3Object":"AWSLogs/x.json.gz","digestPublicKeyFingerprint":"ab","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":null,"oldestEventTime":null,"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[]}`))
	f.Add([]byte(`{"logFiles":[{"s3Object":"../x","hashValue":"00"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDigest(b)
		if err != nil {
			return
		}
		if !cleanObject(d.DigestS3Object) || d.DigestSignatureAlgorithm != SignatureAlgorithm {
			t.Fatalf("ParseDigest accepted %+v", d)
		}
		for _, l := range d.LogFiles {
			if !cleanObject(l.S3Object) || !isHash(l.HashValue) {
				t.Fatalf("ParseDigest accepted log %+v", l)
			}
		}
	})
}

// The digest covering the end of a --end-time range
// is removed with its log files, while its successor (which names it) is still there.
// docs/audit.md: "a digest removed (chain break) | digest INVALID: not found, named by its
// successor". With an end time, VerifyDir never looks at the successor and reports the
// range valid, although events inside the range are gone.
func TestVerifyEndTimeSeesRemovedDigest(t *testing.T) {
	dir, keys := exported(t)
	const chain = "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2000/01/01/"
	d4 := chain + "111111111111_CloudTrail-Digest_us-east-1_iamdb_us-east-1_20000101T040000Z.json.gz"
	// The log files D4 lists: delivered during [03:00, 04:00).
	raw := readGz(t, dir, d4)
	d, err := ParseDigest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.LogFiles) == 0 {
		t.Fatal("D4 lists no log files")
	}
	for _, l := range d.LogFiles {
		os.Remove(filepath.Join(dir, filepath.FromSlash(l.S3Object)))
	}
	os.Remove(filepath.Join(dir, filepath.FromSlash(d4)))
	os.Remove(filepath.Join(dir, filepath.FromSlash(d4)+".sig"))
	// The whole export, unbounded, notices (D5 names D4).
	if rep := VerifyDir(dir, keys, time.Time{}, time.Time{}); rep.Valid() {
		t.Fatal("unbounded verify: valid")
	}
	// A range whose end falls inside D4's hour must notice too: events in it are gone.
	rep := VerifyDir(dir, keys, epoch.Add(2*time.Hour+30*time.Minute), epoch.Add(3*time.Hour+30*time.Minute))
	if rep.Valid() {
		var names []string
		for _, r := range rep.Digests {
			names = append(names, filepath.Base(r.Object)+" "+r.Status)
		}
		t.Fatalf("verify 02:30..03:30 after removing the digest ending 04:00 and its %d log files (events 03:00-03:30 among them): valid; digests checked:\n%s",
			len(d.LogFiles), strings.Join(names, "\n"))
	}
}
