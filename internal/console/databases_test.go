package console

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

// registerDBs registers a PostgreSQL instance (IAM auth off) and an Aurora MySQL cluster
// (IAM auth on).
func (e *testEnv) registerDBs() (pg, my iam.Database) {
	e.t.Helper()
	ctx := context.Background()
	pg, err := e.svc.RegisterDatabase(ctx, iam.DatabaseSpec{Identifier: "orders", Engine: "postgres",
		Endpoints: []string{"orders.db.internal"}, Port: 5433})
	if err != nil {
		e.t.Fatal(err)
	}
	my, err = e.svc.RegisterDatabase(ctx, iam.DatabaseSpec{Identifier: "shop", Engine: "aurora-mysql",
		Endpoints: []string{"shop.db.internal"}, Port: 3307, IAMAuth: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return pg, my
}

const describeOnly = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["rds:DescribeDBInstances","rds:DescribeDBClusters"],"Resource":"*"}]}`

// The list shows both kinds; the toggle changes IAM authentication through the API, as
// the signed-in person: one without rds:ModifyDBInstance gets 403 and changes nothing,
// one without rds:DescribeDBInstances sees no databases.
func TestDatabasesPage(t *testing.T) {
	e := newTestEnv(t, nil)
	pg, my := e.registerDBs()
	c := e.signedIn("admin", adminPass)

	p := c.get(Prefix + "databases")
	wantPage(t, "databases", p, http.StatusOK, "orders", "shop", "postgres", "aurora-mysql",
		"orders.db.internal:5433", "shop.db.internal:3307", pg.ResourceID, my.ResourceID, testRegion, "instance", "cluster")

	p = c.post(Prefix+"databases/orders/iam", url.Values{"kind": {"instance"}, "enable": {"true"}})
	if p.Status != http.StatusSeeOther || p.Location != Prefix+"databases" {
		t.Fatalf("turn on: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	if db, _ := e.svc.DatabaseByEndpoint("orders.db.internal", 5433); !db.IAMAuth {
		t.Fatal("IAM authentication of orders is still off after turning it on")
	}
	wantPage(t, "after turning on", c.get(Prefix+"databases"), http.StatusOK, "IAM database authentication of orders is on.")
	p = c.post(Prefix+"databases/shop/iam", url.Values{"kind": {"cluster"}, "enable": {"false"}, "back": {"detail"}})
	if p.Status != http.StatusSeeOther || p.Location != Prefix+"databases/shop?kind=cluster" {
		t.Fatalf("turn off: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	if db, _ := e.svc.DatabaseByEndpoint("shop.db.internal", 3307); db.IAMAuth {
		t.Fatal("IAM authentication of shop is still on after turning it off")
	}
	wantPage(t, "cluster page", c.get(p.Location), http.StatusOK, "IAM database authentication is off", my.ResourceID)

	e.user("viewer", describeOnly, "Viewer-console-1")
	v := e.signedIn("viewer", "Viewer-console-1")
	wantPage(t, "viewer's list", v.get(Prefix+"databases"), http.StatusOK, "orders", "shop")
	p = v.post(Prefix+"databases/orders/iam", url.Values{"kind": {"instance"}, "enable": {"false"}})
	wantDenied(t, "viewer's toggle", p, "rds:ModifyDBInstance")
	if db, _ := e.svc.DatabaseByEndpoint("orders.db.internal", 5433); !db.IAMAuth {
		t.Fatal("a refused toggle turned IAM authentication off")
	}

	n := e.person("nobody", "")
	wantDenied(t, "list without rds:DescribeDBInstances", n.get(Prefix+"databases"), "", pg.ResourceID)
	wantDenied(t, "page without rds:DescribeDBInstances", n.get(Prefix+"databases/orders?kind=instance&user=u"), "")
}

// preText returns the text of the page's <pre> blocks, unescaped.
func preText(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?s)<pre data-copy>(.*?)</pre>`).FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// snippet returns the <pre> block that starts with prefix.
func snippet(t *testing.T, p page, prefix string) string {
	t.Helper()
	for _, s := range preText(p.Body) {
		if strings.HasPrefix(s, prefix) {
			return s
		}
	}
	t.Fatalf("no snippet starting with %q in\n%s", prefix, p.Body)
	return ""
}

