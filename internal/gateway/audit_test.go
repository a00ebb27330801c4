package gateway

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/audit/audittest"
)

// checkLoginEvent checks the fields every login event has.
func checkLoginEvent(t *testing.T, gw *testGW, ev map[string]any, engine, user string) {
	t.Helper()
	db := gw.db
	for _, c := range []struct {
		keys []string
		want any
	}{
		{[]string{"eventSource"}, "rds-db.amazonaws.com"},
		{[]string{"eventName"}, "connect"},
		{[]string{"eventType"}, "AwsApiCall"},
		{[]string{"readOnly"}, false},
		{[]string{"awsRegion"}, db.Region},
		{[]string{"recipientAccountId"}, db.Account},
		{[]string{"sourceIPAddress"}, "127.0.0.1"},
		{[]string{"requestParameters", "dbUser"}, user},
		{[]string{"requestParameters", "resourceId"}, db.ResourceID},
		{[]string{"additionalEventData", "databaseUser"}, user},
		{[]string{"additionalEventData", "resourceId"}, db.ResourceID},
		{[]string{"additionalEventData", "engine"}, engine},
		{[]string{"additionalEventData", "mode"}, "gateway"},
		{[]string{"additionalEventData", "tlsVersion"}, "TLSv1.3"},
	} {
		if got := audittest.JPath(ev, c.keys...); got != c.want {
			t.Errorf("login event %s = %v, want %v", strings.Join(c.keys, "."), got, c.want)
		}
	}
	res, _ := ev["resources"].([]any)
	want := "arn:aws:rds-db:" + db.Region + ":" + db.Account + ":dbuser:" + db.ResourceID + "/" + user
	if len(res) != 1 || audittest.JPath(res[0], "ARN") != want || audittest.JPath(res[0], "type") != "AWS::RDS::DBUser" {
		t.Errorf("login event resources = %v, want [%s]", res, want)
	}
}

