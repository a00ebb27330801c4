package iam

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"image/png"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1 (its 8-digit values, of which TOTP-6 is the last 6 digits).
func TestTOTPVectors(t *testing.T) {
	seed := []byte("12345678901234567890")
	for _, tt := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}} {
		if got := totpCode(seed, totpCounter(time.Unix(tt.unix, 0))); got != tt.want {
			t.Errorf("TOTP at %d = %s, want %s", tt.unix, got, tt.want)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "12345a", " 23456", "１２３４５６"} {
		if parseTOTPCode(bad) {
			t.Errorf("parseTOTPCode(%q) = true", bad)
		}
	}
}

func TestOTPAuthURIRoundTrip(t *testing.T) {
	seed := bytes.Repeat([]byte{0xa5, 0x17}, 20)
	u := otpauthURI("alice-mfa", "alice", seedEncoding.EncodeToString(seed))
	if !strings.HasPrefix(u, "otpauth://totp/alice-mfa@alice?secret=") {
		t.Fatalf("uri %q", u)
	}
	label, got, ok := parseOTPAuthURI(u)
	if !ok || label != "alice-mfa@alice" || !bytes.Equal(got, seed) {
		t.Fatalf("parse = %q %x %v", label, got, ok)
	}
}

// The Reed–Solomon codewords of the standard's worked example (1-M "HELLO WORLD").
func TestQRReedSolomon(t *testing.T) {
	data := []byte{32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17}
	want := []byte{196, 35, 39, 119, 235, 215, 231, 226, 93, 23}
	if got := rsRemainder(data, 10); !bytes.Equal(got, want) {
		t.Fatalf("RS = %v, want %v", got, want)
	}
}

// The block table agrees with the modules each version has for data, and the format and
// version information are the standard's values.
func TestQRTables(t *testing.T) {
	for v := 1; v <= qrMaxVersion; v++ {
		q := newQRSymbol(v)
		free := 0
		for _, f := range q.function {
			if !f {
				free++
			}
		}
		b := &qrBlocks[v]
		if total := b.dataLen() + b.ec*(b.n1+b.n2); free/8 != total {
			t.Errorf("version %d: %d free modules hold %d codewords, table says %d", v, free, free/8, total)
		}
	}
	if got := qrFormatBits(); got != 0b111011111000100 {
		t.Errorf("format bits L/0 = %015b", got)
	}
	q := newQRSymbol(7)
	var vbits int
	for i := range 18 {
		if q.dark[(i/3)*q.size+q.size-11+i%3] {
			vbits |= 1 << i
		}
	}
	if vbits != 0x07c94 {
		t.Errorf("version 7 information = %#x, want 0x7c94", vbits)
	}
}

// readQR reads a symbol's payload back: unmask, collect the codewords in placement order,
// de-interleave, check every block's Reed–Solomon codewords, decode byte mode.
func readQR(t *testing.T, q *qrSymbol, ver int) []byte {
	t.Helper()
	var bits []bool
	for right := q.size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := range q.size {
			for j := range 2 {
				x, y := right-j, vert
				if (right+1)&2 == 0 {
					y = q.size - 1 - vert
				}
				if !q.function[y*q.size+x] {
					bits = append(bits, q.dark[y*q.size+x] != ((x+y)%2 == 0))
				}
			}
		}
	}
	cw := make([]byte, len(bits)/8)
	for i := range cw {
		for j := range 8 {
			if bits[i*8+j] {
				cw[i] |= 0x80 >> j
			}
		}
	}
	b := &qrBlocks[ver]
	nb := b.n1 + b.n2
	blocks := make([][]byte, nb)
	k := 0
	for i := range b.d1 + 1 {
		for j := range nb {
			if i < b.d1 || j >= b.n1 {
				blocks[j] = append(blocks[j], cw[k])
				k++
			}
		}
	}
	var data []byte
	for j := range nb {
		var ec []byte
		for i := range b.ec {
			ec = append(ec, cw[b.dataLen()+i*nb+j])
		}
		if got := rsRemainder(blocks[j], b.ec); !bytes.Equal(got, ec) {
			t.Fatalf("block %d: error correction codewords do not match", j)
		}
		data = append(data, blocks[j]...)
	}
	if data[0]>>4 != 4 {
		t.Fatalf("mode %d, want byte mode", data[0]>>4)
	}
	var n, off int
	if ver >= 10 {
		n = int(data[0]&0xf)<<12 | int(data[1])<<4 | int(data[2]>>4)
		off = 2
	} else {
		n = int(data[0]&0xf)<<4 | int(data[1]>>4)
		off = 1
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = data[off+i]<<4 | data[off+i+1]>>4
	}
	return out
}

