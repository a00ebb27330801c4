package audit

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iamdb/iamdb/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// open opens a journal in dir and closes it at the end of the test.
func open(t *testing.T, dir string, opts Options) *Journal {
	t.Helper()
	j, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// goldenEvent is an AssumeRole call as CloudTrail records it (the IAM user guide's
// example, with iamdb's fields).
func goldenEvent() *Event {
	return &Event{
		EventID: "1d52a1ee-23f4-4a2b-8c4e-3b3a9b4c2e11",
		UserIdentity: UserIdentity{
			Type: "IAMUser", PrincipalID: "AIDAQRSTUVWXYZEXAMPLE", ARN: "arn:aws:iam::123456789012:user/alice",
			AccountID: "123456789012", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", UserName: "alice",
		},
		EventTime:       Time{time.Date(2026, 12, 6, 21, 40, 14, 0, time.UTC)},
		EventSource:     SourceSTS,
		EventName:       "AssumeRole",
		AWSRegion:       "us-east-1",
		SourceIPAddress: "192.0.2.10",
		UserAgent:       "aws-cli/2.15.0 <md/a&b>",
		RequestParameters: map[string]any{
			"roleArn": "arn:aws:iam::123456789012:role/app", "roleSessionName": "alice-session", "durationSeconds": 3600,
		},
		ResponseElements: map[string]any{
			"credentials": map[string]any{"accessKeyId": "ASIAIOSFODNN7EXAMPLE", "expiration": "Dec 6, 2026, 10:40:14 PM"},
		},
		RequestID:          "c0ffee00-0000-4000-8000-000000000001",
		ReadOnly:           true,
		Resources:          []Resource{{ARN: "arn:aws:iam::123456789012:role/app", AccountID: "123456789012", Type: "AWS::IAM::Role"}},
		EventType:          TypeAPICall,
		ManagementEvent:    true,
		RecipientAccountID: "123456789012",
		EventCategory:      CategoryManage,
		TLSDetails:         &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: "iam.local"},
	}
}

// goldenLogin is a database login by a role session, refused: no request parameters
// (null), a sessionContext.
func goldenLogin() *Event {
	return &Event{
		EventVersion: EventVersion,
		EventID:      "5e0c7a51-9f8d-4c1e-a2b3-c4d5e6f70812",
		UserIdentity: UserIdentity{
			Type: "AssumedRole", PrincipalID: "AROAEXAMPLEROLEID0001:i-0123456789abcdef0",
			ARN:       "arn:aws:sts::123456789012:assumed-role/app/i-0123456789abcdef0",
			AccountID: "123456789012", AccessKeyID: "ASIAEXAMPLESESSION01",
			SessionContext: &SessionContext{
				Attributes: SessionAttributes{CreationDate: Time{time.Date(2026, 12, 6, 21, 0, 3, 0, time.UTC)}, MFAAuthenticated: "false"},
				SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "AROAEXAMPLEROLEID0001",
					ARN: "arn:aws:iam::123456789012:role/app", AccountID: "123456789012", UserName: "app"},
			},
		},
		EventTime:           Time{time.Date(2026, 12, 6, 21, 41, 0, 0, time.UTC)},
		EventSource:         SourceRDSDB,
		EventName:           "connect",
		AWSRegion:           "us-east-1",
		SourceIPAddress:     "2001:db8::7",
		ErrorCode:           "AccessDenied",
		ErrorMessage:        "not authorized to perform rds-db:connect",
		AdditionalEventData: map[string]any{"databaseUser": "app_user", "engine": "postgres", "mode": "gateway", "reason": "policy-denied"},
		ReadOnly:            false,
		Resources:           []Resource{{ARN: "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKLMNOP/app_user", Type: "AWS::RDS::DBInstance"}},
		EventType:           TypeAPICall,
		ManagementEvent:     false,
		RecipientAccountID:  "123456789012",
		EventCategory:       CategoryManage,
	}
}