// TestAuditLoginPG: an allowed login is recorded, with the backend's pid, before the
// client is told it succeeded; a refused one with its reason; a login that cannot be
// recorded is refused. No event holds the token.
func TestAuditLoginPG(t *testing.T) {
	t.Parallel()
	events := &audittest.Collector{}
	gw := newGateway(t, func(c *Config) { c.Recorder = events })
	tok := gw.token(t, "alice", "alice", time.Time{})
	ctx := context.Background()

	// The client does not get in until Record returns.
	pid, err := audittest.WhileHeld(t, events, func() (int32, error) {
		c, err := gw.connect(t, "alice", tok)
		if err != nil {
			return 0, err
		}
		defer c.Close(ctx)
		var pid int32
		err = c.QueryRow(ctx, "select pg_backend_pid()").Scan(&pid)
		return pid, err
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := events.Decoded(t)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	ok := evs[0]
	checkLoginEvent(t, gw, ok, "postgres", "alice")
	if got := audittest.JPath(ok, "additionalEventData", "backendSessionId"); got != strconv.Itoa(int(pid)) {
		t.Errorf("backendSessionId = %v, want pg_backend_pid() %d", got, pid)
	}
	if audittest.JPath(ok, "userIdentity", "type") != "IAMUser" || audittest.JPath(ok, "userIdentity", "arn") != "arn:aws:iam::123456789012:user/alice" ||
		audittest.JPath(ok, "userIdentity", "accessKeyId") != gw.env.keys["alice"].AccessKeyID {
		t.Errorf("userIdentity = %v", ok["userIdentity"])
	}
	if _, has := ok["errorCode"]; has {
		t.Errorf("errorCode on an allowed login: %v", ok)
	}
	gw.waitReleased(t)

	// Refused: an expired token.
	old := gw.token(t, "alice", "alice", gw.env.clock.Now().Add(-20*time.Minute))
	if _, err := gw.connect(t, "alice", old); err == nil {
		t.Fatal("expired token accepted")
	}
	evs = events.Decoded(t)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	ref := evs[1]
	checkLoginEvent(t, gw, ref, "postgres", "alice")
	if ref["errorCode"] != "AccessDenied" || !strings.Contains(ref["errorMessage"].(string), "expired") ||
		audittest.JPath(ref, "additionalEventData", "reason") != "expired" || audittest.JPath(ref, "userIdentity", "type") != "Unknown" {
		t.Errorf("refused login event = %v", ref)
	}
	for _, ev := range []map[string]any{ok, ref} {
		if got := audittest.JPath(ev, "additionalEventData", "iamLogin"); got != true {
			t.Errorf("an IAM user's login: iamLogin = %v, want true", got)
		}
	}

	// Refused before anyone asked whether the user is an IAM user: the event does not say
	// it was a password login (nor an IAM one).
	long := strings.Repeat("u", 64)
	if _, err := gw.connect(t, long, tok); err == nil {
		t.Fatal("a 64-byte user name was accepted")
	}
	evs = events.Decoded(t)
	if len(evs) != 3 || audittest.JPath(evs[2], "additionalEventData", "reason") != "invalid-user" {
		t.Fatalf("events after an invalid user name: %v", evs)
	}
	if got, has := evs[2]["additionalEventData"].(map[string]any)["iamLogin"]; has {
		t.Errorf("a refusal before the membership lookup says iamLogin = %v", got)
	}

	// A login that cannot be recorded does not succeed.
	events.SetFail(true)
	_, err = gw.connect(t, "alice", tok)
	if pe := pgError(t, err); pe.Code != "57P03" {
		t.Errorf("unrecorded login: %s %q, want 57P03", pe.Code, pe.Message)
	}
	if findLog(gw, `"msg":"login not recorded in the audit trail"`) == "" {
		t.Error("the failure to record is not logged")
	}

	events.NoSecrets(t, tok, old, gw.env.keys["alice"].SecretAccessKey)
	for _, s := range []string{tok, old} {
		if i := strings.Index(s, "X-Amz-Signature="); i >= 0 && strings.Contains(events.Text(), s[i+len("X-Amz-Signature="):]) {
			t.Error("an event holds a token's signature")
		}
	}
}

// TestAuditLoginMySQL: the MySQL gateway records allowed logins (with the backend's
// connection id) before its OK, and refusals.
func TestAuditLoginMySQL(t *testing.T) {
	t.Parallel()
	events := &audittest.Collector{}
	gw := newMySQLGateway(t, func(c *Config) { c.Recorder = events })
	tok := gw.token(t, "alice", "alice", time.Time{})
	id, err := audittest.WhileHeld(t, events, func() (int64, error) {
		db, err := gw.mysqlOpen(t, gw.mysqlConfig("alice", tok, "app", gw.env.ClientTLS()))
		if err != nil {
			return 0, err
		}
		var id int64
		err = db.QueryRow("select connection_id()").Scan(&id)
		return id, err
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := events.Decoded(t)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	checkLoginEvent(t, gw, evs[0], "mysql", "alice")
	if got := audittest.JPath(evs[0], "additionalEventData", "backendSessionId"); got != strconv.FormatInt(id, 10) {
		t.Errorf("backendSessionId = %v, want connection_id() %d", got, id)
	}
	old := gw.token(t, "alice", "alice", gw.env.clock.Now().Add(-20*time.Minute))
	if _, err := gw.mysqlOpen(t, gw.mysqlConfig("alice", old, "app", gw.env.ClientTLS())); err == nil {
		t.Fatal("expired token accepted")
	}
	evs = events.Decoded(t)
	if len(evs) != 2 || evs[1]["errorCode"] != "AccessDenied" || audittest.JPath(evs[1], "additionalEventData", "reason") != "expired" {
		t.Errorf("events = %v, want a refused one second", evs)
	}
	if strings.Contains(events.Text(), tok) || strings.Contains(events.Text(), old) {
		t.Error("an event holds a token")
	}
}
