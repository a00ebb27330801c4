package export

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The AWS CLI's own validate-logs code (its digest key pattern, required fields,
// SHA256withRSA check and log hashes) accepts iamdb's digests, and rejects an edited one.
func TestAWSCLIValidatesDigests(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import awscli.customizations.cloudtrail.validation").Run()
	}
	if err != nil {
		msg := "python3 with the AWS CLI v1 module is missing; install: scripts/setup"
		if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s (IAMDB_REQUIRE_TOOLS=1): %v", msg, err)
		}
		t.Skipf("%s (IAMDB_REQUIRE_TOOLS=1 makes this a failure): %v", msg, err)
	}
	dir, keys := exported(t)
	edited := files(t, dir, "/CloudTrail-Digest/")[3]
	raw := readGz(t, dir, edited)
	writeGz(t, dir, edited, bytes.Replace(raw, []byte(`"digestStartTime":"2000-01-01T0`), []byte(`"digestStartTime":"2000-01-01T1`), 1))

	var cases []map[string]string
	digests := files(t, dir, "/CloudTrail-Digest/")
	for _, d := range digests {
		parts := strings.Split(d, "/")
		var sig sigFile
		b, err := os.ReadFile(filepath.Join(dir, d+".sig"))
		if err != nil || json.Unmarshal(b, &sig) != nil {
			t.Fatalf("%s.sig: %v", d, err)
		}
		cases = append(cases, map[string]string{
			"key": d, "bucket": "trail-bucket", "file": filepath.Join(dir, d), "root": dir,
			"account": parts[1], "region": parts[3], "trail": DefaultTrail, "home": DefaultHomeRegion,
			"signature":  sig.Signature,
			"public_key": base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(keys[keysFingerprint(keys)])),
		})
	}
	in := filepath.Join(t.TempDir(), "cases.json")
	b, _ := json.Marshal(cases)
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, filepath.Join("testdata", "awscli_validate.py"), in).CombinedOutput()
	if err != nil {
		t.Fatalf("awscli_validate.py: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(digests) {
		t.Fatalf("%d results for %d digests:\n%s", len(lines), len(digests), out)
	}
	for i, d := range digests {
		want := "ok"
		if d == edited {
			want = "fail: DigestSignatureError"
		}
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("the AWS CLI on %s: %s, want %s", d, lines[i], want)
		}
	}
}
