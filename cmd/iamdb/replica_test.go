package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/testenv"
)

// Two "iamdb serve" replicas over one PostgreSQL store (store.url), as behind a load
// balancer: what one of them writes, the other serves moments later without a restart (the
// store's LISTEN/NOTIFY invalidates its snapshot), in both directions. A replica never makes
// up the master key of a shared store: without the file it refuses to start.
func TestServeReplicasShareAPostgresStore(t *testing.T) {
	tools := findClientTools(t)
	ca := testCA(t)
	pg := localdbtest.Postgres(t, ca)
	ctx := context.Background()
	// The throwaway cluster runs with synchronous_commit off for speed, which the store
	// refuses: an operator's database has it on.
	if err := pg.Exec(ctx, "CREATE DATABASE iamdb_store", "ALTER DATABASE iamdb_store SET synchronous_commit = on"); err != nil {
		t.Fatal(err)
	}
	storeURL := pg.AdminURL("iamdb_store")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	replicaConfig := func(name, listen string) string {
		return writeFile(t, dir, name+".toml", fmt.Sprintf(`dir = %q
master_key_file = %q

[store]
url = %q

[authority]
listen = %q
region = "eu-west-1"
`, filepath.Join(dir, name), keyFile, storeURL, listen))
	}
	cfgA := replicaConfig("a", "127.0.0.1:0")
	cfgB := replicaConfig("b", fmt.Sprintf("127.0.0.1:%d", freePort(t)))

	_, err := serveOnce(t, cfgA)
	if err == nil || !strings.Contains(err.Error(), "every replica must use the same master key") {
		t.Fatalf("replica without the master key file = %v, want a refusal naming the shared master key", err)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("a replica of a shared store created the master key")
	}
	k := make([]byte, 32)
	rand.Read(k)
	writeFile(t, dir, "master.key", hex.EncodeToString(k)+"\n")

	// Replica A in this process bootstraps the empty store; replica B, another process,
	// finds the account there and creates nothing.
	serveA := startServe(t, cfgA)
	logsA := serveA.logs
	a := &testAuthority{url: strings.TrimSpace(strings.TrimPrefix(serveA.stdout.String(), "ready authority=")),
		keys: map[string]awsCreds{"123456789012": readCredentialsFile(t, filepath.Join(dir, "a", "admin-credentials"))}}
	urlB, logsB := startServeProcess(t, cfgB)
	b := &testAuthority{url: urlB}
	if _, err := os.Stat(filepath.Join(dir, "b", "admin-credentials")); err == nil {
		t.Error("replica B bootstrapped the account again and wrote an admin key")
	}
	admin := a.keys["123456789012"]

	// A user and key made through A work at B, and the key deleted through B stops working
	// at A.
	cliA := a.awsV2(t, tools, dir, "eu-west-1").as(admin)
	cliA.run("iam", "create-user", "--user-name", "alice")
	var ck struct{ AccessKey awsCreds }
	cliA.runJSON(&ck, "iam", "create-access-key", "--user-name", "alice")
	alice := ck.AccessKey
	cliB := b.awsV2(t, tools, dir, "eu-west-1")
	waitFor(t, "alice's new key at replica B", func() (bool, string) {
		out, errOut, err := cliB.as(alice).exec(true, []string{"sts", "get-caller-identity", "--query", "Arn", "--output", "text"})
		return err == nil && strings.TrimSpace(out) == "arn:aws:iam::123456789012:user/alice", out + errOut
	})
	cliB.as(admin).run("iam", "delete-access-key", "--user-name", "alice", "--access-key-id", alice.AccessKeyID)
	waitFor(t, "alice's deleted key refused at replica A", func() (bool, string) {
		_, errOut, err := cliA.as(alice).exec(true, []string{"sts", "get-caller-identity"})
		return err != nil && strings.Contains(errOut, "InvalidClientTokenId"), errOut
	})

	// A store outage: every connection to the store's database is cut and refused. The
	// replicas keep serving from memory what they knew; a change fails cleanly; once the
	// database is back, a change through A reaches B again (B's listener reconnects).
	cliA.run("iam", "create-user", "--user-name", "bob")
	cliA.runJSON(&ck, "iam", "create-access-key", "--user-name", "bob")
	bob := ck.AccessKey
	waitFor(t, "bob's key at replica B", func() (bool, string) {
		out, errOut, err := cliB.as(bob).exec(true, []string{"sts", "get-caller-identity"})
		return err == nil, out + errOut
	})
	if err := pg.Exec(ctx, "ALTER DATABASE iamdb_store ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = 'iamdb_store'"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []awsV2{cliA, cliB} {
		if out, errOut, err := c.as(bob).exec(true, []string{"sts", "get-caller-identity", "--query", "Arn", "--output", "text"}); err != nil ||
			strings.TrimSpace(out) != "arn:aws:iam::123456789012:user/bob" {
			t.Errorf("bob at %s during the store outage: %v %s%s", c.url, err, out, errOut)
		}
	}
	noRetry := cliA
	noRetry.env = append(append([]string(nil), cliA.env...), "AWS_MAX_ATTEMPTS=1")
	if out, errOut, err := noRetry.as(admin).exec(true, []string{"iam", "create-user", "--user-name", "carol"}); err == nil ||
		!strings.Contains(errOut, "ServiceFailure") {
		t.Errorf("create-user during the store outage = %v %s%s, want a ServiceFailure", err, out, errOut)
	}
	if err := pg.Exec(ctx, "ALTER DATABASE iamdb_store ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "create-user carol at replica A after the outage", func() (bool, string) {
		out, errOut, err := noRetry.as(admin).exec(true, []string{"iam", "create-user", "--user-name", "carol"})
		return err == nil || strings.Contains(errOut, "EntityAlreadyExists"), out + errOut
	})
	cliA.runJSON(&ck, "iam", "create-access-key", "--user-name", "carol")
	carol := ck.AccessKey
	waitFor(t, "carol's key at replica B after the outage", func() (bool, string) {
		out, errOut, err := cliB.as(carol).exec(true, []string{"sts", "get-caller-identity"})
		return err == nil, out + errOut
	})

	u, err := url.Parse(storeURL)
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := u.User.Password(); pw == "" || strings.Contains(logsA.String()+logsB.String(), pw) {
		t.Errorf("the store's password is empty or in a replica's log")
	}
}

// startServeProcess runs "iamdb serve --config cfg" as a child process until the test
// ends, and returns its authority URL once it prints ready, and its log.
func startServeProcess(t *testing.T, cfg string) (string, *testenv.LogBuffer) {
	t.Helper()
	const prefix = "ready authority="
	c, line := startChild(t, os.Environ(), func(l string) bool { return strings.HasPrefix(l, prefix) }, "serve", "--config", cfg)
	t.Cleanup(func() {
		c.stop(t, os.Interrupt)
		if t.Failed() {
			t.Logf("the serve process's log:\n%s", c.logs.String())
		}
	})
	return strings.TrimPrefix(line, prefix), &c.logs
}
