package doctor

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every finding doctor makes has its row in docs/troubleshooting.md.
func TestEveryFindingDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	finding := regexp.MustCompile(`\b(fail|warn)\("([a-z_]+)"`)
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range finding.FindAllStringSubmatch(string(src), -1) {
			check := m[2]
			if seen[check] {
				continue
			}
			seen[check] = true
			if !regexp.MustCompile("`(FAIL|WARN) " + check + "[ `]").Match(doc) {
				t.Errorf("docs/troubleshooting.md has no row for %s's findings (%s)", check, f)
			}
		}
	}
	if len(seen) < 20 {
		t.Errorf("found %d checks in the sources: the pattern is stale", len(seen))
	}
}
