package console

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/iam"
)

// An administrator sets the password policy, which then refuses a too-short password on
// a user's page, changes it with a value the API refuses, and deletes it.
func TestAccountPasswordPolicy(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	c := e.signedIn("admin", adminPass)

	wantPage(t, "no policy", c.get(Prefix+"account"), http.StatusOK, "Account settings", "No password policy", "default applies", "at least 8 characters", "Set a password policy")

	// With "allow users to change their password", which grants the policy's reading to
	// every user: the admin's console session (no MFA) still reads it.
	form := url.Values{"minlength": {"14"}, "upper": {"1"}, "numbers": {"1"}, "maxage": {"90"}, "reuse": {"5"}, "allowchange": {"1"}}
	wantRedirect(t, "set policy", c.post(Prefix+"account/password-policy", form), Prefix+"account")
	got, err := e.svc.GetAccountPasswordPolicy(ctx, e.admin)
	if err != nil {
		t.Fatal(err)
	}
	want := iam.PasswordPolicy{MinimumPasswordLength: 14, RequireUppercaseCharacters: true, RequireNumbers: true, AllowUsersToChangePassword: true,
		ExpirePasswords: true, MaxPasswordAge: 90, PasswordReusePrevention: 5}
	if got != want {
		t.Fatalf("GetAccountPasswordPolicy = %+v, want %+v", got, want)
	}
	p := c.get(Prefix + "account")
	wantPage(t, "policy", p, http.StatusOK, "Password policy updated.", "14 characters", "after 90 days", "the last 5 passwords", "Delete password policy")
	wantHTML(t, "policy form", p, `name="minlength" min="6" max="128" value="14"`, `name="upper" value="1" checked`, `name="symbols" value="1">`)

	// A password shorter than the policy's minimum is refused on the user's page.
	if _, err := e.svc.CreateUser(ctx, e.admin, iam.CreateUserInput{UserName: "bob"}); err != nil {
		t.Fatal(err)
	}
	c.get(Prefix + "users/bob")
	p = c.post(Prefix+"users/bob/password", url.Values{"password": {"Short-pass-1"}})
	wantPage(t, "too short", p, http.StatusBadRequest, "PasswordPolicyViolation", "at least 14 characters")
	if _, err := e.svc.GetLoginProfile(ctx, e.admin, "bob"); !isIAMCode(err, "NoSuchEntity") {
		t.Fatalf("bob's login profile after a refused password: %v", err)
	}
	c.get(Prefix + "users/bob")
	wantRedirect(t, "long enough", c.post(Prefix+"users/bob/password", url.Values{"password": {"Long-enough-pass-1"}}), Prefix+"users/bob")

	// The API's validation error is shown; the policy is unchanged.
	c.get(Prefix + "account")
	wantPage(t, "min length 200", c.post(Prefix+"account/password-policy", url.Values{"minlength": {"200"}}), http.StatusBadRequest, "ValidationError", "minimumPasswordLength")
	wantPage(t, "max age 2000", c.post(Prefix+"account/password-policy", url.Values{"maxage": {"2000"}}), http.StatusBadRequest, "ValidationError", "maxPasswordAge")
	wantPage(t, "not a number", c.post(Prefix+"account/password-policy", url.Values{"reuse": {"many"}}), http.StatusBadRequest, "InvalidInput", "whole number")
	if got2, err := e.svc.GetAccountPasswordPolicy(ctx, e.admin); err != nil || got2 != want {
		t.Fatalf("after refused updates: %+v, %v", got2, err)
	}

	// Max age 0 is "never expire".
	wantRedirect(t, "no expiry", c.post(Prefix+"account/password-policy", url.Values{"minlength": {"10"}, "maxage": {"0"}, "reuse": {"0"}}), Prefix+"account")
	if got, err := e.svc.GetAccountPasswordPolicy(ctx, e.admin); err != nil || got.ExpirePasswords || got.MinimumPasswordLength != 10 || got.PasswordReusePrevention != 0 {
		t.Fatalf("after max age 0: %+v, %v", got, err)
	}

	wantRedirect(t, "delete policy", c.post(Prefix+"account/password-policy/delete", nil), Prefix+"account")
	if _, err := e.svc.GetAccountPasswordPolicy(ctx, e.admin); !isIAMCode(err, "NoSuchEntity") {
		t.Fatalf("GetAccountPasswordPolicy after delete: %v", err)
	}
	wantPage(t, "deleted", c.get(Prefix+"account"), http.StatusOK, "Password policy deleted", "No password policy", "default applies")
}