// runShell runs script with sh in dir, with aws, psql and mariadb replaced by functions
// that print their arguments (aws's each in brackets; the others' one a line, after
// PGPASSWORD / MYSQL_PWD).
func runShell(t *testing.T, dir, script string) string {
	t.Helper()
	fakes := `aws() { printf 'token-for:'; printf '[%s]' "$@"; echo; }
psql() { printf 'PGPASSWORD=%s\n' "$PGPASSWORD"; printf 'arg:%s\n' "$@"; }
mariadb() { printf 'MYSQL_PWD=%s\n' "$MYSQL_PWD"; printf 'arg:%s\n' "$@"; }
IAMDB_CA_FILE=/ca.pem
`
	cmd := exec.Command("sh", "-c", fakes+script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s\n%s", err, script, out)
	}
	return string(out)
}

// The snippets name the database's host, port, region and resource ID, sign against the
// console's origin, and keep a hostile user name one word: run by a shell, it is the
// argument, and nothing else runs.
func TestDatabaseSnippets(t *testing.T) {
	e := newTestEnv(t, nil)
	pg, my := e.registerDBs()
	c := e.signedIn("admin", adminPass)

	p := c.get(Prefix + "databases/orders?kind=instance&user=iam_user&dbname=app")
	arn := "arn:aws:rds-db:" + testRegion + ":" + testAccount + ":dbuser:" + pg.ResourceID + "/iam_user"
	wantPage(t, "snippets", p, http.StatusOK, arn, "IAM database authentication is off")
	tok := snippet(t, p, "aws rds generate-db-auth-token")
	want := "aws rds generate-db-auth-token --hostname orders.db.internal --port 5433 --region " + testRegion +
		" --username iam_user --endpoint-url " + e.srv.URL
	if tok != want {
		t.Errorf("token line:\n%s\nwant\n%s", tok, want)
	}
	psql := snippet(t, p, "PGPASSWORD=")
	out := runShell(t, t.TempDir(), psql)
	if !strings.Contains(out, "PGPASSWORD=token-for:[rds][generate-db-auth-token][--hostname][orders.db.internal][--port][5433]") ||
		!strings.Contains(out, "arg:host=orders.db.internal port=5433 user=iam_user dbname=app sslmode=verify-full\n") {
		t.Errorf("psql snippet runs as\n%s", out)
	}
	if !strings.Contains(snippet(t, p, "iamdb connect psql"), `--ca-file "$IAMDB_CA_FILE"`) {
		t.Error("the connect line has no CA file")
	}
	if d := snippet(t, p, "iamdb doctor"); d != "iamdb doctor --hostname orders.db.internal --port 5433 --username iam_user --engine postgres --region "+
		testRegion+" --endpoint "+e.srv.URL+` --ca-file "$IAMDB_CA_FILE"` {
		t.Errorf("doctor line: %s", d)
	}
	if g := snippet(t, p, "// github.com/iamdb/iamdb/client"); !strings.Contains(g, "pgxauth.BeforeConnect(src, pgxauth.Options{})") {
		t.Errorf("Go snippet:\n%s", g)
	}
	if pol := snippet(t, p, "{"); !strings.Contains(pol, `"Resource": "`+arn+`"`) || !strings.Contains(pol, `"Action": "rds-db:connect"`) {
		t.Errorf("policy snippet:\n%s", pol)
	}

	// A hostile name: quotes, a command substitution, a newline-free injection attempt.
	hostile := `x'; touch pwned-a; echo '$(touch pwned-b)` + "`touch pwned-c`\"\\"
	if err := rdsiam.CheckPostgresUser(hostile); err != nil {
		t.Fatalf("the hostile name is not a valid PostgreSQL user name, so this tests nothing: %v", err)
	}
	p = c.get(Prefix + "databases/orders?kind=instance&user=" + url.QueryEscape(hostile) + "&as=" +
		url.QueryEscape("arn:aws:iam::"+testAccount+":role/app'role"))
	wantPage(t, "hostile snippets", p, http.StatusOK, "Assume the role")
	dir := t.TempDir()
	for _, prefix := range []string{"aws rds generate-db-auth-token", "PGPASSWORD="} {
		s := snippet(t, p, prefix)
		out := runShell(t, dir, s)
		if !strings.Contains(out, "[--username]["+hostile+"][--endpoint-url]") {
			t.Errorf("%s: the user name did not stay one argument:\n%s\n%s", prefix, s, out)
		}
		if prefix == "PGPASSWORD=" && !strings.Contains(out, "arg:host=orders.db.internal port=5433 user="+rdsiam.QuotePostgresConnValue(hostile)+" dbname=postgres ") {
			t.Errorf("psql's connection string is not libpq-quoted:\n%s", out)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) > 0 {
		t.Fatalf("a snippet ran a command of the user name: %v", ents)
	}
	if g := snippet(t, p, "// github.com/iamdb/iamdb/client"); !strings.Contains(g, `RoleARN: "arn:aws:iam::`+testAccount+`:role/app'role"`) {
		t.Errorf("Go snippet with a role:\n%s", g)
	}
	if !strings.Contains(snippet(t, p, "set -- $(aws sts assume-role"), `--role-arn 'arn:aws:iam::`+testAccount+`:role/app'\''role'`) {
		t.Error("the role ARN is not shell-quoted")
	}

	// MySQL: the cluster's host and port, and the name one argument too.
	p = c.get(Prefix + "databases/shop?user=" + url.QueryEscape(`o'brien`))
	wantPage(t, "mysql snippets", p, http.StatusOK, "dbuser:"+my.ResourceID+"/o'brien")
	out = runShell(t, filepath.Join(dir), snippet(t, p, "MYSQL_PWD="))
	for _, w := range []string{"MYSQL_PWD=token-for:[rds][generate-db-auth-token][--hostname][shop.db.internal][--port][3307]",
		"arg:--user=o'brien\n", "arg:--ssl-ca=/ca.pem\n", "arg:--ssl-verify-server-cert\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("mariadb snippet runs without %q:\n%s", w, out)
		}
	}

	// Names the database would not keep, or that would be wildcards in the policy.
	for _, bad := range []string{"*", "app?", "${aws:username}", "a\nb", strings.Repeat("x", 64)} {
		p = c.get(Prefix + "databases/orders?kind=instance&user=" + url.QueryEscape(bad))
		wantPage(t, "bad name "+bad, p, http.StatusOK, "Database user:")
		if len(preText(p.Body)) > 0 {
			t.Errorf("snippets for the bad name %q", bad)
		}
	}
	p = c.get(Prefix + "databases/orders?kind=instance&user=u&as=" + url.QueryEscape("arn:aws:iam::"+testAccount+":user/bob"))
	wantPage(t, "as a user ARN", p, http.StatusOK, "Role to assume: not a role ARN")
}

// FuzzShellQuote: whatever the input, sh reads the quoted word back as the input.
func FuzzShellQuote(f *testing.F) {
	for _, s := range []string{"", "a", "it's", `'"$x\`, "a b", "$(id)", "`id`", "''", "-x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 256 || strings.ContainsRune(s, 0) {
			return
		}
		q := shellQuote(s)
		out, err := exec.Command("sh", "-c", "printf %s "+q).Output()
		if err != nil {
			t.Fatalf("sh -c printf %%s %s: %v", q, err)
		}
		if string(out) != s {
			t.Fatalf("shellQuote(%q) = %s, read back as %q", s, q, out)
		}
	})
}
