package awsquery

import (
	"encoding/base64"

	"github.com/iamdb/iamdb/internal/iam"
)

// Console passwords (login profiles, the account password policy) and virtual MFA
// devices. Passwords and codes are never logged nor recorded (see secretish); the seed
// and QR code are returned by CreateVirtualMFADevice only.

type (
	xLoginProfile struct {
		UserName              string `xml:"UserName"`
		CreateDate            string `xml:"CreateDate"`
		PasswordResetRequired bool   `xml:"PasswordResetRequired"`
	}
	loginProfileResult struct{ LoginProfile xLoginProfile }
	xPasswordPolicy    struct {
		MinimumPasswordLength      int  `xml:"MinimumPasswordLength"`
		RequireSymbols             bool `xml:"RequireSymbols"`
		RequireNumbers             bool `xml:"RequireNumbers"`
		RequireUppercaseCharacters bool `xml:"RequireUppercaseCharacters"`
		RequireLowercaseCharacters bool `xml:"RequireLowercaseCharacters"`
		AllowUsersToChangePassword bool `xml:"AllowUsersToChangePassword"`
		ExpirePasswords            bool `xml:"ExpirePasswords"`
		MaxPasswordAge             int  `xml:"MaxPasswordAge,omitempty"`
		PasswordReusePrevention    int  `xml:"PasswordReusePrevention,omitempty"`
		HardExpiry                 bool `xml:"HardExpiry,omitempty"`
	}
	passwordPolicyResult struct{ PasswordPolicy xPasswordPolicy }
	xVirtualMFADevice    struct {
		SerialNumber     string      `xml:"SerialNumber"`
		Base32StringSeed string      `xml:"Base32StringSeed,omitempty"`
		QRCodePNG        string      `xml:"QRCodePNG,omitempty"`
		User             *xUser      `xml:"User,omitempty"`
		EnableDate       string      `xml:"EnableDate,omitempty"`
		Tags             *list[xTag] `xml:"Tags,omitempty"`
	}
	virtualMFAResult struct{ VirtualMFADevice xVirtualMFADevice }
	xMFADevice       struct {
		UserName     string `xml:"UserName"`
		SerialNumber string `xml:"SerialNumber"`
		EnableDate   string `xml:"EnableDate"`
	}
	mfaDevicesPage struct {
		MFADevices list[xMFADevice]
		page
	}
	virtualMFAPage struct {
		VirtualMFADevices list[xVirtualMFADevice]
		page
	}
)

func toLoginProfile(p iam.LoginProfile) any {
	return loginProfileResult{xLoginProfile{p.UserName, isoTime(p.CreateDate), p.PasswordResetRequired}}
}

// positiveOrInvalid reads an optional integer member that, when sent, must be at least 1:
// absent is 0, a value below 1 is -1 (the domain refuses it with the member's range).
func (c *call) positiveOrInvalid(key string) (int, error) {
	n, err := c.f.integer(key)
	if err != nil || n == nil {
		return 0, err
	}
	if *n < 1 {
		return -1, nil
	}
	return *n, nil
}

