package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/client"
)

// isolateAWS points the AWS SDK at empty files and no metadata service.
func isolateAWS(t *testing.T) string {
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return dir
}

func TestAWSDefaultCredentialsEnv(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testAKID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	t.Setenv("AWS_REGION", "eu-central-1")
	ctx := context.Background()
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if creds.Region() != "eu-central-1" {
		t.Errorf("Region() = %q, want eu-central-1", creds.Region())
	}
	c, err := creds.Retrieve(ctx)
	if err != nil || c.AccessKeyID != testAKID || c.SecretAccessKey != testSecret {
		t.Fatalf("Retrieve = %v, %v", c, err)
	}
	s, err := client.NewTokenSource(client.Config{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Token(ctx, client.Target{Host: "db.internal", Port: 5432, User: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tok.Value(), "%2Feu-central-1%2Frds-db%2F") {
		t.Error("token not signed for the AWS configuration's region")
	}
	// The host's region beats the configuration's.
	tok, err = s.Token(ctx, client.Target{Host: "a.b.ap-southeast-2.rds.amazonaws.com", Port: 5432, User: "app"})
	if err != nil || !strings.Contains(tok.Value(), "%2Fap-southeast-2%2Frds-db%2F") {
		t.Errorf("token for an RDS host = %v, %v; want its region", tok, err)
	}
	// AWSOptions.Region overrides the environment.
	creds, err = client.AWSDefaultCredentials(ctx, client.AWSOptions{Region: "us-west-1"})
	if err != nil || creds.Region() != "us-west-1" {
		t.Errorf("AWSDefaultCredentials(Region: us-west-1).Region() = %q, %v", creds.Region(), err)
	}
}

func TestAWSDefaultCredentialsProfile(t *testing.T) {
	dir := isolateAWS(t)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[profile app]\nregion = sa-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte("[app]\naws_access_key_id = "+testAKID+"\naws_secret_access_key = "+testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: "app"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := creds.Retrieve(ctx)
	if err != nil || c.AccessKeyID != testAKID || creds.Region() != "sa-east-1" {
		t.Errorf("profile app: Retrieve = %v, %v; Region() = %q", c, err, creds.Region())
	}
	if _, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: "missing"}); !errors.Is(err, client.ErrInvalidConfig) {
		t.Errorf("AWSDefaultCredentials(missing profile) = %v, want ErrInvalidConfig", err)
	}
}

func TestAWSDefaultCredentialsNone(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := client.NewTokenSource(client.Config{Credentials: creds, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Token(ctx, target)
	if !errors.Is(err, client.ErrNoCredentials) {
		t.Fatalf("Token without credentials = %v, want ErrNoCredentials", err)
	}
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Hint == "" {
		t.Errorf("Token without credentials = %#v, want a hint", err)
	}
}

// A credential_process helper whose output the AWS SDK cannot parse (an Expiration not in
// RFC 3339) makes the SDK quote the whole output in its error, secret access key and
// session token included; no error of this package holds either (errors.go).
func TestCredentialProcessErrorHidesSecrets(t *testing.T) {
	dir := isolateAWS(t)
	const secret, session = "TOPSECRETwJalrXUtnFEMIK7MDENGbPxR", "SESSIONTOKENSECRETFwoGZXIvYXdzEJr"
	script := filepath.Join(dir, "helper.sh")
	out := `{"Version":1,"AccessKeyId":"AKIAEXAMPLEHELPER01","SecretAccessKey":"` + secret +
		`","SessionToken":"` + session + `","Expiration":"2030-01-01 00:00:00"}`
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' '"+out+"'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := "[profile helper]\nregion = eu-west-1\ncredential_process = " + script + "\n"
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: "helper"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := client.NewTokenSource(client.Config{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(ctx, client.Target{Host: "db.internal", Port: 5432, User: "app"})
	if err == nil {
		t.Fatal("Token succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, session) {
		t.Errorf("Token's error reveals the secret access key / session token:\n%s", msg)
	} else if !strings.Contains(msg, "process output: <redacted>, error: parsing time") {
		t.Errorf("Token's error no longer says what went wrong:\n%s", msg)
	}
}
