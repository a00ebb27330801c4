package main

import (
	"bytes"
	"strings"
	"testing"
)

// failureWatch finds a refusal split across writes, passes everything through, and is
// not fooled by a query's error.
func TestFailureWatch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		writes []string
		seen   bool
	}{
		{[]string{`psql: error: connection to server at "localhost" (127.0.0.1), port 5433 failed: FATAL:  PAM authentication failed for user "u"` + "\n"}, true},
		{[]string{"psql: error: … failed: FATAL:  data", "base \"u\" does not exist\n"}, true},
		{[]string{strings.Repeat("x", 1000), "ERROR 1045 (28000): Access denied for user 'u'@'127.0.0.1' (using password: YES)\n"}, true},
		{[]string{`ERROR:  column "nosuchcolumn" does not exist` + "\n", "LINE 1: select nosuchcolumn\n"}, false},
	} {
		var out bytes.Buffer
		w := &failureWatch{w: &out}
		for _, s := range tt.writes {
			if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if w.seen != tt.seen || out.String() != strings.Join(tt.writes, "") || len(w.tail) > failureTail {
			t.Errorf("failureWatch(%.60q): seen %v, want %v; passed %d bytes, kept %d", tt.writes, w.seen, tt.seen, out.Len(), len(w.tail))
		}
	}
}

func TestDoctorHint(t *testing.T) {
	t.Parallel()
	got := doctorHint("mysql", tokenFlags{hostname: "db.example", port: 3306, username: "o'brien", region: "eu-west-1"}, "db.internal", "", "/ca dir/ca.pem")
	want := "iamdb connect: the login was refused; the cause and its fix: iamdb doctor --hostname db.example --port 3306 --username 'o'\\''brien' --engine mysql --signing-host db.internal --region eu-west-1 --ca-file '/ca dir/ca.pem'\n"
	if got != want {
		t.Errorf("doctorHint = %q\nwant %q", got, want)
	}
}
