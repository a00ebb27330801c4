package gatewayenv

import (
	"context"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/rdsiam"
	"github.com/iamdb/iamdb/internal/testenv/authority"
	"github.com/iamdb/iamdb/token"
)

// postgresCast creates the cast's database users and the table t.
var postgresCast = []string{
	`CREATE USER alice LOGIN; GRANT rds_iam TO alice`,
	`CREATE USER bob LOGIN; GRANT rds_iam TO bob`,
	`CREATE USER carol LOGIN; GRANT rds_iam TO carol`,
	`CREATE USER dave LOGIN; GRANT rds_iam TO dave`,
	`CREATE ROLE iam_group NOLOGIN; GRANT rds_iam TO iam_group; CREATE USER nina LOGIN; GRANT iam_group TO nina`,
	`CREATE USER pwuser LOGIN PASSWORD '` + Password + `'`,
	`CREATE TABLE IF NOT EXISTS t (id int, payload text); GRANT ALL ON t TO PUBLIC`,
}

// mariaDBCast creates the cast's accounts and the table app.t.
func mariaDBCast() []string {
	var stmts []string
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		stmts = append(stmts, rdsiam.MySQLIAMUserSQL(u)...)
	}
	return append(stmts,
		// nina is an IAM user through a role granted rds_iam.
		"CREATE ROLE iam_group", "GRANT rds_iam TO iam_group",
		"CREATE USER 'nina'@'%' REQUIRE SUBJECT '/CN=nina'", "GRANT iam_group TO 'nina'@'%'",
		"CREATE USER 'pwuser'@'%' IDENTIFIED BY '"+Password+"'",
		"CREATE TABLE app.t (id int primary key auto_increment, payload longtext)",
		"GRANT ALL ON app.* TO rds_iam", "GRANT ALL ON app2.* TO rds_iam", "GRANT ALL ON app.* TO 'pwuser'@'%'",
		"GRANT ALL ON app.* TO 'nina'@'%'",
	)
}

// populate creates the cast in the authority and the database servers.
func (e *Env) populate(t testing.TB) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if e.Postgres != nil {
		if err := e.Postgres.Exec(ctx, postgresCast...); err != nil {
			return err
		}
	}
	if e.MariaDB != nil {
		if err := e.MariaDB.Exec(ctx, mariaDBCast()...); err != nil {
			return err
		}
	}
	a := e.Authority
	connect := a.ConnectPolicy("alice", "nina", "pwuser")
	policies := map[string]string{ // each user's inline policy "connect"
		"alice": connect,
		"carol": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*"},{"Sid":"NoCarol","Effect":"Deny","Action":"rds-db:*","Resource":"*"}]}`,
		"dave":  a.ConnectPolicy("dave"),
	}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		e.Keys[u] = credentials(a.User(t, u))
		if doc := policies[u]; doc != "" {
			a.PutUserPolicy(t, u, "connect", doc)
		}
	}
	a.DeactivateKey(t, "dave", e.Keys["dave"].AccessKeyID)
	a.Role(t, RoleName, authority.TrustPolicy(a.ARN("user/"+User)), connect)
	e.Keys["alice-session"] = e.session(t, 3600)
	a.Clock.Advance(-20 * time.Minute) // issued 20 minutes ago for 15
	e.Keys["alice-expired-session"] = e.session(t, 900)
	a.Clock.Advance(20 * time.Minute)
	return nil
}

// session returns a session of alice valid for seconds from now.
func (e *Env) session(t testing.TB, seconds int) token.Credentials {
	t.Helper()
	s := e.Session(t, e.Keys["alice"].AccessKeyID, seconds)
	return token.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken}
}

func credentials(k iam.AccessKey) token.Credentials {
	return token.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
}