// TestGolden pins the bytes of a segment: CloudTrail's JSON of one event per line.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, Options{})
	e := goldenEvent()
	e.EventVersion = ""
	if err := j.Record(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if err := j.Record(context.Background(), goldenLogin()); err != nil {
		t.Fatal(err)
	}
	if e.EventVersion != EventVersion {
		t.Errorf("EventVersion = %q, want %q", e.EventVersion, EventVersion)
	}
	got, err := os.ReadFile(filepath.Join(dir, "20261206T21.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("segment differs from %s (-want +got):\n%s", golden, diff)
	}
	// Round trip: what Lookup returns is what was recorded.
	p, err := j.Lookup(context.Background(), Query{})
	if err != nil || len(p.Events) != 2 {
		t.Fatalf("Lookup = %v, %v; want 2 events", p, err)
	}
	if diff := cmp.Diff(*goldenLogin(), p.Events[0]); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	back := p.Events[1]
	want2 := *goldenEvent()
	want2.EventVersion = EventVersion
	want2.RequestParameters["durationSeconds"] = float64(3600) // JSON numbers decode as float64
	if diff := cmp.Diff(want2, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(filepath.Join(dir, "20261206T21.jsonl")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("segment mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, %v; want 0700", fi.Mode(), err)
	}
}

func TestRecordDefaults(t *testing.T) {
	c := testenv.NewClock(time.Date(2026, 12, 6, 23, 1, 2, 345e6, time.UTC))
	j := open(t, t.TempDir(), Options{Now: c.Now})
	e := &Event{EventName: "GetUser"}
	if err := j.Record(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(e.EventID) {
		t.Errorf("EventID = %q, want a version 4 UUID", e.EventID)
	}
	if want := time.Date(2026, 12, 6, 23, 1, 2, 0, time.UTC); !e.EventTime.Equal(want) {
		t.Errorf("EventTime = %v, want %v", e.EventTime, want)
	}
	if e.EventVersion != EventVersion {
		t.Errorf("EventVersion = %q", e.EventVersion)
	}
	big := &Event{RequestParameters: map[string]any{"x": strings.Repeat("a", MaxEventSize)}}
	if err := j.Record(context.Background(), big); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("Record(big) = %v, want ErrEventTooLarge", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Record(context.Background(), &Event{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close = %v, want ErrClosed", err)
	}
	if _, err := j.Lookup(context.Background(), Query{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Lookup after Close = %v, want ErrClosed", err)
	}
	if err := j.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{})
	if j, err := Open(dir, Options{}); err == nil {
		j.Close()
		t.Fatal("second Open of the same dir succeeded")
	}
}

// TestTornTail appends half an event to a segment, as kill -9 during a write leaves it:
// Open cuts it, says so, and keeps every complete line.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	c := testenv.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	j := open(t, dir, Options{Now: c.Now})
	var ids []string
	for i := range 5 {
		e := &Event{EventName: fmt.Sprintf("E%d", i), RecipientAccountID: "123456789012"}
		if err := j.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.EventID)
	}
	j.Close()
	seg := filepath.Join(dir, "20261206T10.jsonl")
	whole, _ := os.ReadFile(seg)
	f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(`{"eventVersion":"1.11","userIdentity":{"type":"IAMU`))
	f.Close()

	var logs testenv.LogBuffer
	j2 := open(t, dir, Options{Now: c.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if got, _ := os.ReadFile(seg); !bytes.Equal(got, whole) {
		t.Errorf("after recovery the segment is %d bytes, want the %d of its complete lines", len(got), len(whole))
	}
	if !strings.Contains(logs.String(), "torn") || !strings.Contains(logs.String(), "20261206T10.jsonl") || !strings.Contains(logs.String(), "bytes=51") {
		t.Errorf("log does not say what was cut: %s", logs.String())
	}
	e := &Event{EventName: "After"}
	if err := j2.Record(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	got := scanAll(t, j2, time.Time{})
	want := append(ids, e.EventID)
	if diff := cmp.Diff(want, eventIDs(got)); diff != "" {
		t.Errorf("events after recovery (-want +got):\n%s", diff)
	}
}

// TestDamagedLine skips a line that is not an event in the middle of a segment.
func TestDamagedLine(t *testing.T) {
	dir := t.TempDir()
	c := testenv.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	j := open(t, dir, Options{Now: c.Now})
	a := &Event{EventName: "A"}
	j.Record(context.Background(), a)
	j.Close()
	f, _ := os.OpenFile(filepath.Join(dir, "20261206T10.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("\x00\x00\x00garbage\n{\"eventID\":\n"))
	f.Close()
	j2 := open(t, dir, Options{Now: c.Now})
	b := &Event{EventName: "B"}
	j2.Record(context.Background(), b)
	if diff := cmp.Diff([]string{a.EventID, b.EventID}, eventIDs(scanAll(t, j2, time.Time{}))); diff != "" {
		t.Errorf("Scan (-want +got):\n%s", diff)
	}
	p, err := j2.Lookup(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{b.EventID, a.EventID}, eventIDs(p.Events)); diff != "" {
		t.Errorf("Lookup (-want +got):\n%s", diff)
	}
}

func scanAll(t *testing.T, j *Journal, from time.Time) []Event {
	t.Helper()
	var out []Event
	if err := j.Scan(context.Background(), from, false, func(e Event) bool {
		out = append(out, e)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func eventIDs(es []Event) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.EventID)
	}
	return out
}

// TestRetention removes whole segments past the retention at Open and on rotation, and
// the oldest beyond MaxBytes (with a WARN), never the newest.
func TestRetention(t *testing.T) {
	dir := t.TempDir()
	c := testenv.NewClock(time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC))
	j := open(t, dir, Options{Now: c.Now})
	for i := range 10 { // segments 20261201T00 .. T09
		if err := j.Record(context.Background(), &Event{EventName: "E"}); err != nil {
			t.Fatal(err)
		}
		if i < 9 {
			c.Advance(time.Hour)
		}
	}
	j.Close()
	if n := countSegments(t, dir); n != 10 {
		t.Fatalf("%d segments, want 10", n)
	}
	// Retention 5h at 09:30: segments ending before 04:30 go (T00..T03).
	j2 := open(t, dir, Options{Now: c.Now, Retention: 5 * time.Hour})
	if got := segmentNames(t, dir); got[0] != "20261201T04.jsonl" || len(got) != 6 {
		t.Errorf("after retention: %v, want T04..T09", got)
	}
	// On rotation: two hours later, a new segment; T04..T05 are past retention now.
	c.Advance(2 * time.Hour)
	if err := j2.Record(context.Background(), &Event{EventName: "E"}); err != nil {
		t.Fatal(err)
	}
	j2.Close() // the sweep runs after the commit: wait for it
	if got := segmentNames(t, dir); got[0] != "20261201T06.jsonl" {
		t.Errorf("after rotation: %v, want T06 first", got)
	}

	// MaxBytes: one segment's worth keeps only the newest, with a WARN.
	fi, _ := os.Stat(filepath.Join(dir, "20261201T11.jsonl"))
	var logs testenv.LogBuffer
	j3 := open(t, dir, Options{Now: c.Now, MaxBytes: fi.Size(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if got := segmentNames(t, dir); len(got) != 1 || got[0] != "20261201T11.jsonl" {
		t.Errorf("after max_bytes: %v, want only T11", got)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "max_bytes") {
		t.Errorf("no WARN for max_bytes: %s", logs.String())
	}
	if n := len(scanAll(t, j3, time.Time{})); n != 1 {
		t.Errorf("%d events left, want 1", n)
	}
}

// TestSweepPeriodic applies retention without new segments, on the sweep interval.
func TestSweepPeriodic(t *testing.T) {
	dir := t.TempDir()
	c := testenv.NewClock(time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC))
	j := open(t, dir, Options{Now: c.Now, Retention: time.Hour, SweepInterval: 10 * time.Millisecond})
	j.Record(context.Background(), &Event{EventName: "old"})
	c.Advance(time.Hour)
	j.Record(context.Background(), &Event{EventName: "new"})
	c.Advance(3 * time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for countSegments(t, dir) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("segments %v, want the old one swept", segmentNames(t, dir))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func segmentNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".jsonl") {
			out = append(out, e.Name())
		}
	}
	return out
}

func countSegments(t *testing.T, dir string) int { return len(segmentNames(t, dir)) }

// TestConcurrent records from many goroutines while followers and lookups read: every
// event is there once, and batches formed (fewer fsyncs than events).
func TestConcurrent(t *testing.T) {
	j := open(t, t.TempDir(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const writers, per = 16, 100
	followed := make(chan int, 1)
	go func() {
		n := 0
		j.Scan(ctx, time.Time{}, true, func(Event) bool {
			n++
			return n < writers*per
		})
		followed <- n
	}()
	var wg sync.WaitGroup
	ids := make(chan string, writers*per)
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				e := &Event{EventName: fmt.Sprintf("W%dI%d", w, i), RecipientAccountID: "123456789012"}
				if err := j.Record(ctx, e); err != nil {
					t.Error(err)
					return
				}
				ids <- e.EventID
				if i%25 == 0 {
					if _, err := j.Lookup(ctx, Query{Attr: AttrEventID, Value: e.EventID}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(ids)
	want := map[string]bool{}
	for id := range ids {
		want[id] = true
	}
	got := scanAll(t, j, time.Time{})
	if len(got) != writers*per || len(want) != writers*per {
		t.Fatalf("%d events, %d distinct IDs; want %d", len(got), len(want), writers*per)
	}
	for _, e := range got {
		if !want[e.EventID] {
			t.Errorf("unexpected event %s", e.EventID)
		}
	}
	select {
	case n := <-followed:
		if n != writers*per {
			t.Errorf("follower saw %d events, want %d", n, writers*per)
		}
	case <-time.After(10 * time.Second):
		t.Error("follower did not see every event")
	}
	st := j.Stats()
	t.Logf("%d events in %d batches, %d fsyncs", st.Events, st.Batches, st.Fsyncs)
	if st.Events != writers*per || st.Fsyncs > st.Events {
		t.Errorf("Stats = %+v", st)
	}
}

// TestSync: with SyncAlways each batch is fsync'ed before Record returns; with
// SyncInterval Record returns after the write, the committer fsyncs a written segment once
// per interval (and not again while nothing new is written), and Close fsyncs what is left.
func TestSync(t *testing.T) {
	record := func(j *Journal) {
		t.Helper()
		e := goldenEvent()
		e.EventID = ""
		if err := j.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("always", func(t *testing.T) {
		j := open(t, t.TempDir(), Options{Sync: SyncAlways, SyncInterval: time.Millisecond})
		record(j)
		if st := j.Stats(); st.Fsyncs != 1 || st.Events != 1 {
			t.Fatalf("after one Record: %+v, want 1 fsync", st)
		}
		time.Sleep(20 * time.Millisecond) // no interval fsyncs in this mode
		if st := j.Stats(); st.Fsyncs != 1 {
			t.Fatalf("after 20ms: %+v, want still 1 fsync", st)
		}
	})
	t.Run("interval", func(t *testing.T) {
		j := open(t, t.TempDir(), Options{SyncInterval: 20 * time.Millisecond})
		record(j)
		deadline := time.Now().Add(10 * time.Second)
		for j.Stats().Fsyncs == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the written segment was not fsync'ed within 10s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // five intervals with nothing written
		if st := j.Stats(); st.Fsyncs != 1 {
			t.Fatalf("%+v: want 1 fsync (a clean segment is not fsync'ed again)", st)
		}
	})
	t.Run("interval-close", func(t *testing.T) {
		j := open(t, t.TempDir(), Options{SyncInterval: time.Hour})
		record(j)
		record(j)
		if st := j.Stats(); st.Fsyncs != 0 || st.Events != 2 {
			t.Fatalf("%+v: want 2 events written and none fsync'ed yet", st)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		if st := j.Stats(); st.Fsyncs != 1 {
			t.Fatalf("after Close: %+v, want 1 fsync", st)
		}
	})
	for _, v := range []string{"interval", "always"} {
		if s, err := ParseSync(v); err != nil || s.String() != v {
			t.Errorf("ParseSync(%q) = %v, %v", v, s, err)
		}
	}
	if _, err := ParseSync("never"); err == nil {
		t.Error(`ParseSync("never") succeeded`)
	}
}

// TestRecordDuringFsync: a Record that finds the committer fsyncing (so it cannot write its
// batch itself) is written by the committer once the fsync ends, even with no other Record
// to wake it. One writer records back to back while the committer fsyncs every millisecond.
func TestRecordDuringFsync(t *testing.T) {
	j := open(t, t.TempDir(), Options{SyncInterval: time.Millisecond})
	stop := time.Now().Add(300 * time.Millisecond)
	n := 0
	for time.Now().Before(stop) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := j.Record(ctx, &Event{EventName: "E", RecipientAccountID: "123456789012"})
		cancel()
		if err != nil {
			t.Fatalf("Record %d: %v", n, err)
		}
		n++
	}
	if st := j.Stats(); st.Events != int64(n) || st.Fsyncs == 0 {
		t.Fatalf("%d Records: %+v", n, st)
	}
	t.Logf("%d events, %+v", n, j.Stats())
}

// TestScanFollow waits for new events, and ends with ctx (nil) or Close (ErrClosed).
func TestScanFollow(t *testing.T) {
	c := testenv.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	j, err := Open(t.TempDir(), Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	j.Record(context.Background(), &Event{EventName: "before"})
	c.Advance(time.Minute)
	from := c.Now()
	j.Record(context.Background(), &Event{EventName: "from"})
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- j.Scan(ctx, from, true, func(e Event) bool { got <- e.EventName; return true })
	}()
	if n := <-got; n != "from" {
		t.Errorf("first followed event %q, want from", n)
	}
	c.Advance(time.Hour) // a new segment
	j.Record(context.Background(), &Event{EventName: "next"})
	if n := <-got; n != "next" {
		t.Errorf("followed %q, want next", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Scan after cancel = %v, want nil", err)
	}
	go func() {
		done <- j.Scan(context.Background(), time.Time{}, true, func(Event) bool { return true })
	}()
	time.Sleep(50 * time.Millisecond) // let it reach its wait (either way it must end)
	j.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Scan after Close = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Scan did not end on Close")
	}
}

// BenchmarkRecord records from parallel goroutines (8 and 64 per CPU: a closed loop, so
// throughput is writers / fsync latency, and batches grow with the writers) and reports
// events/s and fsyncs/s: the group commit's throughput.
func BenchmarkRecord(b *testing.B) {
	for _, c := range []struct {
		sync Sync
		par  int
	}{{SyncInterval, 8}, {SyncAlways, 8}, {SyncAlways, 64}} {
		b.Run(fmt.Sprintf("sync=%s/writers=%dxCPU", c.sync, c.par), func(b *testing.B) {
			par := c.par
			j, err := Open(b.TempDir(), Options{Sync: c.sync})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			e0 := goldenEvent()
			b.SetParallelism(par)
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e := *e0
					e.EventID = ""
					if err := j.Record(context.Background(), &e); err != nil {
						b.Error(err)
						return
					}
				}
			})
			secs := time.Since(start).Seconds()
			st := j.Stats()
			b.ReportMetric(float64(st.Events)/secs, "events/s")
			b.ReportMetric(float64(st.Fsyncs)/secs, "fsyncs/s")
			b.ReportMetric(float64(st.Events)/float64(max(st.Batches, 1)), "events/batch")
		})
	}
}
