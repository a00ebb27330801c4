package awsquery

import "github.com/iamdb/iamdb/internal/iam"

// The STS API (version 2011-06-15).

type (
	callerIdentityResult struct {
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
		Arn     string `xml:"Arn"`
	}
	assumeRoleResult struct {
		Credentials      xCredentials
		AssumedRoleUser  xAssumedRoleUser
		PackedPolicySize int    `xml:",omitempty"`
		SourceIdentity   string `xml:",omitempty"`
	}
	sessionTokenResult struct {
		Credentials xCredentials
	}
)

func stsOps() map[string]handler {
	return map[string]handler{
		"GetCallerIdentity": func(c *call) (any, error) {
			id, err := c.s.svc.GetCallerIdentity(c.ctx, c.caller)
			if err != nil {
				return nil, err
			}
			return callerIdentityResult{id.UserID, id.Account, id.ARN}, nil
		},
		"AssumeRole": func(c *call) (any, error) {
			in := iam.AssumeRoleInput{
				RoleARN: c.f.str("RoleArn"), RoleSessionName: c.f.str("RoleSessionName"), Policy: c.f.str("Policy"),
				ExternalID: c.f.str("ExternalId"), SourceIdentity: c.f.str("SourceIdentity"),
				SerialNumber: c.f.str("SerialNumber"), TokenCode: c.f.str("TokenCode"),
			}
			var err error
			if in.DurationSeconds, err = c.intParam("DurationSeconds"); err != nil {
				return nil, err
			}
			if in.PolicyARNs, err = c.policyARNs(); err != nil {
				return nil, err
			}
			if in.Tags, err = c.tags(); err != nil {
				return nil, err
			}
			if in.TransitiveTagKeys, err = c.f.strList("TransitiveTagKeys.member."); err != nil {
				return nil, err
			}
			out, err := c.s.svc.AssumeRole(c.ctx, c.caller, in)
			if err != nil {
				return nil, err
			}
			return assumeRoleResult{
				Credentials:      toCredentials(&out.Credentials),
				AssumedRoleUser:  xAssumedRoleUser{AssumedRoleID: out.AssumedRoleUser.AssumedRoleID, Arn: out.AssumedRoleUser.ARN},
				PackedPolicySize: out.PackedPolicySize,
				SourceIdentity:   out.SourceIdentity,
			}, nil
		},
		"GetSessionToken": func(c *call) (any, error) {
			d, err := c.intParam("DurationSeconds")
			if err != nil {
				return nil, err
			}
			cr, err := c.s.svc.GetSessionToken(c.ctx, c.caller, iam.GetSessionTokenInput{DurationSeconds: d,
				SerialNumber: c.f.str("SerialNumber"), TokenCode: c.f.str("TokenCode")})
			if err != nil {
				return nil, err
			}
			return sessionTokenResult{toCredentials(&cr)}, nil
		},
		// AssumeRoleWithWebIdentity is unsigned; a later change implements it.
		"AssumeRoleWithWebIdentity": func(c *call) (any, error) {
			return nil, &queryError{501, "NotImplemented", "AssumeRoleWithWebIdentity is not implemented yet"}
		},
	}
}
