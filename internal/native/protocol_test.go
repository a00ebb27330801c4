package native

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// encode builds a request's bytes by hand, lengths as given (to write malformed ones).
func encode(magic string, fields ...[]byte) []byte {
	b := []byte(magic)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

func TestRequestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, req := range []Request{
		{User: "alice", Host: "127.0.0.1", Token: "localhost:5432/?Action=connect&DBUser=alice"},
		{User: "v", Token: "t"}, // MariaDB: no host
		{User: strings.Repeat("u", MaxUserLen), Host: strings.Repeat("h", MaxHostLen), Token: strings.Repeat("t", MaxTokenLen)},
		{User: "a\x00b", Host: "::1", Token: "\xff\x00"},
	} {
		var buf bytes.Buffer
		if err := WriteRequest(&buf, req); err != nil {
			t.Fatalf("WriteRequest(%v): %v", req, err)
		}
		want := encode(Magic, []byte(req.User), []byte(req.Host), []byte(req.Token))
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("WriteRequest(%v) wrote % x, want % x", req, buf.Bytes()[:min(buf.Len(), 32)], want[:min(len(want), 32)])
		}
		got, err := ReadRequest(bytes.NewReader(buf.Bytes()))
		if err != nil || got != req {
			t.Errorf("ReadRequest(WriteRequest(%v)) = %v, %v", req, got, err)
		}
	}
}

func TestReadRequestMalformed(t *testing.T) {
	t.Parallel()
	u, h, k := []byte("alice"), []byte("127.0.0.1"), []byte("token")
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"wrong magic", encode("IDB2", u, h, k), ErrMalformed},
		{"empty user", encode(Magic, nil, h, k), ErrMalformed},
		{"user too long", encode(Magic, bytes.Repeat([]byte("u"), MaxUserLen+1), h, k), ErrMalformed},
		{"host too long", encode(Magic, u, bytes.Repeat([]byte("h"), MaxHostLen+1), k), ErrMalformed},
		{"empty token", encode(Magic, u, h, nil), ErrMalformed},
		{"token too long", encode(Magic, u, h, bytes.Repeat([]byte("t"), MaxTokenLen+1)), ErrMalformed},
		{"length 0xffff", append([]byte(Magic), 0xff, 0xff), ErrMalformed},
		{"nothing", nil, io.EOF},
		{"short magic", []byte("ID"), io.ErrUnexpectedEOF},
		{"short token", encode(Magic, u, h, k)[:20], io.ErrUnexpectedEOF},
		{"no token length", encode(Magic, u, h), io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		_, err := ReadRequest(bytes.NewReader(c.in))
		if !errors.Is(err, c.want) {
			t.Errorf("ReadRequest(%s) = %v, want %v", c.name, err, c.want)
		}
	}
}

// Nothing after the token is read: the verifier answers after the declared lengths.
func TestReadRequestReadsNoMore(t *testing.T) {
	t.Parallel()
	in := append(encode(Magic, []byte("u"), nil, []byte("t")), "trailing"...)
	r := bytes.NewReader(in)
	if _, err := ReadRequest(r); err != nil {
		t.Fatal(err)
	}
	if r.Len() != len("trailing") {
		t.Errorf("ReadRequest left %d bytes, want %d", r.Len(), len("trailing"))
	}
}

func TestWriteRequestBounds(t *testing.T) {
	t.Parallel()
	for _, req := range []Request{
		{Token: "t"},
		{User: "u"},
		{User: strings.Repeat("u", MaxUserLen+1), Token: "t"},
		{User: "u", Host: strings.Repeat("h", MaxHostLen+1), Token: "t"},
		{User: "u", Token: strings.Repeat("t", MaxTokenLen+1)},
	} {
		var buf bytes.Buffer
		if err := WriteRequest(&buf, req); err == nil || buf.Len() != 0 {
			t.Errorf("WriteRequest(%v) = %v, wrote %d bytes; want an error and nothing", req, err, buf.Len())
		}
	}
}

