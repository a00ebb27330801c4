package export

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

func TestReportWriteText(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	rep := Report{
		Oldest: t0, Newest: t0.Add(2 * time.Hour),
		Digests: []Result{{Object: "AWSLogs/1/d2.json.gz", Status: "valid"}, {Object: "AWSLogs/1/d1.json.gz", Status: "INVALID: hash value doesn't match", Details: []string{"event x edited"}}},
		Logs:    []Result{{Object: "AWSLogs/1/l1.json.gz", Status: "valid"}},
		Ends:    map[string]time.Time{"1/us-east-1": t0.Add(2 * time.Hour)},
	}
	dir := filepath.FromSlash("/x")
	want := "Validating log files in " + dir + " between the first digest and now\n\n" +
		"Digest file\t" + filepath.Join(dir, "AWSLogs", "1", "d1.json.gz") + "\tINVALID: hash value doesn't match\n\tevent x edited\n" +
		"\nResults requested for the first digest to now\n" +
		"Results found for 2026-12-07T01:00:00Z to 2026-12-07T03:00:00Z:\n\n" +
		"1/2 digest files valid, 1/2 digest files INVALID\n1/1 log files valid\n" +
		"WARNING: the newest digest of 1/us-east-1 ends at 2026-12-07T03:00:00Z: a running export writes one every hour\n"
	var b bytes.Buffer
	if err := rep.WriteText(&b, dir, false, t0.Add(6*time.Hour)); err != nil || b.String() != want {
		t.Errorf("WriteText = %v:\n%s\nwant:\n%s", err, b.String(), want)
	}
	// Verbose lists valid files too; a recent chain end and an asked end time warn of nothing.
	rep.To = t0.Add(3 * time.Hour)
	b.Reset()
	if err := rep.WriteText(&b, dir, true, t0.Add(6*time.Hour)); err != nil ||
		!bytes.Contains(b.Bytes(), []byte("Log file\t"+filepath.Join(dir, "AWSLogs", "1", "l1.json.gz")+"\tvalid\n")) ||
		bytes.Contains(b.Bytes(), []byte("WARNING")) || !bytes.Contains(b.Bytes(), []byte("to 2026-12-07T04:00:00Z\n")) {
		t.Errorf("WriteText verbose with an end time = %v:\n%s", err, b.String())
	}
	b.Reset()
	if err := (&Report{}).WriteText(&b, dir, false, t0); err != nil || !bytes.HasSuffix(b.Bytes(), []byte("No digest files found\n")) {
		t.Errorf("WriteText of no digests = %v:\n%s", err, b.String())
	}
}
