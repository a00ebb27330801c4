package access

import (
	"strconv"
	"strings"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
)

// Identity returns the CloudTrail userIdentity of an authenticated caller: type IAMUser,
// AssumedRole or Root, principalId (aws:userid), arn, accountId, the access key it signed
// with, userName for users, and for temporary credentials a sessionContext (creationDate,
// mfaAuthenticated "true" for sessions issued with MFA, "false" otherwise) whose sessionIssuer is the assumed
// role. A nil caller gives the zero value.
func Identity(c *iam.Caller) audit.UserIdentity {
	if c == nil {
		return audit.UserIdentity{}
	}
	id := audit.UserIdentity{PrincipalID: c.UserID, ARN: c.ARN, AccountID: c.Account, AccessKeyID: c.AccessKeyID}
	switch c.Type {
	case iam.CallerUser:
		id.Type = "IAMUser"
		id.UserName = lastSegment(c.ARN)
	case iam.CallerAssumedRole:
		id.Type = "AssumedRole"
	case iam.CallerRoot:
		id.Type = "Root"
	default:
		id.Type = "Unknown"
	}
	if s := c.Session; s != nil {
		sc := &audit.SessionContext{Attributes: audit.SessionAttributes{
			CreationDate: audit.Time{Time: s.IssuedAt.UTC().Truncate(1e9)}, MFAAuthenticated: strconv.FormatBool(s.MFAAuthenticated)}}
		if s.RoleARN != "" {
			sc.SessionIssuer = &audit.SessionIssuer{Type: "Role", PrincipalID: s.RoleID, ARN: s.RoleARN,
				AccountID: c.Account, UserName: lastSegment(s.RoleARN)}
		}
		id.SessionContext = sc
	}
	return id
}

// lastSegment is the name at the end of an IAM ARN's resource path (user/path/NAME,
// role/NAME).
func lastSegment(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return ""
}

// DBUserARN is the ARN rds-db:connect authorizes: arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCEID/USER.
func DBUserARN(region, account, resourceID, user string) string {
	return "arn:aws:rds-db:" + region + ":" + account + ":dbuser:" + resourceID + "/" + user
}

// Event returns the CloudTrail record of the login attempt r describes: eventSource
// rds-db.amazonaws.com, eventName connect, requestParameters {dbUser, resourceId},
// additionalEventData {databaseUser, resourceId, engine, mode, tlsVersion, reason,
// backendSessionId}, and on a refusal errorCode AccessDenied with the reason as the
// message (InternalFailure when the login failed on iamdb's or the backend's side:
// Outcome OutcomeError). The caller is the token's signer when it was verified, else an Unknown
// identity with the access key the token named (if any). It holds no token or password.
func (r *Record) Event() *audit.Event {
	e := &audit.Event{
		// EventTime stays zero: the Recorder stamps the completion, as CloudTrail does,
		// in the order the events are written (LookupEvents lists newest first).
		EventSource:        audit.SourceRDSDB,
		EventName:          "connect",
		AWSRegion:          r.Region,
		EventType:          audit.TypeAPICall,
		ManagementEvent:    true,
		EventCategory:      audit.CategoryManage,
		RecipientAccountID: r.Account,
		UserIdentity:       Identity(r.Caller),
	}
	if e.UserIdentity.Type == "" {
		e.UserIdentity = audit.UserIdentity{Type: "Unknown", AccessKeyID: r.AccessKeyID}
	}
	if r.Source.IsValid() {
		e.SourceIPAddress = r.Source.Addr().String()
	} else {
		e.SourceIPAddress = "unknown"
	}
	params := map[string]any{"dbUser": r.User}
	if r.ResourceID != "" {
		params["resourceId"] = r.ResourceID
	}
	if r.DBName != "" {
		params["databaseName"] = r.DBName
	}
	e.RequestParameters = params
	data := map[string]any{
		"databaseUser": r.User,
		"engine":       r.Engine,
		"mode":         r.Mode,
	}
	if r.IAM || r.IAMKnown {
		data["iamLogin"] = r.IAM
	}
	if r.ResourceID != "" {
		data["resourceId"] = r.ResourceID
	}
	if r.Database != "" {
		data["dbIdentifier"] = r.Database
	}
	if r.TLSVersion != "" {
		data["tlsVersion"] = r.TLSVersion
	}
	if r.BackendSessionID != 0 {
		data["backendSessionId"] = strconv.FormatUint(r.BackendSessionID, 10)
	}
	if r.Policy != "" {
		data["policy"] = r.Policy
	}
	if r.Statement != "" {
		data["statement"] = r.Statement
	}
	if r.Outcome != OutcomeOK {
		data["reason"] = r.Reason
		e.ErrorCode = "AccessDenied"
		if r.Outcome == OutcomeError {
			e.ErrorCode = "InternalFailure"
		}
		e.ErrorMessage = "login refused: " + r.Reason
	}
	e.AdditionalEventData = data
	if r.ResourceID != "" && r.Account != "" {
		e.Resources = []audit.Resource{{ARN: DBUserARN(r.Region, r.Account, r.ResourceID, r.User),
			AccountID: r.Account, Type: "AWS::RDS::DBUser"}}
	}
	return e
}

// SetDatabase fills r's database fields (resource ID, region, account) from db.
func (r *Record) SetDatabase(db iam.Database) {
	r.ResourceID, r.Region, r.Account = db.ResourceID, db.Region, db.Account
}
