package access_test

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/iam"
)

func TestIdentity(t *testing.T) {
	t.Parallel()
	issued := time.Date(2026, 5, 1, 12, 0, 0, 500, time.UTC)
	for _, tt := range []struct {
		name   string
		caller *iam.Caller
		want   string
	}{
		{"user", &iam.Caller{Type: iam.CallerUser, Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/dev/alice", UserID: "AIDAX", AccessKeyID: "AKIAX"},
			`{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/dev/alice","accountId":"111122223333","accessKeyId":"AKIAX","userName":"alice"}`},
		{"role session", &iam.Caller{Type: iam.CallerAssumedRole, Account: "111122223333", ARN: "arn:aws:sts::111122223333:assumed-role/app/s1",
			UserID: "AROAX:s1", AccessKeyID: "ASIAX", Session: &iam.Session{RoleARN: "arn:aws:iam::111122223333:role/app", RoleID: "AROAX", Name: "s1", IssuedAt: issued}},
			`{"type":"AssumedRole","principalId":"AROAX:s1","arn":"arn:aws:sts::111122223333:assumed-role/app/s1","accountId":"111122223333","accessKeyId":"ASIAX",` +
				`"sessionContext":{"attributes":{"creationDate":"2026-05-01T12:00:00Z","mfaAuthenticated":"false"},` +
				`"sessionIssuer":{"type":"Role","principalId":"AROAX","arn":"arn:aws:iam::111122223333:role/app","accountId":"111122223333","userName":"app"}}}`},
		{"user session (GetSessionToken)", &iam.Caller{Type: iam.CallerUser, Account: "1", ARN: "arn:aws:iam::1:user/bob", UserID: "AIDAB", AccessKeyID: "ASIAB",
			Session: &iam.Session{UserARN: "arn:aws:iam::1:user/bob", IssuedAt: issued}},
			`{"type":"IAMUser","principalId":"AIDAB","arn":"arn:aws:iam::1:user/bob","accountId":"1","accessKeyId":"ASIAB","userName":"bob",` +
				`"sessionContext":{"attributes":{"creationDate":"2026-05-01T12:00:00Z","mfaAuthenticated":"false"}}}`},
		{"user session with MFA", &iam.Caller{Type: iam.CallerUser, Account: "1", ARN: "arn:aws:iam::1:user/bob", UserID: "AIDAB", AccessKeyID: "ASIAC",
			Session: &iam.Session{UserARN: "arn:aws:iam::1:user/bob", IssuedAt: issued, MFAAuthenticated: true, MFAAuthTime: issued}},
			`{"type":"IAMUser","principalId":"AIDAB","arn":"arn:aws:iam::1:user/bob","accountId":"1","accessKeyId":"ASIAC","userName":"bob",` +
				`"sessionContext":{"attributes":{"creationDate":"2026-05-01T12:00:00Z","mfaAuthenticated":"true"}}}`},
		{"root", &iam.Caller{Type: iam.CallerRoot, Account: "1", ARN: "arn:aws:iam::1:root", UserID: "1", AccessKeyID: "AKIAR"},
			`{"type":"Root","principalId":"1","arn":"arn:aws:iam::1:root","accountId":"1","accessKeyId":"AKIAR"}`},
		{"nil", nil, `{"type":""}`},
	} {
		b, _ := json.Marshal(access.Identity(tt.caller))
		if string(b) != tt.want {
			t.Errorf("%s: Identity = %s, want %s", tt.name, b, tt.want)
		}
	}
}

func TestRecordEvent(t *testing.T) {
	t.Parallel()
	r := access.Record{
		Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Engine: "postgres", Mode: access.ModeNative, Database: "app",
		User: "alice", Source: netip.MustParseAddrPort("192.0.2.1:0"), IAM: true, AccessKeyID: "AKIAX",
		Outcome: access.OutcomeRefused, Reason: access.ReasonImplicitDeny, ResourceID: "db-ABC", Region: "eu-west-1", Account: "111122223333",
	}
	e := r.Event()
	b, _ := json.Marshal(e)
	s := string(b)
	for _, want := range []string{
		`"eventSource":"rds-db.amazonaws.com"`, `"eventName":"connect"`, `"awsRegion":"eu-west-1"`, `"sourceIPAddress":"192.0.2.1"`,
		`"errorCode":"AccessDenied"`, `"errorMessage":"login refused: implicit-deny"`, `"userIdentity":{"type":"Unknown","accessKeyId":"AKIAX"}`,
		`"requestParameters":{"dbUser":"alice","resourceId":"db-ABC"}`, `"reason":"implicit-deny"`, `"mode":"native"`,
		`"resources":[{"ARN":"arn:aws:rds-db:eu-west-1:111122223333:dbuser:db-ABC/alice","accountId":"111122223333","type":"AWS::RDS::DBUser"}]`,
		`"recipientAccountId":"111122223333"`, `"readOnly":false`, `"eventType":"AwsApiCall"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("Event() = %s\nlacks %s", s, want)
		}
	}
	if strings.Contains(s, "backendSessionId") || strings.Contains(s, "tlsVersion") {
		t.Errorf("Event() = %s: absent fields present", s)
	}
	if !strings.Contains(s, `"iamLogin":true`) {
		t.Errorf("Event() = %s: an IAM login without iamLogin true", s)
	}
	// A password login says so; a login refused before anyone knew says neither.
	r.IAM, r.IAMKnown = false, true
	if b, _ := json.Marshal(r.Event()); !strings.Contains(string(b), `"iamLogin":false`) {
		t.Errorf("a password login's event = %s, want iamLogin false", b)
	}
	r.IAMKnown = false
	if b, _ := json.Marshal(r.Event()); strings.Contains(string(b), "iamLogin") {
		t.Errorf("the event of a login refused before the membership lookup = %s, want no iamLogin", b)
	}
}
