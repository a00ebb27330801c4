package testenv

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// A LogBuffer collects log output; it is safe for concurrent use. The zero value is ready.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines returns the complete lines written so far, without their newlines.
func (l *LogBuffer) Lines() []string {
	s := l.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// Line returns the first complete line that contains every one of parts, or "".
func (l *LogBuffer) Line(parts ...string) string {
	for _, line := range l.Lines() {
		if containsAll(line, parts) {
			return line
		}
	}
	return ""
}

// Count returns how many complete lines contain every one of parts.
func (l *LogBuffer) Count(parts ...string) int {
	n := 0
	for _, line := range l.Lines() {
		if containsAll(line, parts) {
			n++
		}
	}
	return n
}

// WaitLine waits up to 5 seconds for a line that contains every one of parts, for logs
// written after the event a test sees (a server logs a login after its reply), and fails t
// if none comes.
func (l *LogBuffer) WaitLine(t testing.TB, parts ...string) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if line := l.Line(parts...); line != "" {
			return line
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", parts, l)
			return ""
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// Logger returns a logger writing JSON lines at debug level to l.
func (l *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Contains reports whether substr was written.
func (l *LogBuffer) Contains(substr string) bool { return strings.Contains(l.String(), substr) }

// NoSecret fails t if any of secrets (empty ones are ignored) was written; the error names
// the secret by position, never by value.
func (l *LogBuffer) NoSecret(t testing.TB, secrets ...string) {
	t.Helper()
	s := l.String()
	for i, secret := range secrets {
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("the log holds secret #%d (%d bytes)", i, len(secret))
		}
	}
}
