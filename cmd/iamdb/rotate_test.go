package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iamdb/iamdb/internal/server"
)

// TestRotateMasterKey rotates a stopped authority's master key: afterwards the admin's
// access key works with the new key, and not with the old one alone.
func TestRotateMasterKey(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "iamdb.toml")
	write := func(extra string) {
		t.Helper()
		writeFile(t, dir, "iamdb.toml", "dir = \"state\"\n"+extra+"[authority]\nlisten = \"127.0.0.1:0\"\n")
	}
	write("")
	if logs, err := serveOnce(t, cfg); err != nil {
		t.Fatalf("first start: %v\n%s", err, logs)
	}
	oldKey := filepath.Join(dir, "state", "master.key")
	newKey := filepath.Join(dir, "state", "master-2.key")
	rotate := func() string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"rotate-master-key", "--config", cfg, "--new-key-file", newKey}, &stdout, &stderr); err != nil {
			t.Fatalf("iamdb rotate-master-key: %v\n%s", err, stderr.String())
		}
		return stdout.String()
	}
	if out := rotate(); !strings.Contains(out, "created the new master key") || !strings.Contains(out, "re-encrypted 1 secrets (access keys and MFA seeds)") {
		t.Errorf("rotate-master-key printed %q", out)
	}
	if fi, err := os.Stat(newKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new key file: %v, mode %v; want 0600", err, fi.Mode())
	}
	akid, secret, err := server.ReadAdminKeyFile(filepath.Join(dir, "state", "admin-credentials"))
	if err != nil {
		t.Fatal(err)
	}
	// whoami asks the authority who the admin's key is, or returns the error.
	whoami := func() error {
		t.Helper()
		p := startServe(t, cfg)
		defer p.stop(t)
		url := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(p.stdout.String(), "\n", 2)[0], "ready authority="))
		c := awssts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url),
			Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
		_, err := c.GetCallerIdentity(context.Background(), &awssts.GetCallerIdentityInput{})
		if strings.Contains(p.logs.String(), secret) {
			t.Error("serve's log holds the admin's secret")
		}
		return err
	}
	// The store's secrets are now under the new key: with the old one alone, serve refuses
	// to start (rather than serve with every access key unknown).
	var serveOut, serveErr bytes.Buffer
	err = run(context.Background(), []string{"serve", "--config", cfg}, &serveOut, &serveErr)
	if err == nil || !strings.Contains(err.Error(), "wrong master key: the secrets of 1 access keys") {
		t.Errorf("serve with the old master key after the rotation = %v, want the wrong-master-key error", err)
	}
	write("master_key_file = \"master-2.key\"\nprevious_master_key_files = [\"master.key\"]\n")
	if err := whoami(); err != nil {
		t.Fatalf("the admin's key with the new master key: %v", err)
	}
	// Again with the same keys: nothing to do (the config now names the new key as current).
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"rotate-master-key", "--config", cfg, "--new-key-file", oldKey}, &stdout, &stderr)
	if err != nil || !strings.Contains(stdout.String(), "re-encrypted 1 secrets (access keys and MFA seeds)") {
		t.Errorf("rotating back = %v, %q %q", err, stdout.String(), stderr.String())
	}
	write("")
	if err := whoami(); err != nil {
		t.Fatalf("the admin's key with the original master key after rotating back: %v", err)
	}
}
