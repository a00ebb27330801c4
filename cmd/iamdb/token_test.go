package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// isolateAWS points the AWS SDK at empty config files and static credentials from the
// environment, so that the test machine's own configuration never leaks in.
func isolateAWS(t *testing.T, akid, secret, session string) {
	t.Helper()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_ACCESS_KEY_ID", akid)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", session)
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	return runCLIStdin(t, nil, args...)
}

// runCLIStdin is runCLI with stdin as standard input (nil: os.Stdin).
func runCLIStdin(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := hooks{stdin: stdin}.run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), exitStatus(err, &errb)
}

func TestTokenBuildAndVerify(t *testing.T) {
	isolateAWS(t, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")
	out, errOut, status := runCLI(t, "token", "--hostname", "db.example.internal", "--port", "5432",
		"--username", "jane.doe+ops@corp", "--region", "eu-west-1")
	if status != 0 {
		t.Fatalf("iamdb token: status %d, stderr %q", status, errOut)
	}
	tok := strings.TrimSpace(out)
	if !strings.HasPrefix(tok, "db.example.internal:5432/?Action=connect&DBUser=jane.doe%2Bops%40corp&") {
		t.Fatalf("iamdb token = %q", tok)
	}
	verify := []string{"token", "verify", "--token", tok, "--region", "eu-west-1",
		"--host", "DB.example.internal", "--port", "5432", "--user", "jane.doe+ops@corp"}
	out, errOut, status = runCLI(t, verify...)
	if status != 0 || out != "valid\n" {
		t.Errorf("iamdb token verify = %q, %d (stderr %q), want valid, 0", out, status, errOut)
	}

	tests := []struct {
		name   string
		change []string
		want   string
	}{
		{"wrong user", []string{"--user", "jane"}, "refused: user-mismatch\n"},
		{"wrong region", []string{"--region", "eu-west-2"}, "refused: wrong-scope-region\n"},
		{"wrong host", []string{"--host", "other"}, "refused: host-not-allowed\n"},
		{"wrong port", []string{"--port", "5433"}, "refused: port-not-allowed\n"},
		{"wrong secret", []string{"--secret-access-key", "x"}, "refused: signature-mismatch\n"},
		{"later", []string{"--now", time.Now().Add(20 * time.Minute).Format(time.RFC3339)}, "refused: expired\n"},
		{"earlier", []string{"--now", time.Now().Add(-20 * time.Minute).Format(time.RFC3339)}, "refused: not-yet-valid\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, status := runCLI(t, append(append([]string{}, verify...), tt.change...)...)
			if status != 1 || out != tt.want {
				t.Errorf("iamdb token verify %v = %q, %d, want %q, 1", tt.change, out, status, tt.want)
			}
		})
	}
}

func TestTokenFormats(t *testing.T) {
	isolateAWS(t, "ASIAIOSFODNN7EXAMPLE", "secret", "FwoGZXIvYXdzE/session+token=")
	out, errOut, status := runCLI(t, "token", "--hostname", "127.0.0.1", "--port", "3306",
		"--username", "app", "--region", "us-east-1", "--format", "json")
	if status != 0 {
		t.Fatalf("status %d, stderr %q", status, errOut)
	}
	var got struct {
		Token      string    `json:"token"`
		Username   string    `json:"username"`
		Port       int       `json:"port"`
		Expiration time.Time `json:"expiration"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("json output %q: %v", out, err)
	}
	if got.Username != "app" || got.Port != 3306 || time.Until(got.Expiration) > 15*time.Minute || time.Until(got.Expiration) < 14*time.Minute {
		t.Errorf("json output = %+v", got)
	}
	if !strings.Contains(got.Token, "X-Amz-Security-Token=FwoGZXIvYXdzE%2Fsession%2Btoken%3D") {
		t.Errorf("token %q lacks the session token", got.Token)
	}
	// The session token is checked: from the environment by default, or given.
	out, _, status = runCLIStdin(t, strings.NewReader(got.Token+"\n"), "token", "verify", "--token", "-", "--region", "us-east-1",
		"--host", "127.0.0.1", "--port", "3306", "--user", "app")
	if status != 0 || out != "valid\n" {
		t.Errorf("verify with session token = %q, %d", out, status)
	}
	out, _, status = runCLI(t, "token", "verify", "--token", got.Token, "--region", "us-east-1",
		"--host", "127.0.0.1", "--port", "3306", "--user", "app", "--session-token", "other")
	if status != 1 || out != "refused: invalid-session-token\n" {
		t.Errorf("verify with another session token = %q, %d", out, status)
	}

	out, _, status = runCLI(t, "token", "--hostname", "127.0.0.1", "--port", "3306",
		"--username", "app", "--region", "us-east-1", "--format", "env")
	if status != 0 || !strings.HasPrefix(out, "export PGPASSWORD='127.0.0.1:3306/?Action=connect") || !strings.Contains(out, "\nexport MYSQL_PWD='") {
		t.Errorf("env output = %q, %d", out, status)
	}
}

func TestTokenUsage(t *testing.T) {
	isolateAWS(t, "AKIAIOSFODNN7EXAMPLE", "secret", "")
	for _, args := range [][]string{
		{"token"},
		{"token", "--hostname", "h", "--port", "1", "--username", "u", "--format", "yaml"},
		{"token", "verify", "--token", "x"},
		{"nonsense"},
	} {
		_, _, status := runCLI(t, args...)
		if status != 2 {
			t.Errorf("iamdb %v: status %d, want 2", args, status)
		}
	}
	if _, _, status := runCLI(t, "token", "--hostname", "h", "--port", "1", "--username", "u"); status != 2 {
		t.Errorf("iamdb token without a region: status %d, want 2", status)
	}
	_ = io.Discard
}

// The region comes from an RDS host name when --region is not given, as in the client
// library; --region still wins.
func TestTokenRegionFromHost(t *testing.T) {
	isolateAWS(t, "AKIAIOSFODNN7EXAMPLE", "secret", "")
	const host = "mydb.c9akciq32.eu-west-1.rds.amazonaws.com"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"from the host", nil, "eu-west-1"},
		{"--region", []string{"--region", "us-east-2"}, "us-east-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"token", "--hostname", host, "--port", "5432", "--username", "app", "--format", "json"}, tt.args...)
			out, errOut, status := runCLI(t, args...)
			var got struct {
				Token  string `json:"token"`
				Region string `json:"region"`
			}
			if status != 0 || json.Unmarshal([]byte(out), &got) != nil {
				t.Fatalf("iamdb %q: status %d, %q, stderr %q", args, status, out, errOut)
			}
			if got.Region != tt.want || !strings.Contains(got.Token, "%2F"+tt.want+"%2Frds-db%2F") {
				t.Errorf("iamdb %q: region %q, token %q; want %s", args, got.Region, got.Token, tt.want)
			}
		})
	}
}
