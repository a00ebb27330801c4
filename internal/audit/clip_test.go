package audit

import (
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"agent", 10, "agent"},
		{"agent", 5, "agent"},
		{"agent", 3, "age"},
		{"añb", 2, "a"}, // ñ is two bytes: not cut in half
		{"añb", 3, "añ"},
		{"日本", 4, "日"},
		{"x", 0, ""},
	} {
		if got := Clip(tt.s, tt.n); got != tt.want || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
