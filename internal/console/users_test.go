package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
)

const testPolicyDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`

// totp is RFC 6238's code (HMAC-SHA-1, 30 s, 6 digits) of a base32 seed at step counter,
// written here from the RFC so that the test does not share the server's code.
func totp(t *testing.T, seed string, counter int64) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(seed)
	if err != nil {
		t.Fatalf("seed %q: %v", seed, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[19] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:])&0x7fffffff)%1000000)
}

func TestTOTPVector(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, T = 59: 94287082 (8 digits), so 287082 in 6.
	seed := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	if got := totp(t, seed, 59/30); got != "287082" {
		t.Fatalf("totp = %s, want 287082", got)
	}
}

// An administrator manages a user from its page: groups, managed and inline policies, an
// access key whose secret is shown once, and deletion, refused while things are attached.
func TestUserPage(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	if _, err := e.svc.CreateGroup(ctx, e.admin, iam.CreateGroupInput{GroupName: "devs"}); err != nil {
		t.Fatal(err)
	}
	polARN := e.policy("read-s3", testPolicyDoc)
	c := e.signedIn("admin", adminPass)
	wantRedirect(t, "create user", c.post(Prefix+"users", url.Values{"name": {"bob"}}), Prefix+"users/bob")

	p := c.get(Prefix + "users/bob")
	wantPage(t, "bob", p, http.StatusOK, "User bob", "arn:aws:iam::"+testAccount+":user/bob", "User bob created.",
		"In no group.", polARN, "No inline policies.", "No console password.", "No MFA devices.", "No access keys.")

	wantHTML(t, "bob", p, `<option>devs</option>`)

	// Groups.
	wantRedirect(t, "add to group", c.post(Prefix+"users/bob/groups", url.Values{"group": {"devs"}}), Prefix+"users/bob")
	gs, err := e.svc.ListGroupsForUser(ctx, e.admin, iam.ListNamedInput{Name: "bob"})
	if err != nil || len(gs.Groups) != 1 || gs.Groups[0].GroupName != "devs" {
		t.Fatalf("bob's groups: %+v, %v", gs, err)
	}
	wantPage(t, "bob in devs", c.get(Prefix+"users/bob"), http.StatusOK, "/console/groups/devs", "/console/users/bob/groups/devs/remove")

	// Managed and inline policies.
	wantRedirect(t, "attach", c.post(Prefix+"users/bob/policies", url.Values{"arn": {polARN}}), Prefix+"users/bob")
	at, err := e.svc.ListAttachedUserPolicies(ctx, e.admin, iam.ListAttachedPoliciesInput{Name: "bob"})
	if err != nil || len(at.AttachedPolicies) != 1 || at.AttachedPolicies[0].PolicyARN != polARN {
		t.Fatalf("bob's policies: %+v, %v", at, err)
	}
	if err := e.svc.PutUserPolicy(ctx, e.admin, "bob", "inline-s3", testPolicyDoc); err != nil {
		t.Fatal(err)
	}
	wantPage(t, "bob's policies", c.get(Prefix+"users/bob"), http.StatusOK, "read-s3", "inline-s3", `"Action": "s3:GetObject"`)

	// An access key: its secret on the POST's answer only.
	p = c.post(Prefix+"users/bob/keys", nil)
	wantPage(t, "create key", p, http.StatusOK, "only time the secret access key is shown")
	m := regexp.MustCompile(`<dt>Access key ID</dt><dd><pre data-copy>([A-Z0-9]+)</pre>`).FindStringSubmatch(p.Body)
	ms := regexp.MustCompile(`<dt>Secret access key</dt><dd><pre data-copy>([^<]+)</pre>`).FindStringSubmatch(p.Body)
	if m == nil || ms == nil || p.Location != "" {
		t.Fatalf("the new key's page: %q\n%s", p.Location, p.Body)
	}
	akid, secret := m[1], html.UnescapeString(ms[1])
	keys, err := e.svc.ListAccessKeys(ctx, e.admin, iam.ListNamedInput{Name: "bob"})
	if err != nil || len(keys.AccessKeys) != 1 || keys.AccessKeys[0].AccessKeyID != akid || keys.AccessKeys[0].Status != "Active" {
		t.Fatalf("bob's keys: %+v, %v", keys, err)
	}
	p = c.get(Prefix + "users/bob")
	wantPage(t, "bob with a key", p, http.StatusOK, akid, "Active", "Make inactive")
	if strings.Contains(p.Body, secret) || strings.Contains(p.Body, html.EscapeString(secret)) {
		t.Fatal("the user's page shows the key's secret")
	}
	wantRedirect(t, "deactivate key", c.post(Prefix+"users/bob/keys/"+akid+"/status", url.Values{"status": {"Inactive"}}), Prefix+"users/bob")
	if keys, _ := e.svc.ListAccessKeys(ctx, e.admin, iam.ListNamedInput{Name: "bob"}); len(keys.AccessKeys) != 1 || keys.AccessKeys[0].Status != "Inactive" {
		t.Fatalf("after deactivating: %+v", keys)
	}
	p = c.get(Prefix + "users/bob")
	wantPage(t, "inactive key", p, http.StatusOK, "Inactive", "Make active")
	if strings.Contains(p.Body, secret) || strings.Contains(p.Body, html.EscapeString(secret)) {
		t.Fatal("a later page shows the key's secret")
	}

	// Deleting the user is refused while it has a key, a group, policies: AWS's error shown.
	p = c.post(Prefix+"users/bob/delete", nil)
	wantPage(t, "delete bob with attachments", p, http.StatusConflict, "DeleteConflict")
	if _, err := e.svc.GetUser(ctx, e.admin, "bob"); err != nil {
		t.Fatalf("bob after a refused delete: %v", err)
	}

	wantRedirect(t, "delete key", c.post(Prefix+"users/bob/keys/"+akid+"/delete", nil), Prefix+"users/bob")
	wantRedirect(t, "remove from group", c.post(Prefix+"users/bob/groups/devs/remove", nil), Prefix+"users/bob")
	wantRedirect(t, "detach", c.post(Prefix+"users/bob/policies/detach", url.Values{"arn": {polARN}}), Prefix+"users/bob")
	wantRedirect(t, "delete inline", c.post(Prefix+"users/bob/inline/inline-s3/delete", nil), Prefix+"users/bob")
	p = c.get(Prefix + "users/bob")
	wantPage(t, "bob bare", p, http.StatusOK, "In no group.", "No managed policies attached.", "No inline policies.", "No access keys.")
	if keys, _ := e.svc.ListAccessKeys(ctx, e.admin, iam.ListNamedInput{Name: "bob"}); len(keys.AccessKeys) != 0 {
		t.Fatalf("after deleting the key: %+v", keys)
	}
	wantRedirect(t, "delete bob", c.post(Prefix+"users/bob/delete", nil), Prefix+"users")
	if _, err := e.svc.GetUser(ctx, e.admin, "bob"); err == nil {
		t.Fatal("bob still exists")
	}
	wantPage(t, "bob gone", c.get(Prefix+"users/bob"), http.StatusNotFound, "NoSuchEntity")
}

// A console password: created with "require reset", reset, deleted; and the signed-in
// user's own password change.
func TestUserLoginProfile(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	if _, err := e.svc.CreateUser(ctx, e.admin, iam.CreateUserInput{UserName: "carol"}); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn("admin", adminPass)
	wantPage(t, "carol", c.get(Prefix+"users/carol"), http.StatusOK, "No console password.", "Create console password")
	if p := c.get(Prefix + "users/carol"); strings.Contains(p.Body, "Change your password") {
		t.Error("another user's page offers to change one's own password")
	}

	wantRedirect(t, "create password", c.post(Prefix+"users/carol/password", url.Values{"password": {"Carol-pass-1"}, "reset": {"1"}}), Prefix+"users/carol")
	lp, err := e.svc.GetLoginProfile(ctx, e.admin, "carol")
	if err != nil || !lp.PasswordResetRequired {
		t.Fatalf("carol's login profile: %+v, %v", lp, err)
	}
	wantPage(t, "carol with a password", c.get(Prefix+"users/carol"), http.StatusOK, "reset required", "Reset password", "Delete console password")

	wantRedirect(t, "reset password", c.post(Prefix+"users/carol/password/update", url.Values{"password": {"Carol-pass-2"}}), Prefix+"users/carol")
	if lp, err := e.svc.GetLoginProfile(ctx, e.admin, "carol"); err != nil || lp.PasswordResetRequired {
		t.Fatalf("carol's login profile after the reset: %+v, %v", lp, err)
	}
	// The new password works (carol may do nothing else).
	e.signedIn("carol", "Carol-pass-2")

	wantRedirect(t, "delete password", c.post(Prefix+"users/carol/password/delete", nil), Prefix+"users/carol")
	if _, err := e.svc.GetLoginProfile(ctx, e.admin, "carol"); err == nil {
		t.Fatal("carol still has a login profile")
	}
	wantPage(t, "carol without a password", c.get(Prefix+"users/carol"), http.StatusOK, "No console password.")

	// The admin's own page: "my security credentials", with the change-password form.
	wantRedirect(t, "me", c.get(Prefix+"me"), Prefix+"users/admin")
	wantPage(t, "admin's page", c.get(Prefix+"users/admin"), http.StatusOK, "Change your password")
	p := c.post(Prefix+"users/admin/password/change", url.Values{"old": {adminPass}, "new": {"Admin-console-2"}, "new2": {"Admin-console-3"}})
	wantPage(t, "mismatched new passwords", p, http.StatusBadRequest, "do not match")
	p = c.post(Prefix+"users/carol/password/change", url.Values{"old": {adminPass}, "new": {"Admin-console-2"}, "new2": {"Admin-console-2"}})
	wantPage(t, "change another's password", p, http.StatusBadRequest, "only your own password")
	p = c.post(Prefix+"users/admin/password/change", url.Values{"old": {"wrong"}, "new": {"Admin-console-2"}, "new2": {"Admin-console-2"}})
	if p.Status < 400 {
		t.Fatalf("change with a wrong old password: %d", p.Status)
	}
	wantRedirect(t, "change password", c.post(Prefix+"users/admin/password/change", url.Values{"old": {adminPass}, "new": {"Admin-console-2"}, "new2": {"Admin-console-2"}}), Prefix+"users/admin")
	if p := e.client().trySignIn("admin", adminPass, ""); p.Status == http.StatusSeeOther {
		t.Fatal("the old password still signs in")
	}
	e.signedIn("admin", "Admin-console-2")
}

var (
	seedText    = regexp.MustCompile(`Secret key \(Base32\): <code>([A-Z2-7]+)</code>`)
	serialField = regexp.MustCompile(`name="serial" value="([^"]+)"`)
)

