package workload

import (
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/audit/audittest"
)

// TestAuditIssuance: IMDS and container endpoints record each issuance (not each
// request served from the cache) as an AWS service's AssumeRole, with the key ID and
// never the secret or the token; refusals by the trust policy are recorded too; an
// issuance that cannot be recorded is not handed out.
func TestAuditIssuance(t *testing.T) {
	a := newAuthority(t)
	events := &audittest.Collector{}
	roleARN := a.role("web")
	m := newIMDS(t, a, IMDSConfig{RoleARN: roleARN, InstanceID: "i-0123", Audit: events})
	tok := token(t, m, "60")
	path := "/latest/meta-data/iam/security-credentials/web"
	cr := decodeCreds(t, do(t, m, "GET", path, "X-aws-ec2-metadata-token", tok))
	decodeCreds(t, do(t, m, "GET", path, "X-aws-ec2-metadata-token", tok)) // from the cache
	evs := events.Decoded(t)
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
		if got := audittest.JPath(ev, c.keys...); got != c.want {
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
	evs = events.Decoded(t)
	if len(evs) != 2 || audittest.JPath(evs[1], "errorCode") != "AccessDenied" || audittest.JPath(evs[1], "userIdentity", "principalId") != "ecs-tasks.amazonaws.com" ||
		audittest.JPath(evs[1], "responseElements") != nil {
		t.Errorf("refused issuance event = %v", evs[len(evs)-1])
	}

	// Not recorded: not handed out.
	events.SetFail(true)
	m2 := newIMDS(t, a, IMDSConfig{RoleARN: roleARN, InstanceID: "i-0456", Audit: events})
	if w := do(t, m2, "GET", path, "X-aws-ec2-metadata-token", token(t, m2, "60")); w.Code == 200 || strings.Contains(w.Body.String(), "Secret") {
		t.Errorf("unrecorded issuance served: %d %q", w.Code, w.Body.String())
	}

	events.NoSecrets(t, cr.SecretAccessKey, cr.Token)
}
