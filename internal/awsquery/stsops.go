package awsquery

import (
	"log/slog"

	"github.com/iamdb/iamdb/internal/iam"
)

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
	// webIdentityResult is AssumeRoleWithWebIdentityResult, in the order of STS's answers.
	webIdentityResult struct {
		Credentials                 xCredentials
		SubjectFromWebIdentityToken string
		AssumedRoleUser             xAssumedRoleUser
		PackedPolicySize            int `xml:",omitempty"`
		Provider                    string
		Audience                    string
		SourceIdentity              string `xml:",omitempty"`
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
			c.issued(in.RoleARN, out.AssumedRoleUser.ARN, &out.Credentials)
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
			c.issued("", "", &cr)
			return sessionTokenResult{toCredentials(&cr)}, nil
		},
		// AssumeRoleWithWebIdentity is unsigned: the token is the proof. A signed call is
		// verified like any other first, and its signer is ignored, as in STS.
		"AssumeRoleWithWebIdentity": func(c *call) (any, error) {
			in := iam.AssumeRoleWithWebIdentityInput{
				RoleARN: c.f.str("RoleArn"), RoleSessionName: c.f.str("RoleSessionName"),
				WebIdentityToken: c.f.str("WebIdentityToken"), Policy: c.f.str("Policy"), ProviderID: c.f.str("ProviderId"),
			}
			c.st.recipient = arnAccount(in.RoleARN)
			var err error
			if in.DurationSeconds, err = c.intParam("DurationSeconds"); err != nil {
				return nil, err
			}
			if in.PolicyARNs, err = c.policyARNs(); err != nil {
				return nil, err
			}
			out, err := c.s.svc.AssumeRoleWithWebIdentity(c.ctx, in)
			if err != nil {
				return nil, err
			}
			c.webIdentity(in.RoleARN, out)
			c.issued(in.RoleARN, out.AssumedRoleUser.ARN, &out.Credentials,
				slog.String("web_identity_subject", out.SubjectFromWebIdentityToken), slog.String("web_identity_provider", out.Provider))
			return webIdentityResult{
				Credentials:                 toCredentials(&out.Credentials),
				SubjectFromWebIdentityToken: out.SubjectFromWebIdentityToken,
				AssumedRoleUser:             xAssumedRoleUser{AssumedRoleID: out.AssumedRoleUser.AssumedRoleID, Arn: out.AssumedRoleUser.ARN},
				PackedPolicySize:            out.PackedPolicySize,
				Provider:                    out.Provider,
				Audience:                    out.Audience,
				SourceIdentity:              out.SourceIdentity,
			}, nil
		},
	}
}
