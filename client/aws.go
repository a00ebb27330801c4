package client

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AWSOptions adjust AWSDefaultCredentials. Zero values are the SDK's defaults.
type AWSOptions struct {
	// Profile is the shared config profile. If empty, AWS_PROFILE, else "default".
	Profile string
	// Region overrides the configuration's region (AWS_REGION, the profile's region).
	Region string
	// RoleARN, if set, is assumed with the chain's credentials (built-in assume-role; the
	// profile's own role_arn is honoured without it, and the two chain).
	RoleARN string
	// RoleSessionName names the assumed role's session. If empty, the SDK's default.
	RoleSessionName string
	// ExternalID is the external ID the role's trust policy may require.
	ExternalID string
	// RoleDuration is the assumed role's session length. If zero, 15 minutes (the SDK's
	// default); refreshed ahead of expiry either way.
	RoleDuration time.Duration
}

// AWSCredentials is a CredentialsProvider backed by the AWS SDK for Go v2's standard
// chain, cached and refreshed ahead of expiry by the SDK. Its Region method reports the
// configuration's region, which a TokenSource uses when neither the Config nor the host
// name gives one.
type AWSCredentials struct {
	provider aws.CredentialsProvider
	region   string
}

var _ CredentialsProvider = (*AWSCredentials)(nil)

// AWSDefaultCredentials loads the AWS configuration as every AWS SDK does — environment
// variables, the shared config and credentials files (profiles with role_arn and
// source_profile or credential_source, SSO, credential_process), web identity
// (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), container and instance metadata
// credentials — and returns its credentials as a CredentialsProvider. Endpoint overrides
// such as AWS_ENDPOINT_URL_STS apply as in the SDK. It reads the environment and files
// because the caller asked for the standard chain; nothing else in this package does.
//
// It fails only when the configuration cannot be loaded; missing credentials are reported
// by Retrieve (ErrNoCredentials), at the first token.
func AWSDefaultCredentials(ctx context.Context, opts AWSOptions) (*AWSCredentials, error) {
	var load []func(*config.LoadOptions) error
	if opts.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, &Error{Op: "credentials", Kind: ErrInvalidConfig, Err: err, Hint: "check AWS_PROFILE, AWS_CONFIG_FILE and the shared config file"}
	}
	p := cfg.Credentials
	if opts.RoleARN != "" {
		if p == nil {
			return nil, &Error{Op: "credentials", Kind: ErrNoCredentials, Hint: "assuming a role needs source credentials"}
		}
		ar := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), opts.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			if opts.RoleSessionName != "" {
				o.RoleSessionName = opts.RoleSessionName
			}
			if opts.ExternalID != "" {
				o.ExternalID = aws.String(opts.ExternalID)
			}
			if opts.RoleDuration != 0 {
				o.Duration = opts.RoleDuration
			}
		})
		p = aws.NewCredentialsCache(ar)
	}
	return &AWSCredentials{provider: p, region: cfg.Region}, nil
}

// Retrieve returns the chain's current credentials.
func (a *AWSCredentials) Retrieve(ctx context.Context) (Credentials, error) {
	if a.provider == nil {
		return Credentials{}, &Error{Op: "credentials", Kind: ErrNoCredentials, Hint: credentialsHint}
	}
	c, err := a.provider.Retrieve(ctx)
	if err != nil {
		return Credentials{}, &Error{Op: "credentials", Kind: ErrNoCredentials, Err: redactSecrets(err), Hint: credentialsHint}
	}
	return Credentials{
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		CanExpire: c.CanExpire, Expires: c.Expires, Source: c.Source,
	}, nil
}

// Region returns the AWS configuration's region, or "".
func (a *AWSCredentials) Region() string { return a.region }

// secretValueRE matches a JSON member that holds a secret, as a credential_process
// helper's output or an endpoint's answer quoted in an error holds it.
var secretValueRE = regexp.MustCompile(`(?i)"(SecretAccessKey|SessionToken|Token|secret_access_key|session_token)"(\s*:\s*)"(?:[^"\\]|\\.)*"`)

// redactSecrets returns err with what it may quote of a secret removed from its message:
// the AWS SDK's credential_process provider quotes the whole output of a helper it cannot
// parse ("parse failed of process output: {…"SecretAccessKey":…}, error: …"), and an
// error of this package never holds a secret (errors.go). errors.Is and As still see err.
func redactSecrets(err error) error {
	msg := err.Error()
	const quoted = "process output: "
	if i := strings.Index(msg, quoted); i >= 0 {
		rest := "<redacted>"
		if j := strings.LastIndex(msg, ", error: "); j > i {
			rest += msg[j:]
		}
		msg = msg[:i+len(quoted)] + rest
	}
	msg = secretValueRE.ReplaceAllString(msg, `"$1"$2"<redacted>"`)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error with another message.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