// A virtual MFA device: its seed and QR code shown once, wrong codes refused, two
// consecutive codes enable it, sign-in then needs a code, and deactivation removes it.
func TestUserVirtualMFA(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	e.user("dave", "", "Dave-pass-1")
	c := e.signedIn("admin", adminPass)

	p := c.post(Prefix+"users/dave/mfa", url.Values{"device": {"dave-phone"}})
	wantPage(t, "create MFA device", p, http.StatusOK, "shown only this once")
	wantHTML(t, "create MFA device", p, `<img src="data:image/png;base64,iVBORw0KGgo`)
	sm, rm := seedText.FindStringSubmatch(p.Body), serialField.FindStringSubmatch(p.Body)
	if sm == nil || rm == nil {
		t.Fatalf("no seed or serial on the page:\n%s", p.Body)
	}
	seed, serial := sm[1], html.UnescapeString(rm[1])
	if serial != "arn:aws:iam::"+testAccount+":mfa/dave-phone" {
		t.Fatalf("serial %q", serial)
	}

	// Wrong codes: the form again, without the seed.
	p = c.post(Prefix+"users/dave/mfa/enable", url.Values{"serial": {serial}, "code1": {"000000"}, "code2": {"000001"}})
	if p.Status < 400 || !strings.Contains(p.Body, "InvalidAuthenticationCode") || strings.Contains(p.Body, seed) || !strings.Contains(p.Body, `name="code1"`) {
		t.Fatalf("wrong codes: %d\n%s", p.Status, p.Body)
	}
	if d, _ := e.svc.ListMFADevices(ctx, e.admin, iam.ListNamedInput{Name: "dave"}); len(d.MFADevices) != 0 {
		t.Fatalf("wrong codes enabled a device: %+v", d)
	}

	now := time.Now().Unix() / 30
	p = c.post(Prefix+"users/dave/mfa/enable", url.Values{"serial": {serial}, "code1": {totp(t, seed, now-1)}, "code2": {totp(t, seed, now)}})
	wantRedirect(t, "enable MFA", p, Prefix+"users/dave")
	d, err := e.svc.ListMFADevices(ctx, e.admin, iam.ListNamedInput{Name: "dave"})
	if err != nil || len(d.MFADevices) != 1 || d.MFADevices[0].SerialNumber != serial {
		t.Fatalf("dave's MFA devices: %+v, %v", d, err)
	}
	p = c.get(Prefix + "users/dave")
	wantPage(t, "dave with MFA", p, http.StatusOK, serial, "Deactivate")
	if strings.Contains(p.Body, seed) {
		t.Fatal("the user's page shows the MFA seed")
	}

	// Dave now needs a code to sign in; the device's next code lets him in.
	if p := e.client().trySignIn("dave", "Dave-pass-1", ""); p.Status == http.StatusSeeOther {
		t.Fatal("signed in without an MFA code")
	}
	e.client().signIn("dave", "Dave-pass-1", totp(t, seed, now+1))

	wantRedirect(t, "deactivate MFA", c.post(Prefix+"users/dave/mfa/deactivate", url.Values{"serial": {serial}}), Prefix+"users/dave")
	if d, _ := e.svc.ListMFADevices(ctx, e.admin, iam.ListNamedInput{Name: "dave"}); len(d.MFADevices) != 0 {
		t.Fatalf("after deactivating: %+v", d)
	}
	v, err := e.svc.ListVirtualMFADevices(ctx, e.admin, iam.ListVirtualMFADevicesInput{})
	if err != nil || len(v.VirtualMFADevices) != 0 {
		t.Fatalf("virtual MFA devices after deactivating: %+v, %v", v, err)
	}
	wantPage(t, "dave without MFA", c.get(Prefix+"users/dave"), http.StatusOK, "No MFA devices.", "deactivated and deleted")
}