// iamLoginOps are the actions on console passwords and MFA devices.
func iamLoginOps() map[string]handler {
	return map[string]handler{
		"CreateLoginProfile": func(c *call) (any, error) {
			reset, err := c.boolParam("PasswordResetRequired")
			if err != nil {
				return nil, err
			}
			p, err := c.s.svc.CreateLoginProfile(c.ctx, c.caller, c.f.str("UserName"), c.f.str("Password"), reset)
			if err != nil {
				return nil, err
			}
			return toLoginProfile(p), nil
		},
		"GetLoginProfile": got("UserName", (*iam.Service).GetLoginProfile, toLoginProfile),
		"UpdateLoginProfile": func(c *call) (any, error) {
			in := iam.UpdateLoginProfileInput{UserName: c.f.str("UserName")}
			if pw, ok := c.f.get("Password"); ok {
				in.Password = &pw
			}
			var err error
			if in.PasswordResetRequired, err = c.f.boolean("PasswordResetRequired"); err != nil {
				return nil, err
			}
			return nil, c.s.svc.UpdateLoginProfile(c.ctx, c.caller, in)
		},
		"DeleteLoginProfile": byName("UserName", (*iam.Service).DeleteLoginProfile),
		"ChangePassword":     byTwo("OldPassword", "NewPassword", (*iam.Service).ChangePassword),
		"UpdateAccountPasswordPolicy": func(c *call) (any, error) {
			var in iam.PasswordPolicy
			var err error
			if in.MinimumPasswordLength, err = c.intParam("MinimumPasswordLength"); err != nil {
				return nil, err
			}
			for _, b := range []struct {
				key string
				dst *bool
			}{
				{"RequireSymbols", &in.RequireSymbols}, {"RequireNumbers", &in.RequireNumbers},
				{"RequireUppercaseCharacters", &in.RequireUppercaseCharacters},
				{"RequireLowercaseCharacters", &in.RequireLowercaseCharacters},
				{"AllowUsersToChangePassword", &in.AllowUsersToChangePassword}, {"HardExpiry", &in.HardExpiry},
			} {
				if *b.dst, err = c.boolParam(b.key); err != nil {
					return nil, err
				}
			}
			if in.MinimumPasswordLength == 0 {
				if _, sent := c.f.get("MinimumPasswordLength"); sent {
					in.MinimumPasswordLength = -1
				}
			}
			if in.MaxPasswordAge, err = c.positiveOrInvalid("MaxPasswordAge"); err != nil {
				return nil, err
			}
			if in.PasswordReusePrevention, err = c.positiveOrInvalid("PasswordReusePrevention"); err != nil {
				return nil, err
			}
			return nil, c.s.svc.UpdateAccountPasswordPolicy(c.ctx, c.caller, in)
		},
		"GetAccountPasswordPolicy": func(c *call) (any, error) {
			p, err := c.s.svc.GetAccountPasswordPolicy(c.ctx, c.caller)
			if err != nil {
				return nil, err
			}
			return passwordPolicyResult{xPasswordPolicy(p)}, nil
		},
		"DeleteAccountPasswordPolicy": func(c *call) (any, error) {
			return nil, c.s.svc.DeleteAccountPasswordPolicy(c.ctx, c.caller)
		},

		"CreateVirtualMFADevice": created(func(c *call, tags []iam.Tag) (iam.CreateVirtualMFADeviceInput, error) {
			return iam.CreateVirtualMFADeviceInput{Path: c.f.str("Path"), VirtualMFADeviceName: c.f.str("VirtualMFADeviceName"), Tags: tags}, nil
		}, (*iam.Service).CreateVirtualMFADevice, func(d iam.VirtualMFADevice) any {
			return virtualMFAResult{xVirtualMFADevice{
				SerialNumber:     d.SerialNumber,
				Base32StringSeed: base64.StdEncoding.EncodeToString(d.Base32StringSeed),
				QRCodePNG:        base64.StdEncoding.EncodeToString(d.QRCodePNG),
				Tags:             optList(xTags(d.Tags)),
			}}
		}),
		"EnableMFADevice": func(c *call) (any, error) {
			return nil, c.s.svc.EnableMFADevice(c.ctx, c.caller, c.f.str("UserName"), c.f.str("SerialNumber"),
				c.f.str("AuthenticationCode1"), c.f.str("AuthenticationCode2"))
		},
		"ResyncMFADevice": func(c *call) (any, error) {
			return nil, c.s.svc.ResyncMFADevice(c.ctx, c.caller, c.f.str("UserName"), c.f.str("SerialNumber"),
				c.f.str("AuthenticationCode1"), c.f.str("AuthenticationCode2"))
		},
		"DeactivateMFADevice":    byTwo("UserName", "SerialNumber", (*iam.Service).DeactivateMFADevice),
		"DeleteVirtualMFADevice": byName("SerialNumber", (*iam.Service).DeleteVirtualMFADevice),
		"ListMFADevices": listed(byNamed("UserName"), (*iam.Service).ListMFADevices, func(out iam.ListMFADevicesOutput) any {
			ds := make([]xMFADevice, len(out.MFADevices))
			for i, d := range out.MFADevices {
				ds[i] = xMFADevice{d.UserName, d.SerialNumber, isoTime(d.EnableDate)}
			}
			return mfaDevicesPage{listOf(ds), page{out.IsTruncated, out.Marker}}
		}),
		"ListVirtualMFADevices": listed(func(c *call) (iam.ListVirtualMFADevicesInput, error) {
			n, err := c.maxItems("MaxItems", 1, 1000)
			return iam.ListVirtualMFADevicesInput{AssignmentStatus: c.f.str("AssignmentStatus"), Marker: c.f.str("Marker"), MaxItems: n}, err
		}, (*iam.Service).ListVirtualMFADevices, func(out iam.ListVirtualMFADevicesOutput) any {
			ds := make([]xVirtualMFADevice, len(out.VirtualMFADevices))
			for i, d := range out.VirtualMFADevices {
				ds[i] = xVirtualMFADevice{SerialNumber: d.SerialNumber}
				if d.User != nil {
					u := toUser(d.User)
					ds[i].User = &u
					ds[i].EnableDate = isoTime(d.EnableDate)
				}
			}
			return virtualMFAPage{listOf(ds), page{out.IsTruncated, out.Marker}}
		}),
	}
}
