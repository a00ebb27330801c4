package audit

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalidNextToken is what a Reader's Lookup returns for a Query.Next it did not issue
// for the same query (LookupEvents answers InvalidNextTokenException).
//
// TODO(lead): H8 (the journal) exports the same sentinel; keep one at merge.
var ErrInvalidNextToken = errors.New("audit: invalid next token")

// Username is the Username LookupEvents shows for e and its Username attribute matches:
// userIdentity.userName, else, for a session, its name (the last part of the assumed-role
// or federated-user ARN), else "root" for the root user.
func (e *Event) Username() string {
	u := &e.UserIdentity
	switch {
	case u.UserName != "":
		return u.UserName
	case u.Type == "AssumedRole" || u.Type == "FederatedUser":
		if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 {
			return u.ARN[i+1:]
		}
	case u.Type == "Root":
		return "root"
	}
	return ""
}

// Matches reports whether e has the lookup attribute attr (one of the Attr constants) with
// value, as LookupEvents compares them: exactly; ReadOnly as "true" or "false";
// ResourceType and ResourceName against any of e's resources (a resource's name is its ARN).
// An unknown attr matches nothing; an empty attr matches every event.
func (e *Event) Matches(attr, value string) bool {
	switch attr {
	case "":
		return true
	case AttrEventID:
		return e.EventID == value
	case AttrEventName:
		return e.EventName == value
	case AttrReadOnly:
		return strconv.FormatBool(e.ReadOnly) == value
	case AttrUsername:
		return e.Username() == value
	case AttrEventSource:
		return e.EventSource == value
	case AttrAccessKeyID:
		return e.UserIdentity.AccessKeyID == value
	case AttrResourceType, AttrResourceName:
		for _, r := range e.Resources {
			if attr == AttrResourceType && r.Type == value || attr == AttrResourceName && r.ARN == value {
				return true
			}
		}
	}
	return false
}
