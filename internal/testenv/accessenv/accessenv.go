package accessenv

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv/authority"
	"github.com/iamdb/iamdb/token"
)

// The database is registered with RegisteredPort (a gateway's); the Authorizer serves
// it on ServerPort, which tokens must name.
const (
	RegisteredPort = 6432
	ServerPort     = 5544
)

// Identifier is the registered database's identifier; it serves localhost.
const Identifier = "app"

// An Env is an authority with the database and users of the package doc, and the
// Authorizer under test.
type Env struct {
	*authority.Authority
	Database   iam.Database
	Authorizer *access.Authorizer
	Keys       map[string]token.Credentials // by user name
}

// New starts an authority with opt (see authority.New), registers the database and the
// users, and builds the Authorizer reading opt's clock.
func New(t testing.TB, opt authority.Options) *Env {
	t.Helper()
	a := authority.New(t, opt)
	db, err := a.IAM.RegisterDatabase(context.Background(), iam.DatabaseSpec{
		Identifier: Identifier, Engine: "postgres", Endpoints: []string{"localhost"}, Port: RegisteredPort, IAMAuth: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Authority: a, Database: db, Keys: map[string]token.Credentials{}}
	add := func(name string, policies ...string) {
		k := a.User(t, name, policies...)
		e.Keys[name] = token.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	}
	add("alice", a.ConnectPolicy("alice"))
	add("nobody")
	add("office", a.ConnectPolicy("office"), deny("OnlyOffice", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`))
	add("blocked", a.ConnectPolicy("blocked"), deny("NotFromThere", `{"IpAddress":{"aws:SourceIp":"198.51.100.0/24"}}`))
	add("plain", a.ConnectPolicy("plain"), deny("TLSOnly", `{"Bool":{"aws:SecureTransport":"false"}}`))
	e.Authorizer, err = access.NewAuthorizer(access.Config{Authority: a.IAM, Database: db, Port: ServerPort, Now: a.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// deny is a policy document whose statement sid denies rds-db:connect under condition.
func deny(sid, condition string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"` + sid + `","Effect":"Deny","Action":"rds-db:connect","Resource":"*","Condition":` + condition + `}]}`
}

// Token signs a token for user at localhost:port with the key of Keys[key], at time at
// (zero: the clock's now).
func (e *Env) Token(t testing.TB, port int, user, key string, at time.Time) string {
	t.Helper()
	if at.IsZero() {
		at = e.Clock.Now()
	}
	tok, err := token.Build("localhost:"+strconv.Itoa(port), e.Region, user, e.Keys[key], at)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
