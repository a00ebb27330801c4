package workload

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
)

// IssuanceEvent returns the CloudTrail record of an endpoint's request for a role session:
// sts.amazonaws.com AssumeRole by an AWS service, as CloudTrail records EC2 assuming an
// instance profile's role or ECS a task role. userIdentity is type AWSService (principalId
// the service: the record type has no invokedBy field), sourceIPAddress and userAgent are
// the service's name, eventType AwsServiceEvent, readOnly true (as for AssumeRole),
// requestParameters {roleArn, roleSessionName, durationSeconds}, responseElements
// {credentials{accessKeyId, expiration}, assumedRoleUser} — never the secret or the
// session token — and on failure (err) its IAM error code and message. It is recorded in
// the role's account, in us-east-1 like every STS event of iamdb.
func IssuanceEvent(now time.Time, service, roleARN, sessionName string, duration time.Duration, out iam.AssumeRoleOutput, err error) *audit.Event {
	account := ""
	if parts := strings.SplitN(roleARN, ":", 6); len(parts) == 6 {
		account = parts[4]
	}
	params := map[string]any{"roleArn": roleARN, "roleSessionName": sessionName}
	if duration > 0 {
		params["durationSeconds"] = strconv.Itoa(int(duration / time.Second))
	}
	e := &audit.Event{
		UserIdentity:       audit.UserIdentity{Type: "AWSService", PrincipalID: service},
		EventSource:        audit.SourceSTS,
		EventName:          "AssumeRole",
		AWSRegion:          "us-east-1",
		SourceIPAddress:    service,
		UserAgent:          service,
		RequestParameters:  params,
		ReadOnly:           true,
		EventType:          audit.TypeServiceEvent,
		ManagementEvent:    true,
		EventCategory:      audit.CategoryManage,
		RecipientAccountID: account,
		Resources:          []audit.Resource{{ARN: roleARN, AccountID: account, Type: "AWS::IAM::Role"}},
	}
	if err != nil {
		var ie *iam.Error
		if errors.As(err, &ie) {
			e.ErrorCode, e.ErrorMessage = ie.Code, audit.Clip(ie.Message, 1024)
		} else {
			e.ErrorCode, e.ErrorMessage = "InternalFailure", "the session could not be issued"
		}
		return e
	}
	e.ResponseElements = map[string]any{
		"credentials": map[string]any{
			"accessKeyId": out.Credentials.AccessKeyID,
			"expiration":  out.Credentials.Expiration.UTC().Format(audit.TimeFormat),
		},
		"assumedRoleUser": map[string]any{
			"assumedRoleId": out.AssumedRoleUser.AssumedRoleID,
			"arn":           out.AssumedRoleUser.ARN,
		},
	}
	return e
}
