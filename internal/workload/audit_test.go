package workload

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/iamdb/iamdb/internal/audit"
)

// eventLog is an audit.Recorder keeping events as JSON; while fail is set it fails.
type eventLog struct {
	mu     sync.Mutex
	events []string
	fail   bool
}

func (l *eventLog) Record(_ context.Context, e *audit.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return errors.New("disk full")
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	l.events = append(l.events, string(b))
	return nil
}

func (l *eventLog) decoded(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, s := range l.events {
		var v map[string]any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func jpath(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestAuditIssuance: IMDS and container endpoints record each issuance (not each
// request served from the cache) as an AWS service's AssumeRole, with the key ID and
// never the secret or the token; refusals by the trust policy are recorded too; an
// issuance that cannot be recorded is not handed out.
func TestAuditIssuance(t *testing.T) {
	a := newAuthority(t)
	events := &eventLog{}
	roleARN := a.role("web")
	m := newIMDS(t, a, IMDSConfig{RoleARN: roleARN, InstanceID: "i-0123", Audit: events})
	tok := token(t, m, "60")
	path := "/latest/meta-data/iam/security-credentials/web"
	cr := decodeCreds(t, do(t, m, "GET", path, "X-aws-ec2-metadata-token", tok))
	decodeCreds(t, do(t, m, "GET", path, "X-aws-ec2-metadata-token", tok)) // from the cache
	evs := events.decoded(t)
	if len(evs) != 1 {
		t.Fatalf("%d events for one issuance, want 1", len(evs))
	}
	ev := evs[0]
	for _, c := range []struct {
		keys []string
		want any
	}{
		{[]string{"eventSource"}, "sts.amazonaws.com"},
		{[]string{"eventName"}, "AssumeRole"},
		{[]string{"eventType"}, "AwsServiceEvent"},
		{[]string{"userIdentity", "type"}, "AWSService"},
		{[]string{"userIdentity", "principalId"}, "ec2.amazonaws.com"},
		{[]string{"sourceIPAddress"}, "ec2.amazonaws.com"},
		{[]string{"recipientAccountId"}, testAccount},
		{[]string{"requestParameters", "roleArn"}, roleARN},
		{[]string{"requestParameters", "roleSessionName"}, "i-0123"},
		{[]string{"responseElements", "credentials", "accessKeyId"}, cr.AccessKeyID},
		{[]string{"responseElements", "credentials", "expiration"}, cr.Expiration},
		{[]string{"responseElements", "assumedRoleUser", "arn"}, "arn:aws:sts::" + testAccount + ":assumed-role/web/i-0123"},
	} {
		if got := jpath(ev, c.keys...); got != c.want {
			t.Errorf("issuance event %s = %v, want %v", strings.Join(c.keys, "."), got, c.want)
		}
	}

	// The container endpoint, for a role that does not trust ecs-tasks: a refusal.
	ec2Only := a.Role(t, "ec2-only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`).ARN
	c, err := NewContainer(ContainerConfig{Authority: a.IAM, RoleARN: ec2Only, AuthorizationToken: "s3cr3t-container-token", Now: a.Clock.Now, Audit: events})
	if err != nil {
		t.Fatal(err)
	}
	if w := do(t, c, "GET", "/v1/credentials", "Authorization", "s3cr3t-container-token"); w.Code != 404 {
		t.Fatalf("container credentials of an ec2 role = %d, want 404", w.Code)
	}
	evs = events.decoded(t)
	if len(evs) != 2 || jpath(evs[1], "errorCode") != "AccessDenied" || jpath(evs[1], "userIdentity", "principalId") != "ecs-tasks.amazonaws.com" ||
		jpath(evs[1], "responseElements") != nil {
		t.Errorf("refused issuance event = %v", evs[len(evs)-1])
	}

	// Not recorded: not handed out.
	events.mu.Lock()
	events.fail = true
	events.mu.Unlock()
	m2 := newIMDS(t, a, IMDSConfig{RoleARN: roleARN, InstanceID: "i-0456", Audit: events})
	if w := do(t, m2, "GET", path, "X-aws-ec2-metadata-token", token(t, m2, "60")); w.Code == 200 || strings.Contains(w.Body.String(), "Secret") {
		t.Errorf("unrecorded issuance served: %d %q", w.Code, w.Body.String())
	}

	all := strings.Join(events.events, "\n")
	for _, s := range []string{cr.SecretAccessKey, cr.Token} {
		if s == "" || strings.Contains(all, s) {
			t.Errorf("an event holds a secret (%d bytes)", len(s))
		}
	}
}
