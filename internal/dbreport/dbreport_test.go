package dbreport

import (
	"errors"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/audit"
)

func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	r := Report{User: "app", Database: "app", UserExists: true, CanLogin: true, RDSIAM: true, DatabaseExists: true,
		AllowConnections: true, Connect: true, HBALine: 3, HBAMethod: "cert", HBAError: strings.Repeat("é", 400)}
	s, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(s)
	r.V, r.HBAError = Version, audit.Clip(r.HBAError, maxErr)
	if err != nil || got != r {
		t.Errorf("Decode(Encode(r)) = %+v, %v; want %+v", got, err, r)
	}
	if len(got.HBAError) > maxErr || !strings.HasPrefix(r.HBAError, "é") || len(got.HBAError)%2 != 0 {
		t.Errorf("HBAError clipped to %d bytes, not on a rune boundary", len(got.HBAError))
	}
	if _, err := (Report{User: strings.Repeat("u", MaxLen)}).Encode(); err == nil {
		t.Error("Encode of a report longer than MaxLen: no error")
	}
	for _, bad := range []string{"", "{}", `{"v":2}`, `{"v":1,"hba_line":-1}`, `{"v":1,"user":"` + strings.Repeat("u", maxName+1) + `"}`, `{"v":1,"x":1}`, `{"v":1} {}`, `[1]`, strings.Repeat(" ", MaxLen+1)} {
		if _, err := Decode(bad); !errors.Is(err, ErrReport) {
			t.Errorf("Decode(%.40q) = %v, want ErrReport", bad, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	s, _ := Report{User: "u", Database: "d", HBALine: 1}.Encode()
	f.Add(s)
	f.Add(`{"v":1}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Decode(s)
		if err != nil {
			return
		}
		// What decodes encodes again, within the bound unless its names are too long.
		if e, err := r.Encode(); err == nil {
			if r2, err := Decode(e); err != nil || r2 != r {
				t.Errorf("Decode(Encode(%+v)) = %+v, %v", r, r2, err)
			}
		}
	})
}
