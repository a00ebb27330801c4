package iamdb_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type goPackage struct {
	ImportPath string
	Doc        string
	Imports    []string
	Standard   bool
	Dir        string
}

func listPackages(t *testing.T, args ...string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(out)
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

// Every package says what it is for (STYLE.md: one doc.go per package).
func TestEveryPackageHasDoc(t *testing.T) {
	for _, p := range listPackages(t, "./...") {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package documentation", p.ImportPath)
		}
	}
}

// The pure cores do no I/O beyond the standard library and import only the standard library
// and each other, as DESIGN.md allows.
func TestPureCoresImportOnlyStdlib(t *testing.T) {
	const mod = "github.com/iamdb/iamdb/"
	allowed := map[string][]string{
		"sigv4":  nil,
		"arn":    nil,
		"token":  {"sigv4"},
		"policy": {"arn"},
		// The rds_iam convention's SQL and quoting: strings only, no database driver.
		"internal/rdsiam": nil,
		// The pg_hba.conf analysis of iamdb doctor: rules in, warnings out.
		"internal/pghba": nil,
		// Native mode's PAM, pg_hba and MariaDB configuration: text in, text out.
		"internal/nativeconf": nil,
	}
	std := map[string]bool{}
	for _, p := range listPackages(t, "std") {
		std[p.ImportPath] = true
	}
	for _, p := range listPackages(t, "./...") {
		name := strings.TrimPrefix(p.ImportPath, mod)
		ok, pure := allowed[name]
		if !pure {
			continue
		}
		for _, imp := range p.Imports {
			if std[imp] {
				continue
			}
			inside := false
			for _, a := range ok {
				if imp == mod+a {
					inside = true
				}
			}
			if !inside {
				t.Errorf("pure core %s imports %s", name, imp)
			}
		}
	}
}

// The public client packages import what DESIGN.md allows: the standard library, the pure
// cores, the AWS SDK (credentials only, in client) and each adapter its own driver — never
// the server's internal packages.
func TestClientImports(t *testing.T) {
	const mod = "github.com/iamdb/iamdb/"
	allowed := map[string][]string{
		"client":           {mod + "sigv4", mod + "token", "github.com/aws/aws-sdk-go-v2/"},
		"client/pgxauth":   {mod + "client", "github.com/jackc/pgx/v5"},
		"client/mysqlauth": {mod + "client", "github.com/go-sql-driver/mysql"},
	}
	std := map[string]bool{}
	for _, p := range listPackages(t, "std") {
		std[p.ImportPath] = true
	}
	seen := 0
	for _, p := range listPackages(t, "./client/...") {
		prefixes, ok := allowed[strings.TrimPrefix(p.ImportPath, mod)]
		if !ok {
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if std[imp] {
				continue
			}
			inside := false
			for _, a := range prefixes {
				if imp == a || !strings.HasPrefix(a, mod) && strings.HasPrefix(imp, strings.TrimSuffix(a, "/")+"/") {
					inside = true
				}
			}
			if !inside {
				t.Errorf("%s imports %s", p.ImportPath, imp)
			}
		}
	}
	if seen != len(allowed) {
		t.Errorf("found %d of the %d client packages", seen, len(allowed))
	}
}

// Test-only packages (internal/testenv/..., anything named *test such as localdbtest and
// storetest) are imported by tests and by each other, never by production code.
func TestTestOnlyPackagesStayInTests(t *testing.T) {
	const mod = "github.com/iamdb/iamdb/"
	testOnly := func(path string) bool {
		name := strings.TrimPrefix(path, mod)
		if name == path {
			return false // outside the module
		}
		last := name[strings.LastIndex(name, "/")+1:]
		return name == "internal/testenv" || strings.HasPrefix(name, "internal/testenv/") || strings.HasSuffix(last, "test")
	}
	seen := 0
	for _, p := range listPackages(t, "./...") {
		if testOnly(p.ImportPath) {
			seen++
			continue
		}
		for _, imp := range p.Imports {
			if testOnly(imp) {
				t.Errorf("production package %s imports the test-only package %s", p.ImportPath, imp)
			}
		}
	}
	if seen < 3 {
		t.Errorf("found %d test-only packages, want internal/testenv and the *test packages", seen)
	}
}