// isIAMCode reports whether err is an *iam.Error with code.
func isIAMCode(err error, code string) bool {
	var ie *iam.Error
	return errors.As(err, &ie) && ie.Code == code
}

// The credential report shows a user with a console password, and its CSV downloads.
func TestAccountCredentialReport(t *testing.T) {
	e := newTestEnv(t, nil)
	e.user("carol", "", "Carol-pass-12")
	ctx := context.Background()
	if _, err := e.svc.CreateUser(ctx, e.admin, iam.CreateUserInput{UserName: "dave"}); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn("admin", adminPass)
	p := c.get(Prefix + "account")
	wantPage(t, "report", p, http.StatusOK, "Credential report", "Download CSV", "carol", "dave", "arn:aws:iam::"+testAccount+":user/carol")
	wantHTML(t, "report", p, `<th scope="row" title="arn:aws:iam::`+testAccount+`:user/carol">carol</th>
<td><span class="badge ok">yes</span></td>`, `<th scope="row" title="arn:aws:iam::`+testAccount+`:user/dave">dave</th>
<td><span class="badge">no</span></td>`, `href="/console/account/credential-report.csv"`)

	req, err := http.NewRequest(http.MethodGet, e.srv.URL+Prefix+"account/credential-report.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment; filename=") {
		t.Fatalf("download: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("the download is not CSV: %v\n%s", err, body)
	}
	if strings.Join(recs[0], ",") != iam.CredentialReportHeader {
		t.Fatalf("header %q, want %q", recs[0], iam.CredentialReportHeader)
	}
	found := false
	for _, r := range recs[1:] {
		if r[0] == "carol" {
			found = true
			if r[3] != "true" {
				t.Errorf("carol's password_enabled = %q, want true", r[3])
			}
		}
	}
	if !found {
		t.Fatalf("carol is not in the CSV:\n%s", body)
	}
}

// A person without permissions gets 403 AccessDenied: no policy, no report, no changes.
func TestAccountDenied(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	c := e.signedIn("admin", adminPass)
	wantRedirect(t, "set policy", c.post(Prefix+"account/password-policy", url.Values{"minlength": {"12"}}), Prefix+"account")

	n := e.person("nobody", "")
	wantDenied(t, "account page", n.get(Prefix+"account"), "iam:GetAccountPasswordPolicy", "12 characters", "admin")
	wantDenied(t, "account page", n.get(Prefix+"account"), "iam:GenerateCredentialReport")
	wantDenied(t, "download", n.get(Prefix+"account/credential-report.csv"), "iam:GenerateCredentialReport", "admin")
	wantDenied(t, "update", n.post(Prefix+"account/password-policy", url.Values{"minlength": {"6"}}), "iam:UpdateAccountPasswordPolicy")
	wantDenied(t, "delete", n.post(Prefix+"account/password-policy/delete", nil), "iam:DeleteAccountPasswordPolicy")
	if got, err := e.svc.GetAccountPasswordPolicy(ctx, e.admin); err != nil || got.MinimumPasswordLength != 12 {
		t.Fatalf("the policy after refused changes: %+v, %v", got, err)
	}

	// Someone who may read the report but not the policy sees the report, not the policy.
	r := e.person("reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GetCredentialReport"],"Resource":"*"}]}`)
	p := r.get(Prefix + "account")
	wantPage(t, "reader", p, http.StatusOK, "AccessDenied", "iam:GetAccountPasswordPolicy", "Download CSV", "nobody")
	if strings.Contains(p.Body, "12 characters") {
		t.Error("the reader's page shows the policy")
	}

	// Someone who may read the last report but not generate one reads the last one.
	g := e.person("getter", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetCredentialReport","Resource":"*"}]}`)
	wantPage(t, "getter", g.get(Prefix+"account"), http.StatusOK, "Download CSV", "nobody", "reader")
	wantPage(t, "getter's download", g.get(Prefix+"account/credential-report.csv"), http.StatusOK, "nobody,arn:aws:iam::"+testAccount+":user/nobody")
}

