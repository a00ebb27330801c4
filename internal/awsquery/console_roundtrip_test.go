package awsquery

import (
	"context"
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
)

// roundTripConsole drives the login profile, password policy and virtual MFA actions, and
// GetSessionToken with MFA, through aws-sdk-go-v2 (part of TestRoundTrip).
func roundTripConsole(t *testing.T, e *testEnv) {
	t.Helper()
	ctx := context.Background()
	ic := e.iamClient(e.admin)
	_, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("carla")})
	check(t, "CreateUser", err)
	ck, err := ic.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("carla")})
	check(t, "CreateAccessKey", err)
	carla := aws.Credentials{AccessKeyID: *ck.AccessKey.AccessKeyId, SecretAccessKey: *ck.AccessKey.SecretAccessKey}

	lp, err := ic.CreateLoginProfile(ctx, &awsiam.CreateLoginProfileInput{UserName: aws.String("carla"), Password: aws.String("Carla-passw0rd"), PasswordResetRequired: true})
	check(t, "CreateLoginProfile", err)
	if *lp.LoginProfile.UserName != "carla" || !lp.LoginProfile.PasswordResetRequired || lp.LoginProfile.CreateDate == nil {
		t.Errorf("CreateLoginProfile = %+v", lp.LoginProfile)
	}
	_, err = ic.CreateLoginProfile(ctx, &awsiam.CreateLoginProfileInput{UserName: aws.String("carla"), Password: aws.String("Carla-passw0rd")})
	wantAPIError(t, "CreateLoginProfile again", err, "EntityAlreadyExists", 409)
	_, err = ic.UpdateLoginProfile(ctx, &awsiam.UpdateLoginProfileInput{UserName: aws.String("carla"), Password: aws.String("short")})
	wantAPIError(t, "UpdateLoginProfile(short)", err, "PasswordPolicyViolation", 400)
	_, err = ic.UpdateLoginProfile(ctx, &awsiam.UpdateLoginProfileInput{UserName: aws.String("carla"), PasswordResetRequired: aws.Bool(false)})
	check(t, "UpdateLoginProfile", err)
	glp, err := ic.GetLoginProfile(ctx, &awsiam.GetLoginProfileInput{UserName: aws.String("carla")})
	check(t, "GetLoginProfile", err)
	if glp.LoginProfile.PasswordResetRequired {
		t.Errorf("GetLoginProfile = %+v", glp.LoginProfile)
	}

	_, err = ic.GetAccountPasswordPolicy(ctx, &awsiam.GetAccountPasswordPolicyInput{})
	wantAPIError(t, "GetAccountPasswordPolicy(none)", err, "NoSuchEntity", 404)
	_, err = ic.UpdateAccountPasswordPolicy(ctx, &awsiam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(10),
		RequireSymbols: true, AllowUsersToChangePassword: true, MaxPasswordAge: aws.Int32(90), PasswordReusePrevention: aws.Int32(5), HardExpiry: aws.Bool(true)})
	check(t, "UpdateAccountPasswordPolicy", err)
	pp, err := e.iamClient(carla).GetAccountPasswordPolicy(ctx, &awsiam.GetAccountPasswordPolicyInput{})
	check(t, "GetAccountPasswordPolicy", err)
	if p := pp.PasswordPolicy; *p.MinimumPasswordLength != 10 || !p.RequireSymbols || !p.ExpirePasswords || *p.MaxPasswordAge != 90 ||
		*p.PasswordReusePrevention != 5 || !*p.HardExpiry || !p.AllowUsersToChangePassword {
		t.Errorf("GetAccountPasswordPolicy = %+v", p)
	}
	_, err = e.iamClient(carla).ChangePassword(ctx, &awsiam.ChangePasswordInput{OldPassword: aws.String("Carla-passw0rd"), NewPassword: aws.String("Carla-passw0rd-2!")})
	check(t, "ChangePassword", err)
	_, err = ic.DeleteAccountPasswordPolicy(ctx, &awsiam.DeleteAccountPasswordPolicyInput{})
	check(t, "DeleteAccountPasswordPolicy", err)

	vd, err := ic.CreateVirtualMFADevice(ctx, &awsiam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("carla-phone"), Path: aws.String("/people/"),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("db")}}})
	check(t, "CreateVirtualMFADevice", err)
	serial := *vd.VirtualMFADevice.SerialNumber
	if serial != "arn:aws:iam::"+testAccount+":mfa/people/carla-phone" || len(vd.VirtualMFADevice.QRCodePNG) < 100 || len(vd.VirtualMFADevice.Tags) != 1 {
		t.Errorf("CreateVirtualMFADevice = %+v", vd.VirtualMFADevice)
	}
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(vd.VirtualMFADevice.Base32StringSeed))
	check(t, "seed", err)
	now := e.clock.Now()
	_, err = ic.EnableMFADevice(ctx, &awsiam.EnableMFADeviceInput{UserName: aws.String("carla"), SerialNumber: &serial,
		AuthenticationCode1: aws.String(totpAt(seed, now)), AuthenticationCode2: aws.String(totpAt(seed, now))})
	wantAPIError(t, "EnableMFADevice(same code twice)", err, "InvalidAuthenticationCode", 403)
	_, err = ic.EnableMFADevice(ctx, &awsiam.EnableMFADeviceInput{UserName: aws.String("carla"), SerialNumber: &serial,
		AuthenticationCode1: aws.String(totpAt(seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(seed, now))})
	check(t, "EnableMFADevice", err)
	md, err := ic.ListMFADevices(ctx, &awsiam.ListMFADevicesInput{UserName: aws.String("carla")})
	check(t, "ListMFADevices", err)
	if len(md.MFADevices) != 1 || *md.MFADevices[0].SerialNumber != serial || md.MFADevices[0].EnableDate == nil {
		t.Errorf("ListMFADevices = %+v", md.MFADevices)
	}
	vl, err := ic.ListVirtualMFADevices(ctx, &awsiam.ListVirtualMFADevicesInput{AssignmentStatus: iamtypes.AssignmentStatusTypeAssigned})
	check(t, "ListVirtualMFADevices", err)
	if len(vl.VirtualMFADevices) != 1 || vl.VirtualMFADevices[0].User == nil || *vl.VirtualMFADevices[0].User.UserName != "carla" || vl.VirtualMFADevices[0].Base32StringSeed != nil {
		t.Errorf("ListVirtualMFADevices = %+v", vl.VirtualMFADevices)
	}
	e.clock.Advance(time.Minute)
	now = e.clock.Now()
	_, err = ic.ResyncMFADevice(ctx, &awsiam.ResyncMFADeviceInput{UserName: aws.String("carla"), SerialNumber: &serial,
		AuthenticationCode1: aws.String(totpAt(seed, now.Add(-30*time.Second))), AuthenticationCode2: aws.String(totpAt(seed, now))})
	check(t, "ResyncMFADevice", err)
	e.clock.Advance(30 * time.Second)
	st, err := e.stsClient(carla).GetSessionToken(ctx, &awssts.GetSessionTokenInput{SerialNumber: &serial, TokenCode: aws.String(totpAt(seed, e.clock.Now()))})
	check(t, "GetSessionToken(MFA)", err)
	sess := aws.Credentials{AccessKeyID: *st.Credentials.AccessKeyId, SecretAccessKey: *st.Credentials.SecretAccessKey, SessionToken: *st.Credentials.SessionToken}
	_, err = e.iamClient(sess).GetUser(ctx, &awsiam.GetUserInput{})
	wantAPIError(t, "GetUser with the MFA session (no policy)", err, "AccessDenied", 403)

	_, err = ic.DeleteVirtualMFADevice(ctx, &awsiam.DeleteVirtualMFADeviceInput{SerialNumber: &serial})
	wantAPIError(t, "DeleteVirtualMFADevice(assigned)", err, "DeleteConflict", 409)
	_, err = ic.DeactivateMFADevice(ctx, &awsiam.DeactivateMFADeviceInput{UserName: aws.String("carla"), SerialNumber: &serial})
	check(t, "DeactivateMFADevice", err)
	_, err = ic.DeleteVirtualMFADevice(ctx, &awsiam.DeleteVirtualMFADeviceInput{SerialNumber: &serial})
	check(t, "DeleteVirtualMFADevice", err)
	_, err = ic.DeleteLoginProfile(ctx, &awsiam.DeleteLoginProfileInput{UserName: aws.String("carla")})
	check(t, "DeleteLoginProfile", err)
	_, err = ic.GetLoginProfile(ctx, &awsiam.GetLoginProfileInput{UserName: aws.String("carla")})
	wantAPIError(t, "GetLoginProfile(deleted)", err, "NoSuchEntity", 404)
	for _, secret := range []string{"Carla-passw0rd", string(vd.VirtualMFADevice.Base32StringSeed)} {
		if strings.Contains(e.log(), secret) {
			t.Errorf("the server's log holds a password or seed")
		}
	}
}
