package gateway

import (
	"context"
	"testing"
	"time"
)

func TestMySQLIAMLogin(t *testing.T) {
	t.Parallel()
	gw := newMySQLGateway(t, nil)
	dumpLogsOnFail(t, gw)
	tok := gw.token(t, "alice", "alice", time.Time{})
	ctx := context.Background()
	var ids []int64
	for i := range 3 {
		db := gw.myMustOpen(t, "alice", tok, "app")
		var user, role string
		var id int64
		if err := db.QueryRowContext(ctx, "select current_user(), current_role(), connection_id()").Scan(&user, &role, &id); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if user != "alice@%" || role != "rds_iam" {
			t.Errorf("current_user(), current_role() = %q, %q; want alice@%%, rds_iam", user, role)
		}
		ids = append(ids, id)
		db.Close()
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("backend connection ids %v: want one pooled session", ids)
	}
}

func dumpLogsOnFail(t *testing.T, gw *testGW) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(gw.logs.String())
		}
	})
}