func TestParseCredentialReport(t *testing.T) {
	t.Parallel()
	head := iam.CredentialReportHeader + "\n"
	line := func(u string) string {
		return u + ",arn:aws:iam::111122223333:user/" + u + ",2026-01-01T00:00:00+00:00,true,N/A,2026-01-01T00:00:00+00:00,N/A,false,true,2026-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
	}
	for _, tt := range []struct {
		name      string
		in        string
		maxRows   int
		wantRows  int
		truncated bool
		wantErr   bool
	}{
		{"header only", head, 10, 0, false, false},
		{"two users", head + line("a") + line("b"), 10, 2, false, false},
		{"at the bound", head + line("a") + line("b"), 2, 2, false, false},
		{"over the bound", head + line("a") + line("b") + line("c"), 2, 2, true, false},
		{"columns reordered", "password_enabled,user\ntrue,a\n", 10, 1, false, false},
		{"empty", "", 10, 0, false, true},
		{"no user column", "arn\nx\n", 10, 0, false, true},
		{"ragged", head + "a,b\n", 10, 0, false, true},
		{"bad quote", head + `"a` + "\n", 10, 0, false, true},
	} {
		rows, trunc, err := parseCredentialReport([]byte(tt.in), 1<<20, tt.maxRows)
		if (err != nil) != tt.wantErr || len(rows) != tt.wantRows || trunc != tt.truncated {
			t.Errorf("%s: parseCredentialReport = %d rows, truncated %v, %v; want %d, %v, error %v", tt.name, len(rows), trunc, err, tt.wantRows, tt.truncated, tt.wantErr)
		}
	}
	rows, _, err := parseCredentialReport([]byte("password_enabled,user\ntrue,a\n"), 1<<20, 10)
	if err != nil || rows[0].User != "a" || rows[0].PasswordEnabled != "true" {
		t.Errorf("reordered columns: %+v, %v", rows, err)
	}
	rows, _, err = parseCredentialReport([]byte(head+line("a")), 1<<20, 10)
	if err != nil || rows[0].User != "a" || rows[0].PasswordEnabled != "true" || rows[0].MFAActive != "false" || rows[0].Key1Active != "true" || rows[0].Key1LastRotated != "2026-01-01T00:00:00+00:00" {
		t.Errorf("a report line: %+v, %v", rows, err)
	}
	if _, _, err := parseCredentialReport([]byte(head+line("a")), len(head), 10); !errors.Is(err, errReportTooLarge) {
		t.Errorf("over the byte bound: %v, want %v", err, errReportTooLarge)
	}
}

// FuzzParseCredentialReport: whatever the report holds, the parser returns an error or at
// most its bound of rows, and never reads a report over its byte bound.
func FuzzParseCredentialReport(f *testing.F) {
	f.Add([]byte(iam.CredentialReportHeader + "\n<root_account>,arn:aws:iam::111122223333:root,2026-01-01T00:00:00+00:00,not_supported,N/A,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"))
	f.Add([]byte("user\na\nb\nc\nd\n"))
	f.Add([]byte("user,x\n\"a\"\"b\",\"c\nd\"\n"))
	f.Add([]byte(""))
	const maxBytes, maxRows = 4096, 3
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, trunc, err := parseCredentialReport(b, maxBytes, maxRows)
		if len(b) > maxBytes && !errors.Is(err, errReportTooLarge) {
			t.Fatalf("%d bytes: %v, want %v", len(b), err, errReportTooLarge)
		}
		if err != nil && (rows != nil || trunc) {
			t.Fatalf("error %v with %d rows, truncated %v", err, len(rows), trunc)
		}
		if len(rows) > maxRows || trunc && len(rows) != maxRows {
			t.Fatalf("%d rows, truncated %v, bound %d", len(rows), trunc, maxRows)
		}
	})
}
