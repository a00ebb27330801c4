package pgwire

import (
	"bufio"
	"bytes"
	"testing"
)

func TestMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"query", AppendQuery(nil, "DISCARD ALL"), "Q\x00\x00\x00\x10DISCARD ALL\x00"},
		{"terminate", AppendTerminate(nil), "X\x00\x00\x00\x04"},
		{"ssl request", AppendSSLRequest(nil), "\x00\x00\x00\x08\x04\xd2\x16\x2f"},
		{"cancel request", AppendCancelRequest(nil, 0x01020304, []byte{9, 8, 7, 6}), "\x00\x00\x00\x10\x04\xd2\x16\x2e\x01\x02\x03\x04\x09\x08\x07\x06"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	WriteHeader(w, TypeReadyForQuery, 1)
	w.Flush()
	if buf.String() != "Z\x00\x00\x00\x05" {
		t.Errorf("WriteHeader = %q", buf.String())
	}
}

func TestBackendMessages(t *testing.T) {
	t.Parallel()
	name, value, ok := ParseParameterStatus([]byte("TimeZone\x00UTC\x00"))
	if !ok || name != "TimeZone" || value != "UTC" {
		t.Errorf("ParseParameterStatus = %q, %q, %v", name, value, ok)
	}
	for _, b := range []string{"", "TimeZone", "TimeZone\x00UTC"} {
		if _, _, ok := ParseParameterStatus([]byte(b)); ok {
			t.Errorf("ParseParameterStatus(%q) ok", b)
		}
	}
	if tx, ok := ParseReadyForQuery([]byte{TxIdle}); !ok || tx != TxIdle {
		t.Errorf("ParseReadyForQuery(I) = %q, %v", tx, ok)
	}
	if _, ok := ParseReadyForQuery([]byte("IT")); ok {
		t.Errorf("ParseReadyForQuery(IT) ok")
	}
	fatal := []byte("SFATAL\x00VFATAL\x00C57P01\x00Mterminating connection\x00\x00")
	if got, want := ErrorSummary(fatal), "FATAL 57P01: terminating connection"; got != want {
		t.Errorf("ErrorSummary = %q, want %q", got, want)
	}
	if !IsFatal(fatal) || !IsFatal([]byte("SPANIK\x00VPANIC\x00\x00")) {
		t.Errorf("IsFatal(FATAL, PANIC) = false")
	}
	if IsFatal([]byte("SERROR\x00VERROR\x00C42P01\x00\x00")) || IsFatal([]byte("SFAT")) {
		t.Errorf("IsFatal(ERROR or truncated) = true")
	}
}

// FuzzBackendMessage feeds the backend message decoders arbitrary bodies: they must
// never panic, and a decoded ParameterStatus has no NUL in its name or value.
func FuzzBackendMessage(f *testing.F) {
	f.Add([]byte("TimeZone\x00UTC\x00"))
	f.Add([]byte("SFATAL\x00VFATAL\x00C57P01\x00Mterminating connection\x00\x00"))
	f.Add([]byte("S\x00\x00"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if name, value, ok := ParseParameterStatus(body); ok && (bytes.IndexByte([]byte(name), 0) >= 0 || bytes.IndexByte([]byte(value), 0) >= 0) {
			t.Fatalf("ParseParameterStatus(%q) = %q, %q", body, name, value)
		}
		ErrorSummary(body)
		IsFatal(body)
		ParseReadyForQuery(body)
	})
}

// TestErrorRoundTrip decodes what Error.AppendTo encodes, with pgproto3 and with the
// relay's decoders.
func TestErrorRoundTrip(t *testing.T) {
	t.Parallel()
	b, err := Fatal(CodeConnectionFailure, "lost").AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !IsFatal(b[5:]) || ErrorSummary(b[5:]) != "FATAL 08006: lost" {
		t.Errorf("IsFatal, ErrorSummary of %q", b)
	}
	typ, n, err := ReadHeader(bufio.NewReader(bytes.NewReader(b)))
	if typ != TypeErrorResponse || n != len(b)-5 || err != nil {
		t.Errorf("ReadHeader(%q) = %q, %d, %v", b, typ, n, err)
	}
}