func TestResponse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		resp Response
		wire string
	}{
		{Response{Allow: true}, "IDB1\x01\x00"},
		{Response{Reason: "signature-mismatch"}, "IDB1\x00\x12signature-mismatch"},
	} {
		var buf bytes.Buffer
		if err := WriteResponse(&buf, c.resp); err != nil || buf.String() != c.wire {
			t.Errorf("WriteResponse(%+v) = %q, %v; want %q", c.resp, buf.String(), err, c.wire)
		}
		got, err := ReadResponse(strings.NewReader(c.wire))
		if err != nil || got != c.resp {
			t.Errorf("ReadResponse(%q) = %+v, %v; want %+v", c.wire, got, err, c.resp)
		}
	}
	// Any verdict but 1 is a deny, as the C module reads it.
	if got, err := ReadResponse(strings.NewReader("IDB1\x02\x00")); err != nil || got.Allow {
		t.Errorf("ReadResponse(verdict 2) = %+v, %v; want a deny", got, err)
	}
	for _, in := range []string{"IDB0\x01\x00", "IDB1\x00\x01\n"} {
		if _, err := ReadResponse(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ReadResponse(%q) = %v, want ErrMalformed", in, err)
		}
	}
	for _, in := range []string{"IDB1", "IDB1\x01", "IDB1\x00\x05abc"} {
		if _, err := ReadResponse(strings.NewReader(in)); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("ReadResponse(%q) = %v, want io.ErrUnexpectedEOF", in, err)
		}
	}
	for _, r := range []string{strings.Repeat("r", MaxReasonLen+1), "new\nline", "caf\u00e9"} {
		if err := WriteResponse(io.Discard, Response{Reason: r}); err == nil {
			t.Errorf("WriteResponse(reason %q) = nil, want an error", r)
		}
	}
}

// A Request never shows its token: not with %v, %+v, %#v, %s, %q, nor in a log.
func TestRequestRedactsToken(t *testing.T) {
	t.Parallel()
	req := Request{User: "alice", Host: "10.0.0.1", Token: "SECRET-TOKEN-VALUE"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "req", req)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "req", req)
	for _, s := range []string{
		fmt.Sprintf("%v", req), fmt.Sprintf("%+v", req), fmt.Sprintf("%#v", req), fmt.Sprintf("%s", req),
		fmt.Sprintf("%q", req), fmt.Sprint(req), fmt.Sprintf("%v", []Request{req}), fmt.Sprintf("%+v", &req), logs.String(),
	} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("the token shows in %q", s)
		}
		if !strings.Contains(s, "alice") {
			t.Errorf("the user does not show in %q", s)
		}
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add(encode(Magic, []byte("alice"), []byte("127.0.0.1"), []byte("localhost:5432/?Action=connect")))
	f.Add(encode(Magic, []byte("v"), nil, []byte("t")))
	f.Add(encode("IDB2", []byte("u"), nil, []byte("t")))
	f.Add(append([]byte(Magic), 0xff, 0xff))
	f.Add(encode(Magic, []byte("u"), nil, []byte("t"))[:10])
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		req, err := ReadRequest(r)
		if err != nil {
			if req != (Request{}) {
				t.Fatalf("ReadRequest failed (%v) and returned %v", err, req)
			}
			if strings.Contains(err.Error(), string(data)) && len(data) > 8 {
				t.Fatalf("the error %q holds the input", err)
			}
			return
		}
		if len(req.User) < 1 || len(req.User) > MaxUserLen || len(req.Host) > MaxHostLen || len(req.Token) < 1 || len(req.Token) > MaxTokenLen {
			t.Fatalf("ReadRequest returned lengths %d/%d/%d beyond the limits", len(req.User), len(req.Host), len(req.Token))
		}
		consumed := len(data) - r.Len()
		var buf bytes.Buffer
		if err := WriteRequest(&buf, req); err != nil {
			t.Fatalf("WriteRequest(ReadRequest(…)): %v", err)
		}
		if consumed > MaxRequestLen || !bytes.Equal(buf.Bytes(), data[:consumed]) {
			t.Fatalf("WriteRequest(ReadRequest(x)) is not the %d bytes of x read", consumed)
		}
		again, err := ReadRequest(&buf)
		if err != nil || again != req {
			t.Fatalf("round trip: %v, %v; want %v", again, err, req)
		}
	})
}

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("IDB1\x01\x00"))
	f.Add([]byte("IDB1\x00\x12signature-mismatch"))
	f.Add([]byte("IDB1\x07\x03abc"))
	f.Add([]byte("IDB1\x00\x01\n"))
	f.Add([]byte("IDB1\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		resp, err := ReadResponse(r)
		if err != nil {
			if resp != (Response{}) {
				t.Fatalf("ReadResponse failed (%v) and returned %+v", err, resp)
			}
			return
		}
		consumed := len(data) - r.Len()
		if len(resp.Reason) > MaxReasonLen || consumed != len(Magic)+2+len(resp.Reason) {
			t.Fatalf("ReadResponse read %d bytes for a reason of %d", consumed, len(resp.Reason))
		}
		if resp.Allow != (data[4] == verdictAllow) {
			t.Fatalf("verdict byte %d read as Allow=%v", data[4], resp.Allow)
		}
		var buf bytes.Buffer
		if err := WriteResponse(&buf, resp); err != nil {
			t.Fatalf("WriteResponse(ReadResponse(…)): %v", err)
		}
		again, err := ReadResponse(&buf)
		if err != nil || again != resp {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, resp)
		}
	})
}
