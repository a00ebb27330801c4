package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/audit/audittest"
	"github.com/iamdb/iamdb/internal/audit/export"
)

// exportForTest exports 100 events over two hours into a new directory.
func exportForTest(t *testing.T) (dir, state string) {
	base := t.TempDir()
	dir, state = filepath.Join(base, "trail"), filepath.Join(base, "state")
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var evs []audit.Event
		for i := range 100 {
			evs = append(evs, audit.Event{
				EventVersion: audit.EventVersion, EventTime: audit.Time{Time: start.Add(time.Duration(i) * 72 * time.Second)},
				EventSource: audit.SourceSTS, EventName: "AssumeRole", AWSRegion: "us-east-1",
				EventID: fmt.Sprintf("id-%d", i), EventType: audit.TypeAPICall, RecipientAccountID: "123456789012",
				UserIdentity: audit.UserIdentity{Type: "IAMUser", UserName: "alice"},
			})
		}
		j := audittest.LiveJournal(t, evs)
		x, err := export.New(export.Config{Dir: dir, StateDir: state})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- x.Run(ctx, j) }()
		time.Sleep(2*time.Hour + 10*time.Minute)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
	return dir, state
}

func TestAuditVerify(t *testing.T) {
	dir, _ := exportForTest(t)
	pubs, _ := filepath.Glob(filepath.Join(dir, "public-keys", "*.pem"))
	if len(pubs) != 1 {
		t.Fatalf("public keys %v, want one", pubs)
	}
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"audit", "verify", dir, "--public-key", pubs[0], "--verbose",
		"--start-time", "2000-01-01", "--end-time", "2000-01-02T00:00Z"}, &out, &errOut)
	if err != nil {
		t.Fatalf("audit verify = %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"Results requested for 2000-01-01T00:00:00Z to 2000-01-02T00:00:00Z",
		"Results found for 2000-01-01T00:00:00Z to 2000-01-01T02:00:00Z:", "2/2 digest files valid\n",
		"Digest file\t" + dir, "\tvalid\n", "Log file\t"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	t.Log(out.String())

	// Without --public-key it uses (and says it uses) DIR/public-keys.
	out.Reset()
	errOut.Reset()
	if err := run(t.Context(), []string{"audit", "verify", dir}, &out, &errOut); err != nil ||
		!strings.Contains(errOut.String(), "using the public keys in") || strings.Contains(out.String(), "\tvalid\n") ||
		!strings.Contains(out.String(), "WARNING: the newest digest of 123456789012/us-east-1 ends at 2000-01-01T02:00:00Z") {
		t.Errorf("audit verify without keys = %v\n%s%s", err, out.String(), errOut.String())
	}

	// A removed log file: exit status 1 and the file named.
	var victim string
	filepath.WalkDir(filepath.Join(dir, "AWSLogs"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && strings.Contains(p, "/CloudTrail/") && strings.HasSuffix(p, ".json.gz") && victim == "" {
			victim = p
		}
		return nil
	})
	if err := os.Remove(victim); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(t.Context(), []string{"audit", "verify", "--public-key", pubs[0], dir}, &out, &errOut)
	var code exitCode
	if !errors.As(err, &code) || code != 1 {
		t.Errorf("audit verify after removing a log = %v, want exit status 1", err)
	}
	for _, want := range []string{"Log file\t" + victim + "\tINVALID: not found", "\tremoved: ", "log files valid, 1/"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestAuditVerifyErrors(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	for _, tt := range []struct {
		args  []string
		usage bool
		out   string
	}{
		{args: []string{"audit", "verify"}, usage: true},
		{args: []string{"audit", "verify", empty, empty}, usage: true},
		{args: []string{"audit", "verify", empty, "--start-time", "yesterday"}, usage: true},
		{args: []string{"audit", "verify", empty, "--start-time", "2001-01-01", "--end-time", "2000-01-01"}, usage: true},
		{args: []string{"audit", "verify", empty}, out: "No digest files found"},
	} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), tt.args, &out, &errOut)
		var usage *usageError
		var code exitCode
		switch {
		case tt.usage && !errors.As(err, &usage):
			t.Errorf("run(%q) = %v, want a usage error", tt.args, err)
		case !tt.usage && (!errors.As(err, &code) || code != 1 || !strings.Contains(out.String(), tt.out)):
			t.Errorf("run(%q) = %v, output %q; want exit status 1 and %q", tt.args, err, out.String(), tt.out)
		}
	}
}
