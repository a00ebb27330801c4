package client

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Credentials are the AWS credentials a token is signed with. SessionToken is set for
// temporary (ASIA…) credentials, which expire at Expires when CanExpire is true. String,
// GoString, Format (every fmt verb), LogValue and MarshalJSON never reveal the secret access
// key or the session token.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	CanExpire       bool
	Expires         time.Time
	// Source names where the credentials came from, for humans (AWSDefaultCredentials sets
	// the AWS SDK provider's name, such as "EnvConfigCredentials"); it may be empty and
	// plays no part in signing.
	Source string
}

// String returns the access key ID, the expiry and nothing secret.
func (c Credentials) String() string {
	exp := "never"
	if c.CanExpire {
		exp = c.Expires.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("client.Credentials{AccessKeyID: %q, SecretAccessKey: [redacted], SessionToken: [%d bytes], Expires: %s}", c.AccessKeyID, len(c.SessionToken), exp)
}

// GoString is String, so that %#v does not print the secret either.
func (c Credentials) GoString() string { return c.String() }

// Format implements fmt.Formatter: every verb prints String.
func (c Credentials) Format(f fmt.State, verb rune) { fmt.Fprint(f, c.String()) }

// LogValue implements slog.LogValuer: the access key ID and expiry only.
func (c Credentials) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("access_key_id", c.AccessKeyID)}
	if c.CanExpire {
		attrs = append(attrs, slog.Time("expires", c.Expires))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes the access key ID and expiry only.
func (c Credentials) MarshalJSON() ([]byte, error) {
	v := struct {
		AccessKeyID string     `json:"AccessKeyId"`
		Expires     *time.Time `json:"Expiration,omitempty"`
	}{AccessKeyID: c.AccessKeyID}
	if c.CanExpire {
		v.Expires = &c.Expires
	}
	return json.Marshal(v)
}

// CredentialsProvider returns the credentials to sign the next token with. The TokenSource
// calls Retrieve once per mint — at most once per target and token lifetime, and never
// twice at once for one target — so a provider that calls a remote service should cache
// (the provider of AWSDefaultCredentials does). Implementations must be safe for concurrent
// use.
//
// Its method set matches aws-sdk-go-v2's aws.CredentialsProvider except for the result
// type; CredentialsProviderFunc adapts one in three lines (see the example), so that this
// package's API exposes no AWS SDK types.
type CredentialsProvider interface {
	Retrieve(ctx context.Context) (Credentials, error)
}

// CredentialsProviderFunc is a function that is a CredentialsProvider.
type CredentialsProviderFunc func(ctx context.Context) (Credentials, error)

// Retrieve calls f.
func (f CredentialsProviderFunc) Retrieve(ctx context.Context) (Credentials, error) { return f(ctx) }

// StaticCredentials returns a provider of fixed, never-expiring credentials (an IAM user's
// access key, or temporary credentials whose expiry the caller manages).
func StaticCredentials(accessKeyID, secretAccessKey, sessionToken string) CredentialsProvider {
	c := Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey, SessionToken: sessionToken}
	return CredentialsProviderFunc(func(context.Context) (Credentials, error) { return c, nil })
}

// EnvCredentials returns a provider that reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN at every Retrieve (so rotated values are picked up). Nothing in this
// package reads the environment unless the caller chooses this provider or
// AWSDefaultCredentials.
func EnvCredentials() CredentialsProvider {
	return CredentialsProviderFunc(func(context.Context) (Credentials, error) {
		c := Credentials{
			AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
			SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
			SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return Credentials{}, &Error{Op: "credentials", Kind: ErrNoCredentials,
				Hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}
		}
		return c, nil
	})
}
