package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv/gatewayrun"
)

// TestAccessUnusedAfterGatewayLogin: alice logs in through a real PostgreSQL gateway a
// month after the cast was made; the AWS CLI's get-access-key-last-used names rds-db and
// the database's region, and iamdb access unused lists her grants that allowed no login
// (nina, pwuser) but not the one she used, and the keys nobody used.
func TestAccessUnusedAfterGatewayLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a gateway and the AWS CLI")
	}
	e := gatewayenv.New(t, gatewayenv.Options{Postgres: true})
	e.Clock.Advance(31 * 24 * time.Hour)
	gw := gatewayrun.Postgres(t, e, nil)
	cc, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=alice dbname=postgres sslmode=disable connect_timeout=20", gw.Port))
	if err != nil {
		t.Fatal(err)
	}
	cc.Password = gw.Token(t, "alice", "alice", time.Time{})
	cc.TLSConfig = e.ClientTLS()
	cc.Fallbacks = nil
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := e.Clock.Now() // the clock runs: the login is stamped between before and loginAt
	c, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatalf("alice's login through the gateway: %v", err)
	}
	c.Close(ctx)
	loginAt := e.Clock.Now()
	endpoint := gatewayenv.AWSEndpoint(t, e.Authority)
	admin := []string{"AWS_ACCESS_KEY_ID=" + e.Admin.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + e.Admin.SecretAccessKey}

	t.Run("aws-cli", func(t *testing.T) {
		aws, err := exec.LookPath("aws")
		needTool(t, err == nil, "the AWS CLI", "apt-get install awscli")
		out, stderr, err := runTool(t.TempDir(), toolEnv(t, gatewayenv.Region, admin...), aws, "--endpoint-url", endpoint, "--output", "json",
			"iam", "get-access-key-last-used", "--access-key-id", e.Keys["alice"].AccessKeyID)
		if err != nil {
			t.Fatalf("aws iam get-access-key-last-used: %v\n%s", err, stderr)
		}
		var lu struct {
			UserName          string
			AccessKeyLastUsed struct{ LastUsedDate, ServiceName, Region string }
		}
		if err := json.Unmarshal([]byte(out), &lu); err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339, lu.AccessKeyLastUsed.LastUsedDate)
		if lu.UserName != "alice" || lu.AccessKeyLastUsed.ServiceName != "rds-db" || lu.AccessKeyLastUsed.Region != gatewayenv.Region ||
			at.Before(before.Truncate(time.Second)) || at.After(loginAt) {
			t.Errorf("get-access-key-last-used = %s; want rds-db, %s, %s", out, gatewayenv.Region, loginAt)
		}
	})

	for _, kv := range append(admin, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PROFILE=", "AWS_REGION="+gatewayenv.Region) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"access", "unused", "--days", "30", "--format", "json", "--endpoint", endpoint}, &stdout, &stderr); err != nil {
		t.Fatalf("iamdb access unused: %v\n%s", err, stderr.String())
	}
	var a unusedAnswer
	if err := json.Unmarshal(stdout.Bytes(), &a); err != nil {
		t.Fatalf("iamdb access unused --format json: %v\n%s", err, stdout.String())
	}
	aliceARN := "arn:aws:iam::" + gatewayenv.Account + ":user/alice"
	var aliceUsers []string
	for _, g := range a.Grants {
		if g.PrincipalArn == aliceARN {
			aliceUsers = append(aliceUsers, g.DBUser)
		}
	}
	if strings.Join(aliceUsers, ",") != "nina,pwuser" {
		t.Errorf("alice's unused grants = %v; want nina, pwuser (she logged in as alice)\n%s", aliceUsers, stdout.String())
	}
	keys := map[string]bool{}
	for _, p := range a.Principals {
		keys[p.AccessKeyID] = true
	}
	if keys[e.Keys["alice"].AccessKeyID] || !keys[e.Keys["bob"].AccessKeyID] || keys[e.Keys["dave"].AccessKeyID] {
		t.Errorf("unused principals: alice %v (want false), bob %v (want true), dave (inactive) %v (want false)\n%s",
			keys[e.Keys["alice"].AccessKeyID], keys[e.Keys["bob"].AccessKeyID], keys[e.Keys["dave"].AccessKeyID], stdout.String())
	}

	stdout.Reset()
	if err := run(ctx, []string{"access", "unused", "--days", "30", "--endpoint", endpoint}, &stdout, &stderr); err != nil {
		t.Fatalf("iamdb access unused: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"rds-db:connect grants that allowed no login:", aliceARN, "pwuser", "access keys and roles not used:", e.Keys["bob"].AccessKeyID} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("iamdb access unused (text) lacks %q:\n%s", want, stdout.String())
		}
	}

	// Usage errors; a caller without the permissions is refused by the authority.
	for _, args := range [][]string{{"access", "unused", "--days", "0", "--endpoint", endpoint}, {"access", "unused", "--format", "xml", "--endpoint", endpoint},
		{"access", "unused", "extra"}} {
		if err := run(ctx, args, &stdout, &stderr); err == nil {
			t.Errorf("iamdb %s: no error", strings.Join(args, " "))
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", e.Keys["bob"].AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.Keys["bob"].SecretAccessKey)
	if err := run(ctx, []string{"access", "unused", "--endpoint", endpoint}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("iamdb access unused as bob = %v; want AccessDenied", err)
	}
}

func TestAccessUsage(t *testing.T) {
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"access", "unused", "-h"}, &stdout, &stderr); err != nil || !strings.Contains(stderr.String()+stdout.String(), "iamdb access unused [--days N]") {
		t.Errorf("access unused -h = %v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, args := range [][]string{{"access"}, {"access", "nope"}, {"access", "unused", "--endpoint", ""}, {"access", "unused", "--days", "3651", "--endpoint", "http://127.0.0.1:1"}} {
		stdout.Reset()
		stderr.Reset()
		err := run(ctx, args, &stdout, &stderr)
		var ue *usageError
		if err == nil || args[len(args)-1] != "access" && args[1] == "unused" && !errors.As(err, &ue) {
			t.Errorf("iamdb %s = %v; want a usage error", strings.Join(args, " "), err)
		}
	}
}
