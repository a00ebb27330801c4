package audit

import (
	"context"
	"time"
	"unicode/utf8"
)

// EventVersion is the CloudTrail record version iamdb writes (REFERENCE.md §8).
const EventVersion = "1.11"

// Event sources of iamdb's records.
const (
	SourceIAM   = "iam.amazonaws.com"
	SourceSTS   = "sts.amazonaws.com"
	SourceRDS   = "rds.amazonaws.com"
	SourceRDSDB = "rds-db.amazonaws.com" // database logins: eventName "connect"
)

// Event types and categories.
const (
	TypeAPICall      = "AwsApiCall"
	TypeServiceEvent = "AwsServiceEvent"
	CategoryManage   = "Management"
)

// TimeFormat is CloudTrail's eventTime: UTC, whole seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// Event is one CloudTrail record. It never holds a secret: no secret access key, session
// token, auth token, password or signature, in any field (Redact-style builders in the
// emitting packages guarantee it; a test scans every event they produce).
//
// The JSON encoding is CloudTrail's (field names, null requestParameters and
// responseElements when absent, readOnly and managementEvent as JSON booleans).
type Event struct {
	EventVersion        string         `json:"eventVersion"`
	UserIdentity        UserIdentity   `json:"userIdentity"`
	EventTime           Time           `json:"eventTime"`
	EventSource         string         `json:"eventSource"`
	EventName           string         `json:"eventName"`
	AWSRegion           string         `json:"awsRegion"`
	SourceIPAddress     string         `json:"sourceIPAddress"`
	UserAgent           string         `json:"userAgent,omitempty"`
	ErrorCode           string         `json:"errorCode,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestParameters   map[string]any `json:"requestParameters"`
	ResponseElements    map[string]any `json:"responseElements"`
	AdditionalEventData map[string]any `json:"additionalEventData,omitempty"`
	RequestID           string         `json:"requestID,omitempty"`
	EventID             string         `json:"eventID"`
	ReadOnly            bool           `json:"readOnly"`
	Resources           []Resource     `json:"resources,omitempty"`
	EventType           string         `json:"eventType"`
	ManagementEvent     bool           `json:"managementEvent"`
	RecipientAccountID  string         `json:"recipientAccountId"`
	EventCategory       string         `json:"eventCategory"`
	TLSDetails          *TLSDetails    `json:"tlsDetails,omitempty"`
}

// UserIdentity is CloudTrail's userIdentity.
type UserIdentity struct {
	Type           string          `json:"type"` // Root, IAMUser, AssumedRole, AWSAccount, Unknown, …
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext is userIdentity.sessionContext, for temporary credentials.
type SessionContext struct {
	Attributes    SessionAttributes `json:"attributes"`
	SessionIssuer *SessionIssuer    `json:"sessionIssuer,omitempty"`
}

// SessionAttributes are sessionContext.attributes; MFAAuthenticated is the string
// "true" or "false", as CloudTrail writes it.
type SessionAttributes struct {
	CreationDate     Time   `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// SessionIssuer is the role (or user) that issued a session.
type SessionIssuer struct {
	Type        string `json:"type"` // Role
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// Resource is one element of resources.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"` // AWS::IAM::User, AWS::RDS::DBCluster, …
}

// TLSDetails is tlsDetails.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion,omitempty"`
	CipherSuite              string `json:"cipherSuite,omitempty"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader,omitempty"`
}

// Time is a time encoded as CloudTrail's eventTime (TimeFormat).
type Time struct{ time.Time }

// MarshalJSON encodes t in TimeFormat, UTC.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimeFormat) + `"`), nil
}

// UnmarshalJSON decodes TimeFormat (and RFC 3339).
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return &time.ParseError{Layout: TimeFormat, Value: string(b)}
	}
	v, err := time.Parse(time.RFC3339, string(b[1:len(b)-1]))
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// Recorder takes events. Record returns once e is durable (it survives a crash of the
// process, kill -9 included) or with an error; it sets e.EventID (a random UUID) and
// e.EventVersion when empty. It is safe for concurrent use. Emitters call it before they
// answer: an API response or a login the client saw succeed has its event on disk.
type Recorder interface {
	Record(ctx context.Context, e *Event) error
}

// Lookup attribute keys (CloudTrail LookupEvents' AttributeKey).
const (
	AttrEventID      = "EventId"
	AttrEventName    = "EventName"
	AttrReadOnly     = "ReadOnly"
	AttrUsername     = "Username"
	AttrResourceType = "ResourceType"
	AttrResourceName = "ResourceName"
	AttrEventSource  = "EventSource"
	AttrAccessKeyID  = "AccessKeyId"
)

// Query selects events, as LookupEvents does: at most one attribute (Attr empty: all
// events), a time range (inclusive; zero values: unbounded), newest first, at most Max
// (1..50), continuing after Next (a token from an earlier Page of the same query).
// Account restricts to events whose recipientAccountId is Account ("" only for
// operators' own tools: every account).
type Query struct {
	Attr, Value string
	Start, End  time.Time
	Account     string
	Max         int
	Next        string
}

// Page is one page of a Query's events, newest first; Next is "" after the last page.
type Page struct {
	Events []Event
	Next   string
}

// Reader answers queries and walks the journal.
type Reader interface {
	// Lookup returns one page of q's events.
	Lookup(ctx context.Context, q Query) (Page, error)
	// Scan calls fn with each event recorded at or after from, oldest first, until fn
	// returns false; with follow it then waits for new events until ctx ends.
	Scan(ctx context.Context, from time.Time, follow bool, fn func(Event) bool) error
}

// Clip cuts s to at most n bytes on a rune boundary: how emitters bound the fields a peer
// controls (user agents, names, messages) before they go into an event.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
