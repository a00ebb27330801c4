package awsquery

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// totpAt is RFC 6238's code (SHA-1, 30 s, 6 digits) of seed at t, written here from the
// RFC rather than taken from the package under test.
func totpAt(seed []byte, t time.Time) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/30))
	m := hmac.New(sha1.New, seed)
	m.Write(msg[:])
	s := m.Sum(nil)
	o := s[19] & 15
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(s[o:])&0x7fffffff)%1000000)
}

// TestMFAAWSCLI drives console passwords, the password policy, a virtual MFA device and an
// MFA session through the stock AWS CLIs: a policy that allows iam:ListUsers only with
// aws:MultiFactorAuthPresent denies the user's long-term keys and allows the session that
// get-session-token issued with a code.
func TestMFAAWSCLI(t *testing.T) {
	clis := awsCLIs(t)
	e := newTestEnv(t)
	home := t.TempDir()
	for name, argv := range clis {
		t.Run(name, func(t *testing.T) {
			run := func(creds aws.Credentials, args ...string) (string, error) {
				return runCLI(argv, e.srv.URL, home, creds, args...)
			}
			must := func(creds aws.Credentials, args ...string) string {
				t.Helper()
				out, err := run(creds, args...)
				if err != nil {
					t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			user := "mfa-user-" + name
			must(e.admin, "iam", "create-user", "--user-name", user)
			must(e.admin, "iam", "put-user-policy", "--user-name", user, "--policy-name", "mfa-only", "--policy-document",
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`)
			var ck struct {
				AccessKey struct{ AccessKeyId, SecretAccessKey string }
			}
			if err := json.Unmarshal([]byte(must(e.admin, "iam", "create-access-key", "--user-name", user)), &ck); err != nil {
				t.Fatal(err)
			}
			userCreds := aws.Credentials{AccessKeyID: ck.AccessKey.AccessKeyId, SecretAccessKey: ck.AccessKey.SecretAccessKey}

			// Console password and the account password policy.
			var lp struct {
				LoginProfile struct{ UserName, CreateDate string }
			}
			if err := json.Unmarshal([]byte(must(e.admin, "iam", "create-login-profile", "--user-name", user, "--password", "First-passw0rd", "--password-reset-required")), &lp); err != nil || lp.LoginProfile.UserName != user {
				t.Fatalf("create-login-profile = %+v %v", lp, err)
			}
			if out := must(e.admin, "iam", "get-login-profile", "--user-name", user); !strings.Contains(out, `"PasswordResetRequired": true`) {
				t.Errorf("get-login-profile = %s", out)
			}
			must(e.admin, "iam", "update-account-password-policy", "--minimum-password-length", "12", "--require-numbers", "--allow-users-to-change-password", "--password-reuse-prevention", "3")
			var pp struct {
				PasswordPolicy struct {
					MinimumPasswordLength      int
					RequireNumbers             bool
					AllowUsersToChangePassword bool
					PasswordReusePrevention    int
				}
			}
			if err := json.Unmarshal([]byte(must(userCreds, "iam", "get-account-password-policy")), &pp); err != nil || pp.PasswordPolicy.MinimumPasswordLength != 12 || !pp.PasswordPolicy.AllowUsersToChangePassword || pp.PasswordPolicy.PasswordReusePrevention != 3 {
				t.Errorf("get-account-password-policy = %+v %v", pp, err)
			}
			if out, err := run(userCreds, "iam", "change-password", "--old-password", "First-passw0rd", "--new-password", "too-short-1"); err == nil || !strings.Contains(out, "PasswordPolicyViolation") {
				t.Errorf("change-password to a short one: %v %s", err, out)
			}
			must(userCreds, "iam", "change-password", "--old-password", "First-passw0rd", "--new-password", "Second-passw0rd")
			must(e.admin, "iam", "delete-account-password-policy")

			// A virtual MFA device, enabled with two consecutive codes.
			seedFile := filepath.Join(home, user+".seed")
			var vd struct {
				VirtualMFADevice struct{ SerialNumber, Base32StringSeed, QRCodePNG string }
			}
			if err := json.Unmarshal([]byte(must(e.admin, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", user,
				"--outfile", seedFile, "--bootstrap-method", "Base32StringSeed")), &vd); err != nil ||
				vd.VirtualMFADevice.SerialNumber != "arn:aws:iam::"+testAccount+":mfa/"+user || vd.VirtualMFADevice.Base32StringSeed != "" {
				t.Fatalf("create-virtual-mfa-device = %+v %v", vd, err)
			}
			serial := vd.VirtualMFADevice.SerialNumber
			b32, err := os.ReadFile(seedFile)
			if err != nil {
				t.Fatal(err)
			}
			seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(b32))
			if err != nil || len(seed) != 40 {
				t.Fatalf("seed file %q: %v", b32, err)
			}
			qrFile := filepath.Join(home, user+".png")
			must(e.admin, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", user+"-qr", "--outfile", qrFile, "--bootstrap-method", "QRCodePNG")
			if b, err := os.ReadFile(qrFile); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
				t.Errorf("QR code file: %v %q", err, b[:min(len(b), 8)])
			}
			now := e.clock.Now()
			must(e.admin, "iam", "enable-mfa-device", "--user-name", user, "--serial-number", serial,
				"--authentication-code1", totpAt(seed, now.Add(-30*time.Second)), "--authentication-code2", totpAt(seed, now))
			if out := must(e.admin, "iam", "list-mfa-devices", "--user-name", user); !strings.Contains(out, serial) {
				t.Errorf("list-mfa-devices = %s", out)
			}
			if out := must(e.admin, "iam", "list-virtual-mfa-devices", "--assignment-status", "Unassigned"); !strings.Contains(out, serial+"-qr") || strings.Contains(out, serial+"\"") {
				t.Errorf("list-virtual-mfa-devices Unassigned = %s", out)
			}

			// Long-term keys: aws:MultiFactorAuthPresent is absent, the policy does not allow.
			if out, err := run(userCreds, "iam", "list-users"); err == nil || !strings.Contains(out, "AccessDenied") {
				t.Errorf("list-users with long-term keys: %v %s", err, out)
			}
			e.clock.Advance(30 * time.Second)
			code := totpAt(seed, e.clock.Now())
			if out, err := run(userCreds, "sts", "get-session-token", "--serial-number", serial, "--token-code", "000000"); err == nil || !strings.Contains(out, "AccessDenied") {
				if totpAt(seed, e.clock.Now()) != "000000" {
					t.Errorf("get-session-token with a wrong code: %v %s", err, out)
				}
			}
			var st struct {
				Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
			}
			if err := json.Unmarshal([]byte(must(userCreds, "sts", "get-session-token", "--serial-number", serial, "--token-code", code)), &st); err != nil {
				t.Fatal(err)
			}
			if out, err := run(userCreds, "sts", "get-session-token", "--serial-number", serial, "--token-code", code); err == nil || !strings.Contains(out, "AccessDenied") {
				t.Errorf("get-session-token with a used code: %v %s", err, out)
			}
			sess := aws.Credentials{AccessKeyID: st.Credentials.AccessKeyId, SecretAccessKey: st.Credentials.SecretAccessKey, SessionToken: st.Credentials.SessionToken}
			if out := must(sess, "iam", "list-users"); !strings.Contains(out, user) {
				t.Errorf("list-users with the MFA session = %s", out)
			}
			var plain struct {
				Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
			}
			if err := json.Unmarshal([]byte(must(userCreds, "sts", "get-session-token")), &plain); err != nil {
				t.Fatal(err)
			}
			if out, err := run(aws.Credentials{AccessKeyID: plain.Credentials.AccessKeyId, SecretAccessKey: plain.Credentials.SecretAccessKey, SessionToken: plain.Credentials.SessionToken},
				"iam", "list-users"); err == nil {
				t.Errorf("list-users with a session without MFA: %s", out)
			}

			must(e.admin, "iam", "deactivate-mfa-device", "--user-name", user, "--serial-number", serial)
			must(e.admin, "iam", "delete-virtual-mfa-device", "--serial-number", serial)
			must(e.admin, "iam", "delete-login-profile", "--user-name", user)
			if out, err := run(e.admin, "iam", "get-login-profile", "--user-name", user); err == nil || !strings.Contains(out, "NoSuchEntity") {
				t.Errorf("get-login-profile after delete: %v %s", err, out)
			}
		})
	}
}
