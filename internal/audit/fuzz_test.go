package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzReadSegment writes random bytes as a segment file and opens the journal on it:
// recovery, Scan (forward) and Lookup (backward, paged) must not panic, and must yield
// exactly the complete lines that decode as events, in file order (Scan) and in reverse
// (Lookup).
func FuzzReadSegment(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "golden.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	other := bytes.Replace(golden, []byte("1d52a1ee"), []byte("2e63b2ff"), 1)
	f.Add(golden)
	f.Add(append(append([]byte{}, golden...), other...))
	f.Add(append(append([]byte{}, golden...), other[:len(other)/2]...))
	f.Add(append([]byte("garbage\n\x00\x00\n"), golden...))
	f.Add([]byte("{}\n{\"eventID\":\"x\"}\n"))
	f.Add([]byte(""))
	f.Add([]byte("\n\n\n"))
	// (An over-long line is covered by TestLongLines: as a seed it slows fuzzing.)
	f.Fuzz(func(t *testing.T, data []byte) {
		// The reference: complete lines that decode.
		var want []string
		rest := data
		for {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			if i <= MaxEventSize {
				if e, err := decodeLine(rest[:i]); err == nil {
					want = append(want, e.EventID)
				}
			}
			rest = rest[i+1:]
		}

		dir := t.TempDir()
		name := filepath.Join(dir, "20261206T21.jsonl")
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, err := Open(dir, Options{Retention: 1 << 62, Now: func() time.Time { return time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		got := []string{}
		if err := j.Scan(context.Background(), time.Time{}, false, func(e Event) bool {
			got = append(got, e.EventID)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		// Events whose eventTime lies outside the segment's hour are still the
		// segment's lines: Scan passes on everything from the zero time.
		if diff := cmp.Diff(nilIfEmpty(want), nilIfEmpty(got)); diff != "" {
			t.Errorf("Scan (-want +got):\n%s", diff)
		}
		var back []string
		q := Query{Max: 3}
		for range len(want) + 2 {
			p, err := j.Lookup(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			back = append(back, eventIDs(p.Events)...)
			if p.Next == "" {
				break
			}
			q.Next = p.Next
		}
		var rev []string
		for i := len(want) - 1; i >= 0; i-- {
			rev = append(rev, want[i])
		}
		if diff := cmp.Diff(nilIfEmpty(rev), nilIfEmpty(back)); diff != "" {
			t.Errorf("Lookup (-want +got):\n%s", diff)
		}
		// Recovery kept every complete line.
		kept, _ := os.ReadFile(name)
		if i := bytes.LastIndexByte(data, '\n'); !bytes.Equal(kept, data[:i+1]) {
			t.Errorf("recovery kept %d bytes, want %d", len(kept), i+1)
		}
		if strings.Contains(string(kept), "\x00") && !bytes.Contains(data, []byte{0}) {
			t.Error("recovery wrote NULs")
		}
	})
}

// TestLongLines skips lines longer than MaxEventSize (forward and backward), at the
// start, in the middle and in chunks of any alignment, keeping the events around them.
func TestLongLines(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	golden = golden[:bytes.IndexByte(golden, '\n')+1] // its first event
	other := bytes.Replace(golden, []byte("1d52a1ee"), []byte("2e63b2ff"), 1)
	for _, n := range []int{MaxEventSize + 1, MaxEventSize + 70000, 3*MaxEventSize + 12345} {
		long := append(bytes.Repeat([]byte("x"), n), '\n')
		var data []byte
		data = append(data, long...)
		data = append(data, golden...)
		data = append(data, long...)
		data = append(data, other...)
		data = append(data, long...)
		// ids collects the events' ids into *out; no line over MaxEventSize may reach it.
		ids := func(direction string, out *[]string) func(l []byte, _ int64) bool {
			return func(l []byte, _ int64) bool {
				if e, err := decodeLine(l); err == nil {
					*out = append(*out, e.EventID)
				} else if len(l) > MaxEventSize {
					t.Errorf("%s: a line of %d bytes passed on", direction, len(l))
				}
				return true
			}
		}
		var fwd, back []string
		if _, err := forwardLines(bytes.NewReader(data), ids("forward", &fwd)); err != nil {
			t.Fatal(err)
		}
		if err := reverseLines(bytes.NewReader(data), int64(len(data)), ids("backward", &back)); err != nil {
			t.Fatal(err)
		}
		want := []string{"1d52a1ee-23f4-4a2b-8c4e-3b3a9b4c2e11", "2e63b2ff-23f4-4a2b-8c4e-3b3a9b4c2e11"}
		if diff := cmp.Diff(want, fwd); diff != "" {
			t.Errorf("forward, lines of %d (-want +got):\n%s", n, diff)
		}
		if diff := cmp.Diff([]string{want[1], want[0]}, back); diff != "" {
			t.Errorf("backward, lines of %d (-want +got):\n%s", n, diff)
		}
	}
}
