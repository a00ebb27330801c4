package postgres

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

var parseRevisionTests = []struct {
	name    string
	payload string
	want    int64
	ok      bool
}{
	{"one", "1", 1, true},
	{"typical", "12345", 12345, true},
	{"leading zeros", "007", 7, true},
	{"max int64", "9223372036854775807", 1<<63 - 1, true},
	{"over int64", "9223372036854775808", 0, false},
	{"too long", "00000000000000000001", 0, false},
	{"empty", "", 0, false},
	{"zero", "0", 0, false},
	{"negative", "-1", 0, false},
	{"plus sign", "+1", 0, false},
	{"space", " 1", 0, false},
	{"trailing newline", "1\n", 0, false},
	{"hex", "0x10", 0, false},
	{"underscore", "1_000", 0, false},
	{"unicode digit", "١", 0, false},
	{"words", "something changed", 0, false},
	{"huge", strings.Repeat("9", 8000), 0, false},
}

func TestParseRevision(t *testing.T) {
	t.Parallel()
	for _, tt := range parseRevisionTests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseRevision(tt.payload)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseRevision(%q) = %d, %v; want %d, %v", tt.payload, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseRevision(f *testing.F) {
	for _, tt := range parseRevisionTests {
		f.Add(tt.payload)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		rev, ok := parseRevision(payload)
		if !ok {
			if rev != 0 {
				t.Errorf("parseRevision(%q) = %d, false; want 0 when not ok", payload, rev)
			}
			return
		}
		if rev <= 0 || len(payload) > maxPayloadLen {
			t.Errorf("parseRevision(%q) = %d, true; want a positive revision from at most %d bytes", payload, rev, maxPayloadLen)
		}
		// What we accept is exactly a revision's decimal form, up to leading zeros.
		if trimmed := strings.TrimLeft(payload, "0"); trimmed != strconv.FormatInt(rev, 10) {
			t.Errorf("parseRevision(%q) = %d, which does not print as the payload", payload, rev)
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		attempt int
		want    time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{2, 400 * time.Millisecond},
		{5, 3200 * time.Millisecond},
		{6, 5 * time.Second},
		{63, 5 * time.Second},
		{1 << 30, 5 * time.Second},
	} {
		if got := backoff(tt.attempt); got != tt.want {
			t.Errorf("backoff(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}
