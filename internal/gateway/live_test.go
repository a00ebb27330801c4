package gateway

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
	"github.com/iamdb/iamdb/token"
)

// liveClient is a client logged in (or refused) for the live session tests: its own
// address, as the gateway sees it, and what closes it.
type liveClient struct {
	source netip.AddrPort
	close  func()
}

// liveLogin logs in to a test gateway as dbUser with password.
type liveLogin func(t *testing.T, dbUser, password string) (liveClient, error)

// roleToken returns a token for dbUser at gw's site signed by a session of
// gatewayenv.RoleName that alice assumed as sessionName, and the session's ARN.
func roleToken(t *testing.T, gw *testGW, dbUser, sessionName string) (tok, arn string) {
	t.Helper()
	alice := gw.env.Caller(t, gw.env.keys["alice"].AccessKeyID, "")
	out, err := gw.env.svc.AssumeRole(context.Background(), alice, iam.AssumeRoleInput{RoleARN: gatewayenv.RoleARN, RoleSessionName: sessionName})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	c := out.Credentials
	tok, err = token.Build(fmt.Sprintf("localhost:%d", gw.port), testRegion, dbUser,
		token.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, gw.env.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok, out.AssumedRoleUser.ARN
}

// checkLiveSessions logs in two clients as different database users and principals
// (alice as alice with her key, nina as a role session), and a refused one (bob, who has
// no policy), and checks what gw.LiveSessions says as they come and go.
func checkLiveSessions(t *testing.T, gw *testGW, engine, dbName string, login liveLogin) {
	t.Helper()
	dumpLogsOnFail(t, gw)
	if got := gw.LiveSessions(); len(got) != 0 {
		t.Fatalf("LiveSessions() before any login = %+v, want none", got)
	}

	if c, err := login(t, "bob", gw.token(t, "bob", "bob", time.Time{})); err == nil {
		c.close()
		t.Fatal("bob logged in; want him refused")
	}
	if got := gw.LiveSessions(); len(got) != 0 {
		t.Errorf("LiveSessions() after a refused login = %+v, want none", got)
	}

	roleTok, roleARN := roleToken(t, gw, "nina", "live-test")
	before := gw.env.clock.Now()
	alice, err := login(t, "alice", gw.token(t, "alice", "alice", time.Time{}))
	if err != nil {
		t.Fatalf("alice: %v", err)
	}
	defer alice.close()
	nina, err := login(t, "nina", roleTok)
	if err != nil {
		t.Fatalf("nina: %v", err)
	}
	defer nina.close()
	after := gw.env.clock.Now()

	// Both are listed as soon as the client is logged in: the gateway lists a session
	// before it tells the client.
	got := gw.LiveSessions()
	want := []LiveSession{
		{Engine: engine, Database: gw.db.Identifier, ResourceID: gw.db.ResourceID, Account: testAccount,
			DBUser: "alice", DBName: dbName, Principal: "arn:aws:iam::" + testAccount + ":user/alice",
			AccessKeyID: gw.env.keys["alice"].AccessKeyID, Source: alice.source},
		{Engine: engine, Database: gw.db.Identifier, ResourceID: gw.db.ResourceID, Account: testAccount,
			DBUser: "nina", DBName: dbName, Principal: roleARN, Source: nina.source},
	}
	if len(got) != len(want) {
		t.Fatalf("LiveSessions() = %+v, want alice's and nina's", got)
	}
	if got[0].ID == 0 || got[1].ID <= got[0].ID {
		t.Errorf("LiveSessions() IDs %d, %d; want increasing from 1", got[0].ID, got[1].ID)
	}
	if got[1].AccessKeyID == "" || got[1].AccessKeyID == got[0].AccessKeyID {
		t.Errorf("nina's AccessKeyID %q, want the role session's (alice's is %q)", got[1].AccessKeyID, got[0].AccessKeyID)
	}
	for i := range want {
		g := got[i]
		if g.Start.Before(before) || g.Start.After(after) {
			t.Errorf("session %d Start %v, want within [%v, %v]", i, g.Start, before, after)
		}
		want[i].ID, want[i].Start = g.ID, g.Start
		if i == 1 {
			want[i].AccessKeyID = g.AccessKeyID
		}
		if g != want[i] {
			t.Errorf("LiveSessions()[%d] = %+v, want %+v", i, g, want[i])
		}
	}
	if gw.db.ResourceID == "" || gw.db.Identifier == "" {
		t.Errorf("test database without identifier or resource id: %+v", gw.db)
	}

	alice.close()
	waitLive(t, gw, "nina")
	nina.close()
	waitLive(t, gw)
}

// waitLive waits until gw.LiveSessions lists exactly the sessions of dbUsers, in order.
func waitLive(t *testing.T, gw *testGW, dbUsers ...string) {
	t.Helper()
	for i := 0; ; i++ {
		got := gw.LiveSessions()
		users := make([]string, len(got))
		for j, s := range got {
			users[j] = s.DBUser
		}
		if fmt.Sprint(users) == fmt.Sprint(dbUsers) {
			return
		}
		if i == 500 {
			t.Fatalf("LiveSessions() lists %v after 5s, want %v", users, dbUsers)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLiveSessionsPostgres(t *testing.T) {
	t.Parallel()
	gw := newGateway(t, nil)
	checkLiveSessions(t, gw, EnginePostgres, "postgres", func(t *testing.T, user, password string) (liveClient, error) {
		c, err := gw.connect(t, user, password)
		if err != nil {
			return liveClient{}, err
		}
		source := addrPort(c.PgConn().Conn().LocalAddr())
		return liveClient{source: source, close: func() { c.Close(context.Background()) }}, nil
	})
}

func TestLiveSessionsMySQL(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, nil)
	checkLiveSessions(t, gw, EngineMySQL, "app", func(t *testing.T, user, password string) (liveClient, error) {
		cfg := gw.mysqlConfig(user, password, "app", gw.env.ClientTLS())
		var mu sync.Mutex
		var local netip.AddrPort // of the last connection dialled: the one db holds
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			if err == nil {
				mu.Lock()
				local = addrPort(nc.LocalAddr())
				mu.Unlock()
			}
			return nc, err
		}
		db, err := gw.mysqlOpen(t, cfg)
		if err != nil {
			return liveClient{}, err
		}
		mu.Lock()
		defer mu.Unlock()
		return liveClient{source: local, close: func() { db.Close() }}, nil
	})
}
