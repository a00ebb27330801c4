package authority

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/internal/store/sqlite"
	"github.com/iamdb/iamdb/internal/testenv"
)

// Defaults of Options.
const (
	DefaultAccount = "123456789012"
	DefaultRegion  = "us-east-1"
	DefaultAdmin   = "admin"
)

// Options configure an authority. The zero value is a running clock, DefaultAccount and
// DefaultRegion.
type Options struct {
	Account string         // the bootstrapped account; if empty, DefaultAccount
	Region  string         // iam.Config.DefaultRegion; if empty, DefaultRegion
	Admin   string         // the account's administrator; if empty, DefaultAdmin
	Clock   *testenv.Clock // if nil, a running testenv.Clock (real time)
	// MasterKey is iam.Config.MasterKey; if nil, 32 bytes of 7.
	MasterKey []byte
	// Store is the store the authority uses; if nil, SQLite in a temporary directory.
	Store store.Store
	// Config, if not nil, adjusts the iam.Config before the Service starts.
	Config func(*iam.Config)
}

// An Authority is an iam.Service on a temporary store with a bootstrapped account.
type Authority struct {
	IAM     *iam.Service
	Store   store.Store // the store under IAM
	Clock   *testenv.Clock
	Account string
	Region  string
	Admin   iam.AccessKey // the administrator's access key

	dir string // removed by Close if not empty
	own bool   // Store was opened here
}

// New starts an authority that stops when t ends; its store is under t.TempDir().
func New(t testing.TB, opt Options) *Authority {
	t.Helper()
	if opt.Store == nil {
		st, err := sqlite.Open(filepath.Join(t.TempDir(), "iam.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		opt.Store = st
	}
	a, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// Open starts an authority that lives until Close.
func Open(opt Options) (_ *Authority, err error) {
	a := &Authority{Store: opt.Store, Clock: opt.Clock, Account: opt.Account, Region: opt.Region}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.Clock == nil {
		a.Clock = &testenv.Clock{}
	}
	if a.Account == "" {
		a.Account = DefaultAccount
	}
	if a.Region == "" {
		a.Region = DefaultRegion
	}
	if a.Store == nil {
		if a.dir, err = os.MkdirTemp("", "iamdb-authority-"); err != nil {
			return nil, err
		}
		if a.Store, err = sqlite.Open(filepath.Join(a.dir, "iam.db")); err != nil {
			return nil, err
		}
		a.own = true
	}
	cfg := iam.Config{Store: a.Store, MasterKey: opt.MasterKey, Now: a.Clock.Now, DefaultRegion: a.Region}
	if cfg.MasterKey == nil {
		cfg.MasterKey = bytes.Repeat([]byte{7}, 32)
	}
	if opt.Config != nil {
		opt.Config(&cfg)
	}
	ctx := context.Background()
	if a.IAM, err = iam.New(ctx, cfg); err != nil {
		return nil, err
	}
	admin := opt.Admin
	if admin == "" {
		admin = DefaultAdmin
	}
	if a.Admin, _, err = a.IAM.Bootstrap(ctx, iam.BootstrapInput{AccountID: a.Account, AdminUserName: admin}); err != nil {
		return nil, err
	}
	return a, nil
}

// Close stops the authority and removes the store it created.
func (a *Authority) Close() {
	if a.IAM != nil {
		a.IAM.Close()
	}
	if a.own {
		a.Store.Close()
	}
	if a.dir != "" {
		os.RemoveAll(a.dir)
	}
}

// Root is the account's root caller, allowed everything in the account.
func (a *Authority) Root() *iam.Caller { return a.IAM.Root(a.Account) }

// ARN returns the ARN of the account's resource, such as "user/alice" or "role/app".
func (a *Authority) ARN(resource string) string {
	return "arn:aws:iam::" + a.Account + ":" + resource
}

// ConnectPolicy is a policy document whose statement Connect allows rds-db:connect as any
// of dbUsers, on every database of the authority's account and region.
func (a *Authority) ConnectPolicy(dbUsers ...string) string {
	rs := make([]string, len(dbUsers))
	for i, u := range dbUsers {
		rs[i] = `"arn:aws:rds-db:` + a.Region + `:` + a.Account + `:dbuser:*/` + u + `"`
	}
	return `{"Version":"2012-10-17","Statement":[{"Sid":"Connect","Effect":"Allow","Action":"rds-db:connect","Resource":[` + strings.Join(rs, ",") + `]}]}`
}

// TrustPolicy is a role trust policy letting the principal ARNs assume the role.
func TrustPolicy(principals ...string) string {
	q := make([]string, len(principals))
	for i, p := range principals {
		q[i] = `"` + p + `"`
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[` + strings.Join(q, ",") + `]},"Action":"sts:AssumeRole"}]}`
}