func TestQRRoundTrip(t *testing.T) {
	for _, n := range []int{1, 17, 50, 150, 271, 400, 858} {
		text := bytes.Repeat([]byte("otpauth://totp/x@y?secret=ABCDEFG234567"), 30)[:n]
		q, err := qrEncode(text)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		ver := (q.size - 17) / 4
		if got := readQR(t, q, ver); !bytes.Equal(got, text) {
			t.Fatalf("%d bytes (version %d): read back %q", n, ver, got)
		}
	}
	if _, err := qrEncode(make([]byte, 859)); err == nil {
		t.Fatal("859 bytes encoded")
	}
	b, err := qrCodePNG("otpauth://totp/m@alice?secret=ABC")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != (29+8)*4 { // 34 bytes: version 3, 29 modules
		t.Fatalf("png: %v %v", err, img.Bounds())
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword(rand.Reader, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !h.matches("correct horse") || h.matches("correct horsE") || h.matches("") {
		t.Fatal("matches")
	}
	bad := h
	bad.Memory = maxArgonMemory + 1
	if bad.matches("correct horse") {
		t.Fatal("out-of-bounds parameters matched")
	}
	if strings.Contains(hex.EncodeToString(h.Hash), hex.EncodeToString([]byte("correct"))) {
		t.Fatal("hash holds the password")
	}
}

func TestPasswordPolicyCheck(t *testing.T) {
	var def *passwordPolicyDoc
	for pw, ok := range map[string]bool{"Abcdef1!": true, "abcdefg1": false, "Ab1!": false, "ABCdef12": true, "alice": false} {
		if err := def.check(pw, acctA, "", "alice"); (err == nil) != ok {
			t.Errorf("default policy, %q: %v", pw, err)
		}
	}
	p := &passwordPolicyDoc{MinLength: 10, RequireSymbols: true, RequireNumbers: true, RequireUpper: true, RequireLower: true}
	for pw, ok := range map[string]bool{"Abcdefgh1!": true, "Abcdefgh1": false, "abcdefgh1!": false, "ABCDEFGH1!": false, "Abcdefghi!": false, "Abcdefg1!": false} {
		if err := p.check(pw, acctA, "", "alice"); (err == nil) != ok || err != nil && code(err) != CodePasswordPolicyViolation {
			t.Errorf("strict policy, %q: %v", pw, err)
		}
	}
	if _, err := policyDocOf(PasswordPolicy{MinimumPasswordLength: 5}); code(err) != CodeValidationError {
		t.Errorf("length 5: %v", err)
	}
	if _, err := policyDocOf(PasswordPolicy{MaxPasswordAge: -1}); code(err) != CodeValidationError {
		t.Errorf("explicit 0 age: %v", err)
	}
	if d, err := policyDocOf(PasswordPolicy{}); err != nil || d.MinLength != 6 {
		t.Errorf("defaults: %+v %v", d, err)
	}
}

func TestLoginProfiles(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	alice := e.user(a, "alice", "")
	if _, err := e.s.CreateLoginProfile(e.ctx, a, "alice", "short", false); code(err) != CodePasswordPolicyViolation {
		t.Fatalf("weak password under the default policy: %v", err)
	}
	if _, err := e.s.CreateLoginProfile(e.ctx, alice, "alice", "Passw0rd!x", false); code(err) != CodeAccessDenied {
		t.Fatalf("alice creates her own profile without permission: %v", err)
	}
	lp, err := e.s.CreateLoginProfile(e.ctx, a, "alice", "Passw0rd!x", true)
	if err != nil || lp.UserName != "alice" || !lp.PasswordResetRequired {
		t.Fatalf("CreateLoginProfile = %+v, %v", lp, err)
	}
	if _, err := e.s.CreateLoginProfile(e.ctx, a, "alice", "Passw0rd!x", false); code(err) != CodeEntityAlreadyExists {
		t.Fatalf("again: %v", err)
	}
	if got, err := e.s.GetLoginProfile(e.ctx, a, "alice"); err != nil || got != lp {
		t.Fatalf("GetLoginProfile = %+v %v", got, err)
	}
	if _, err := e.s.GetLoginProfile(e.ctx, a, "admin"); code(err) != CodeNoSuchEntity {
		t.Fatalf("no profile: %v", err)
	}
	if pc, _ := e.s.VerifyPassword(e.ctx, acctA, "alice", "Passw0rd!x"); !pc.OK || !pc.ResetRequired {
		t.Fatalf("VerifyPassword = %+v", pc)
	}
	if pc, _ := e.s.VerifyPassword(e.ctx, acctA, "alice", "Passw0rd!y"); pc.OK {
		t.Fatal("wrong password verified")
	}
	if err := e.s.DeleteUser(e.ctx, a, "alice"); code(err) != CodeDeleteConflict {
		t.Fatalf("DeleteUser with a login profile: %v", err)
	}

	// ChangePassword: denied without iam:ChangePassword, allowed by the policy's
	// AllowUsersToChangePassword; the old password must match; reuse prevention.
	if err := e.s.ChangePassword(e.ctx, alice, "Passw0rd!x", "N3w-passw0rd"); code(err) != CodeAccessDenied {
		t.Fatalf("ChangePassword without permission: %v", err)
	}
	if _, err := e.s.GetAccountPasswordPolicy(e.ctx, a); code(err) != CodeNoSuchEntity {
		t.Fatalf("no policy: %v", err)
	}
	if err := e.s.UpdateAccountPasswordPolicy(e.ctx, alice, PasswordPolicy{}); code(err) != CodeAccessDenied {
		t.Fatalf("alice updates the policy: %v", err)
	}
	if err := e.s.UpdateAccountPasswordPolicy(e.ctx, a, PasswordPolicy{MinimumPasswordLength: 10, RequireNumbers: true, AllowUsersToChangePassword: true, PasswordReusePrevention: 2, MaxPasswordAge: 30}); err != nil {
		t.Fatal(err)
	}
	pol, err := e.s.GetAccountPasswordPolicy(e.ctx, alice)
	if err != nil || pol.MinimumPasswordLength != 10 || !pol.ExpirePasswords || pol.PasswordReusePrevention != 2 {
		t.Fatalf("GetAccountPasswordPolicy (AllowUsersToChangePassword) = %+v %v", pol, err)
	}
	if err := e.s.PutUserPolicy(e.ctx, a, "alice", "deny", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ChangePassword","Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	alice = e.caller(alice.AccessKeyID, "")
	if err := e.s.ChangePassword(e.ctx, alice, "Passw0rd!x", "N3w-passw0rd"); code(err) != CodeAccessDenied {
		t.Fatalf("ChangePassword against an explicit deny: %v", err)
	}
	if err := e.s.DeleteUserPolicy(e.ctx, a, "alice", "deny"); err != nil {
		t.Fatal(err)
	}
	alice = e.caller(alice.AccessKeyID, "")
	if err := e.s.ChangePassword(e.ctx, alice, "Wrong-passw0rd", "N3w-passw0rd"); code(err) != CodeAccessDenied {
		t.Fatalf("wrong old password: %v", err)
	}
	if err := e.s.ChangePassword(e.ctx, alice, "Passw0rd!x", "no-digits-here"); code(err) != CodePasswordPolicyViolation {
		t.Fatalf("policy violation: %v", err)
	}
	if err := e.s.ChangePassword(e.ctx, alice, "Passw0rd!x", "Passw0rd!x"); code(err) != CodePasswordPolicyViolation {
		t.Fatalf("reuse of the current password: %v", err)
	}
	if err := e.s.ChangePassword(e.ctx, alice, "Passw0rd!x", "N3w-passw0rd"); err != nil {
		t.Fatal(err)
	}
	if pc, _ := e.s.VerifyPassword(e.ctx, acctA, "alice", "N3w-passw0rd"); !pc.OK || pc.ResetRequired || pc.Expired {
		t.Fatalf("after change: %+v", pc)
	}
	if err := e.s.ChangePassword(e.ctx, alice, "N3w-passw0rd", "Passw0rd!x"); code(err) != CodePasswordPolicyViolation {
		t.Fatalf("reuse of the previous password: %v", err)
	}
	e.clock.Advance(31 * 24 * time.Hour)
	if pc, _ := e.s.VerifyPassword(e.ctx, acctA, "alice", "N3w-passw0rd"); !pc.OK || !pc.Expired || pc.HardExpiry {
		t.Fatalf("after 31 days: %+v", pc)
	}
	if err := e.s.ChangePassword(e.ctx, a, "x", "y"); code(err) != CodeValidationError && code(err) != CodeNoSuchEntity {
		t.Fatalf("admin without a profile: %v", err)
	}
	pw := "An0ther-password"
	if err := e.s.UpdateLoginProfile(e.ctx, a, UpdateLoginProfileInput{UserName: "alice", Password: &pw}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteAccountPasswordPolicy(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteAccountPasswordPolicy(e.ctx, a); code(err) != CodeNoSuchEntity {
		t.Fatalf("delete again: %v", err)
	}
	if err := e.s.DeleteLoginProfile(e.ctx, a, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteLoginProfile(e.ctx, a, "alice"); code(err) != CodeNoSuchEntity {
		t.Fatalf("delete again: %v", err)
	}
}

// enableMFA creates a virtual device and enables it for user; it returns the serial and
// seed.
func enableMFA(t *testing.T, e *env, admin *Caller, user, name string) (string, []byte) {
	t.Helper()
	d, err := e.s.CreateVirtualMFADevice(e.ctx, admin, CreateVirtualMFADeviceInput{VirtualMFADeviceName: name})
	if err != nil {
		t.Fatal(err)
	}
	seed, err := seedEncoding.DecodeString(string(d.Base32StringSeed))
	if err != nil || len(seed) != totpSeedBytes {
		t.Fatalf("seed: %v", err)
	}
	now := totpCounter(e.clock.Now())
	if err := e.s.EnableMFADevice(e.ctx, admin, user, d.SerialNumber, totpCode(seed, now-1), totpCode(seed, now)); err != nil {
		t.Fatal(err)
	}
	return d.SerialNumber, seed
}

func TestVirtualMFA(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	e.user(a, "alice", "")
	d, err := e.s.CreateVirtualMFADevice(e.ctx, a, CreateVirtualMFADeviceInput{VirtualMFADeviceName: "alice-mfa"})
	if err != nil {
		t.Fatal(err)
	}
	if d.SerialNumber != "arn:aws:iam::"+acctA+":mfa/alice-mfa" || len(d.Base32StringSeed) != 64 {
		t.Fatalf("device %+v", d)
	}
	if _, err := png.Decode(bytes.NewReader(d.QRCodePNG)); err != nil {
		t.Fatalf("QRCodePNG: %v", err)
	}
	if _, err := e.s.CreateVirtualMFADevice(e.ctx, a, CreateVirtualMFADeviceInput{VirtualMFADeviceName: "ALICE-mfa"}); code(err) != CodeEntityAlreadyExists {
		t.Fatalf("same name: %v", err)
	}
	seed, _ := seedEncoding.DecodeString(string(d.Base32StringSeed))
	now := totpCounter(e.clock.Now())
	if err := e.s.EnableMFADevice(e.ctx, a, "alice", d.SerialNumber, totpCode(seed, now), totpCode(seed, now)); code(err) != CodeInvalidAuthenticationCode {
		t.Fatalf("same code twice: %v", err)
	}
	if err := e.s.EnableMFADevice(e.ctx, a, "alice", d.SerialNumber, totpCode(seed, now), totpCode(seed, now-1)); code(err) != CodeInvalidAuthenticationCode {
		t.Fatalf("codes out of order: %v", err)
	}
	if err := e.s.EnableMFADevice(e.ctx, a, "alice", d.SerialNumber+"x", totpCode(seed, now), totpCode(seed, now+1)); code(err) != CodeNoSuchEntity {
		t.Fatalf("unknown serial: %v", err)
	}
	if err := e.s.EnableMFADevice(e.ctx, a, "alice", d.SerialNumber, totpCode(seed, now), totpCode(seed, now+1)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.EnableMFADevice(e.ctx, a, "admin", d.SerialNumber, totpCode(seed, now+2), totpCode(seed, now+3)); code(err) != CodeEntityAlreadyExists {
		t.Fatalf("device in use: %v", err)
	}
	l, err := e.s.ListMFADevices(e.ctx, a, ListNamedInput{Name: "alice"})
	if err != nil || len(l.MFADevices) != 1 || l.MFADevices[0].SerialNumber != d.SerialNumber {
		t.Fatalf("ListMFADevices = %+v %v", l, err)
	}
	for status, n := range map[string]int{"Assigned": 1, "Unassigned": 0, "": 1} {
		v, err := e.s.ListVirtualMFADevices(e.ctx, a, ListVirtualMFADevicesInput{AssignmentStatus: status})
		if err != nil || len(v.VirtualMFADevices) != n || n == 1 && (v.VirtualMFADevices[0].User == nil || v.VirtualMFADevices[0].Base32StringSeed != nil) {
			t.Fatalf("ListVirtualMFADevices(%q) = %+v %v", status, v, err)
		}
	}
	if _, err := e.s.CreateLoginProfile(e.ctx, a, "alice", "Passw0rd!x", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GenerateCredentialReport(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	rep, err := e.s.GetCredentialReport(e.ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(rep.Content), "\n") {
		if f := strings.Split(line, ","); f[0] == "alice" && (f[3] != "true" || f[4] != "no_information" || f[7] != "true") {
			t.Errorf("credential report: %s", line)
		} else if f[0] == "admin" && (f[3] != "false" || f[7] != "false") {
			t.Errorf("credential report: %s", line)
		}
	}
	if err := e.s.DeleteLoginProfile(e.ctx, a, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteUser(e.ctx, a, "alice"); code(err) != CodeDeleteConflict {
		t.Fatalf("DeleteUser with MFA: %v", err)
	}
	if err := e.s.DeleteVirtualMFADevice(e.ctx, a, d.SerialNumber); code(err) != CodeDeleteConflict {
		t.Fatalf("delete assigned: %v", err)
	}
	e.clock.Advance(5 * time.Minute) // a drifting device: resync finds it 5 minutes behind
	if err := e.s.ResyncMFADevice(e.ctx, a, "alice", d.SerialNumber, totpCode(seed, now+2), totpCode(seed, now+3)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeactivateMFADevice(e.ctx, a, "alice", d.SerialNumber); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeactivateMFADevice(e.ctx, a, "alice", d.SerialNumber); code(err) != CodeNoSuchEntity {
		t.Fatalf("deactivate again: %v", err)
	}
	if err := e.s.DeleteVirtualMFADevice(e.ctx, a, d.SerialNumber); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteUser(e.ctx, a, "alice"); code(err) != CodeDeleteConflict { // the access key
		t.Fatalf("DeleteUser: %v", err)
	}
}

// GetSessionToken with MFA: the code is checked, cannot be replayed, and the session has
// aws:MultiFactorAuthPresent true and aws:MultiFactorAuthAge in every evaluation,
// rds-db:connect included; without MFA the key is false (sessions) or absent (long-term keys).
func TestSessionMFA(t *testing.T) {
	e := newEnv(t)
	a := e.admin
	db, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{Identifier: "pg", Engine: "postgres", Port: 5432, Region: "ap-northeast-1",
		Account: acctA, Endpoints: []string{"pg.example"}, IAMAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["rds:DescribeDBInstances","rds-db:connect","iam:ListUsers"],"Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}},
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"Null":{"aws:MultiFactorAuthPresent":"true"}}},
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}`
	bob := e.user(a, "bob", doc)
	serial, seed := enableMFA(t, e, a, "bob", "bob-mfa")
	e.clock.Advance(totpStep)
	now := totpCounter(e.clock.Now())

	if _, err := e.s.GetSessionToken(e.ctx, bob, GetSessionTokenInput{SerialNumber: serial, TokenCode: totpCode(seed, now+5)}); code(err) != CodeAccessDenied {
		t.Fatalf("wrong code: %v", err)
	}
	if _, err := e.s.GetSessionToken(e.ctx, bob, GetSessionTokenInput{SerialNumber: serial + "x", TokenCode: totpCode(seed, now)}); code(err) != CodeAccessDenied {
		t.Fatalf("someone else's serial: %v", err)
	}
	if _, err := e.s.GetSessionToken(e.ctx, bob, GetSessionTokenInput{SerialNumber: serial, TokenCode: "12345"}); code(err) != CodeValidationError {
		t.Fatalf("5 digits: %v", err)
	}
	cr, err := e.s.GetSessionToken(e.ctx, bob, GetSessionTokenInput{SerialNumber: serial, TokenCode: totpCode(seed, now)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetSessionToken(e.ctx, bob, GetSessionTokenInput{SerialNumber: serial, TokenCode: totpCode(seed, now)}); code(err) != CodeAccessDenied {
		t.Fatalf("replayed code: %v", err)
	}
	if _, err := e.s.GetSessionToken(e.ctx, bob, GetSessionTokenInput{SerialNumber: serial, TokenCode: totpCode(seed, now-1)}); code(err) != CodeAccessDenied {
		t.Fatalf("an older code after a newer one: %v", err)
	}
	mfa := e.caller(cr.AccessKeyID, cr.SessionToken)
	if !mfa.Session.MFAAuthenticated {
		t.Fatal("session without MFA")
	}
	plainCr, err := e.s.GetSessionToken(e.ctx, bob, GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	plain := e.caller(plainCr.AccessKeyID, plainCr.SessionToken)
	info := RequestInfo{SourceIP: netip.MustParseAddr("10.0.0.1"), SecureTransport: true}
	connect := func(c *Caller) bool {
		d, err := e.s.AuthorizeConnect(e.ctx, c, db, "app", info)
		return err == nil && d.Allowed()
	}
	authz := func(c *Caller, action string) bool { return e.s.Authorize(e.ctx, c, action, "*", nil) == nil }

	for _, tt := range []struct {
		name string
		c    *Caller
		want [5]bool // rds:DescribeDBInstances, rds-db:connect, iam:ListUsers, s3:ListBucket (key absent), s3:GetObject (false)
	}{
		{"long-term key", bob, [5]bool{false, false, false, true, false}},
		{"session without MFA", plain, [5]bool{false, false, false, false, true}},
		{"MFA session", mfa, [5]bool{true, true, true, false, false}},
	} {
		got := [5]bool{authz(tt.c, "rds:DescribeDBInstances"), connect(tt.c), authz(tt.c, "iam:ListUsers"), authz(tt.c, "s3:ListBucket"), authz(tt.c, "s3:GetObject")}
		if got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	e.clock.Advance(time.Hour) // aws:MultiFactorAuthAge reaches 3600
	if authz(mfa, "rds:DescribeDBInstances") || connect(mfa) {
		t.Error("MFA age 3600 still allowed")
	}
}
