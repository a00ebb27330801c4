package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestPrefixEnd(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		prefix, end string
		ok          bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"a/", "a0", true},
		{"a%", "a&", true},
		{"a\u007f", "a\u0080", true},
		{"é", "ê", true},
		{"a\ud7ff", "a\ue000", true},
		{"a\uffff", "a\U00010000", true},
		{"a\U0010ffff", "b", true},
		{"\U0010ffff\U0010ffff", "", false},
	} {
		end, ok := PrefixEnd(tt.prefix)
		if end != tt.end || ok != tt.ok {
			t.Errorf("PrefixEnd(%q) = %q, %v; want %q, %v", tt.prefix, end, ok, tt.end, tt.ok)
		}
	}
}

// FuzzPrefixEnd checks the defining property: for valid UTF-8 s and prefix, s starts with
// prefix exactly when prefix <= s < end (or prefix <= s when there is no end).
func FuzzPrefixEnd(f *testing.F) {
	for _, seed := range [][2]string{
		{"a/b", "a/"}, {"a0", "a/"}, {"b", "a\U0010ffff"}, {"a\U0010ffffz", "a\U0010ffff"},
		{"ê", "é"}, {"a\ue000", "a\ud7ff"}, {"", ""}, {"x", ""}, {"%", "%"}, {"a_b", "a_"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, s, prefix string) {
		if !utf8.ValidString(s) || !utf8.ValidString(prefix) {
			return
		}
		end, ok := PrefixEnd(prefix)
		if ok && !utf8.ValidString(end) {
			t.Fatalf("PrefixEnd(%q) = %q, not valid UTF-8", prefix, end)
		}
		inRange := s >= prefix && (!ok || s < end)
		if inRange != strings.HasPrefix(s, prefix) {
			t.Fatalf("s=%q prefix=%q end=%q ok=%v: in range %v, HasPrefix %v", s, prefix, end, ok, inRange, !inRange)
		}
	})
}

func TestChecks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		want error
	}{
		{"kind ok", CheckKind(strings.Repeat("k", MaxKindLen)), nil},
		{"kind long", CheckKind(strings.Repeat("k", MaxKindLen+1)), ErrTooLarge},
		{"kind empty", CheckKind(""), ErrInvalid},
		{"kind NUL", CheckKind("a\x00"), ErrInvalid},
		{"key ok", CheckKey(strings.Repeat("é", MaxKeyLen/2)), nil},
		{"key long", CheckKey(strings.Repeat("k", MaxKeyLen+1)), ErrTooLarge},
		{"key empty", CheckKey(""), ErrInvalid},
		{"key bad UTF-8", CheckKey("\xff"), ErrInvalid},
		{"value ok", CheckValue(make([]byte, MaxValueLen)), nil},
		{"value nil", CheckValue(nil), nil},
		{"value big", CheckValue(make([]byte, MaxValueLen+1)), ErrTooLarge},
		{"list ok", CheckList("k", "", "", 0), nil},
		{"list negative", CheckList("k", "", "", -1), ErrInvalid},
		{"list prefix long", CheckList("k", strings.Repeat("p", MaxKeyLen+1), "", 0), ErrTooLarge},
		{"list after bad", CheckList("k", "", "\xc3", 0), ErrInvalid},
	} {
		if !errors.Is(tt.err, tt.want) || (tt.want == nil) != (tt.err == nil) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.want)
		}
	}
}

func TestNotifier(t *testing.T) {
	t.Parallel()
	var n Notifier
	n.Notify(1) // no watchers: nothing happens
	ctx, cancel := context.WithCancel(t.Context())
	ch := n.Watch(ctx)
	other := n.Watch(t.Context())
	n.Notify(2)
	n.Notify(3)
	if v := <-ch; v != 3 {
		t.Errorf("received %d, want the latest, 3", v)
	}
	select {
	case v := <-ch:
		t.Errorf("received %d after the latest", v)
	default:
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Errorf("channel open after its context ended")
	}
	n.Notify(4) // must not panic on the removed channel
	if v := <-other; v != 4 {
		t.Errorf("other received %d, want 4", v)
	}
	n.Close()
	n.Close()
	if _, ok := <-other; ok {
		t.Errorf("channel open after Close")
	}
	select {
	case _, ok := <-n.Watch(t.Context()):
		if ok {
			t.Errorf("Watch after Close gave a value")
		}
	case <-time.After(5 * time.Second):
		t.Errorf("Watch after Close: channel not closed")
	}
}