// A user allowed only iam:GetUser and iam:ListAccessKeys on itself sees its own page (the
// other sections say AccessDenied) and gets 403 on another's page and on the users list.
func TestUserSelfService(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	self := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","iam:ListAccessKeys"],"Resource":"arn:aws:iam::` + testAccount + `:user/erin"}]}`
	e.user("erin", self, "Erin-pass-1")
	e.user("frank", "", "Frank-pass-1")
	k, err := e.svc.CreateAccessKey(ctx, e.admin, "erin")
	if err != nil {
		t.Fatal(err)
	}
	c := e.signedIn("erin", "Erin-pass-1")

	wantRedirect(t, "me", c.get(Prefix+"me"), Prefix+"users/erin")
	p := c.get(Prefix + "users/erin")
	wantPage(t, "erin's own page", p, http.StatusOK, "User erin", k.AccessKeyID, "AccessDenied", "Change your password")
	if k.SecretAccessKey == "" || strings.Contains(p.Body, k.SecretAccessKey) {
		t.Fatal("the page shows a secret")
	}

	wantDenied(t, "another's page", c.get(Prefix+"users/frank"), "iam:GetUser", "No access keys")
	wantDenied(t, "users list", c.get(Prefix+"users"), "iam:ListUsers", "/console/users/frank")
	// Erin may not create a key for frank, nor for herself (no iam:CreateAccessKey).
	wantDenied(t, "frank's key", c.post(Prefix+"users/frank/keys", nil), "iam:CreateAccessKey")
	if keys, _ := e.svc.ListAccessKeys(ctx, e.admin, iam.ListNamedInput{Name: "frank"}); len(keys.AccessKeys) != 0 {
		t.Fatalf("frank got a key: %+v", keys)
	}
}
