package iam

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/sqlite"
	"github.com/iamdb/iamdb/internal/testenv"
)

const (
	acctA = "111122223333"
	acctB = "444455556666"
)

var testMaster = []byte("0123456789abcdef0123456789abcdef")

// countingStore counts the reads and writes that reach the store.
type countingStore struct {
	store.Store
	views, updates, revisions atomic.Int64
}

func (c *countingStore) View(ctx context.Context, fn func(store.Tx) error) error {
	c.views.Add(1)
	return c.Store.View(ctx, fn)
}

func (c *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, fn)
}

func (c *countingStore) Revision(ctx context.Context) (int64, error) {
	c.revisions.Add(1)
	return c.Store.Revision(ctx)
}

// quiesce stops the Service's watch loop, so that the store reads counted afterwards are
// the ones the code under test makes. Mutations still refresh the snapshot themselves.
func (e *env) quiesce() {
	e.s.cancel()
	<-e.s.done
}

func (c *countingStore) reads() int64 { return c.views.Load() + c.revisions.Load() }

type env struct {
	t     testing.TB
	s     *Service
	st    *countingStore
	raw   store.Store
	clock *testenv.Clock
	admin *Caller // admin of acctA
	ctx   context.Context
}

func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "iam.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newEnv(t testing.TB) *env {
	t.Helper()
	raw := openStore(t)
	return newEnvOn(t, raw, testMaster)
}

// newEnvOn starts a Service on raw with the iam.Config changed by mods.
func newEnvOn(t testing.TB, raw store.Store, master []byte, mods ...func(*Config)) *env {
	t.Helper()
	cs := &countingStore{Store: raw}
	clk := testenv.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	cfg := Config{Store: cs, MasterKey: master, Now: clk.Now, DefaultRegion: "ap-northeast-1"}
	for _, mod := range mods {
		mod(&cfg)
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := &env{t: t, s: s, st: cs, raw: raw, clock: clk, ctx: context.Background()}
	e.admin = e.bootstrap(acctA, "admin")
	return e
}

// bootstrap creates an account with an admin and returns the admin's caller.
func (e *env) bootstrap(acct, name string) *Caller {
	e.t.Helper()
	key, created, err := e.s.Bootstrap(e.ctx, BootstrapInput{AccountID: acct, AdminUserName: name})
	if err != nil {
		e.t.Fatal(err)
	}
	if !created {
		e.t.Fatalf("Bootstrap(%s) created = false", acct)
	}
	return e.caller(key.AccessKeyID, "")
}

// caller resolves credentials as the HTTP layer does.
func (e *env) caller(akid, tok string) *Caller {
	e.t.Helper()
	k, err := e.s.LookupKey(e.ctx, akid, tok)
	if err != nil {
		e.t.Fatalf("LookupKey(%s) = %v", akid, err)
	}
	return k.Principal
}

// user creates a user with an inline policy (if doc is not empty) and a key, and returns
// its caller.
func (e *env) user(admin *Caller, name, doc string) *Caller {
	e.t.Helper()
	if _, err := e.s.CreateUser(e.ctx, admin, CreateUserInput{UserName: name}); err != nil {
		e.t.Fatal(err)
	}
	if doc != "" {
		if err := e.s.PutUserPolicy(e.ctx, admin, name, "p", doc); err != nil {
			e.t.Fatal(err)
		}
	}
	k, err := e.s.CreateAccessKey(e.ctx, admin, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.caller(k.AccessKeyID, "")
}

func (e *env) role(admin *Caller, name, trust string, policies ...string) Role {
	e.t.Helper()
	r, err := e.s.CreateRole(e.ctx, admin, CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: trust, MaxSessionDuration: 43200})
	if err != nil {
		e.t.Fatal(err)
	}
	for i, p := range policies {
		if err := e.s.PutRolePolicy(e.ctx, admin, name, "p"+string(rune('0'+i)), p); err != nil {
			e.t.Fatal(err)
		}
	}
	return r
}

// database registers the PostgreSQL database "db" (endpoint db.example:5432, IAM auth on)
// that the rds-db:connect tests log in to.
func (e *env) database() Database {
	e.t.Helper()
	db, err := e.s.RegisterDatabase(e.ctx, DatabaseSpec{Identifier: "db", Engine: "postgres", Port: 5432, Endpoints: []string{"db.example"}, IAMAuth: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return db
}

func (e *env) assume(c *Caller, in AssumeRoleInput) (*Caller, AssumeRoleOutput) {
	e.t.Helper()
	out, err := e.s.AssumeRole(e.ctx, c, in)
	if err != nil {
		e.t.Fatalf("AssumeRole(%s) = %v", in.RoleARN, err)
	}
	return e.caller(out.Credentials.AccessKeyID, out.Credentials.SessionToken), out
}

// code returns the AWS error code of err ("" for nil, "internal" for other errors).
func code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal: " + err.Error()
}

func allow(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"` + resource + `"}]}`
}

func trustARN(principal string, actions ...string) string {
	a := `"sts:AssumeRole"`
	if len(actions) > 0 {
		a = "["
		for i, x := range actions {
			if i > 0 {
				a += ","
			}
			a += `"` + x + `"`
		}
		a += "]"
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":` + a + `}]}`
}
