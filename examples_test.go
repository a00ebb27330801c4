package iamdb_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestExamples runs every examples/*/run: the seed documents' scenarios end to end against
// "iamdb dev", with the real AWS CLI, psql and mariadb. Each script asserts the seed's
// visible outcome and exits non-zero on any difference.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("starts iamdb dev once per example")
	}
	runs, err := filepath.Glob("examples/*/run")
	if err != nil || len(runs) == 0 {
		t.Fatalf("no examples/*/run: %v", err)
	}
	for _, tool := range []string{"/usr/bin/aws", "psql", "mariadb"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
				t.Fatalf("%s is missing and IAMDB_REQUIRE_TOOLS=1 (scripts/setup installs it)", tool)
			}
			t.Skipf("%s is missing (scripts/setup installs it)", tool)
		}
	}
	for _, run := range runs {
		name := filepath.Base(filepath.Dir(run))
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", run)
			cmd.Stdin = nil
			cmd.WaitDelay = 10 * time.Second
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("%s: %v\n%s", run, err, out)
			} else {
				t.Logf("%s", out)
			}
		})
	}
}
