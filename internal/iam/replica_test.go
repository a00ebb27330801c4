package iam

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/localdb/localdbtest"
	"github.com/iamdb/iamdb/internal/pki"
	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/postgres"
)

// Two Services over one PostgreSQL store, as two replicas: what one changes, the other
// learns from the store's notification and change log, and applies without a full build;
// its snapshot matches one built from scratch after every change.
func TestReplicaAppliesChanges(t *testing.T) {
	ca, err := pki.NewCA("iam replica test CA", time.Hour, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pg := localdbtest.Postgres(t, ca)
	ctx := context.Background()
	// The throwaway cluster runs with synchronous_commit off, which the store refuses.
	if err := pg.Exec(ctx, "CREATE DATABASE iam_replicas", "ALTER DATABASE iam_replicas SET synchronous_commit = on"); err != nil {
		t.Fatal(err)
	}
	open := func() store.Store {
		st, err := postgres.Open(ctx, pg.AdminURL("iam_replicas"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	e := newEnvOn(t, open(), testMaster)
	stB := open()
	b, err := New(ctx, Config{Store: stB, MasterKey: testMaster, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	full := b.fullBuilds.Load()

	// waitFor waits until b's snapshot is at the store's revision.
	waitFor := func(step int) {
		t.Helper()
		rev := mustRevision(t, stB)
		deadline := time.Now().Add(10 * time.Second)
		for b.snap.Load().rev != rev {
			if time.Now().After(deadline) {
				t.Fatalf("step %d: the replica is at revision %d after 10s, the store at %d", step, b.snap.Load().rev, rev)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	alice := e.user(e.admin, "alice", allow("rds-db:connect", "*"))
	waitFor(-1)
	if k, err := b.LookupKey(ctx, alice.AccessKeyID, ""); err != nil || k.Principal.ARN != alice.ARN {
		t.Fatalf("the replica looks up a key made on the other: %v, %v", k.Principal, err)
	}
	r := &randomIAM{e: e, r: rand.New(rand.NewPCG(7, 7))}
	for i := range 150 {
		op, err := r.step()
		waitFor(i)
		if diff := compareWithBuild(t, b, stB); diff != "" {
			t.Fatalf("step %d (%s, err %v): the replica's snapshot differs from a build:\n%s", i, op, err, diff)
		}
	}
	if got := b.fullBuilds.Load(); got != full {
		t.Errorf("the replica made %d full builds, want none", got-full)
	}
	if b.appliedBuilds.Load() == 0 {
		t.Error("the replica applied no changes")
	}
}
