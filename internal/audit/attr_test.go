package audit

import "testing"

func TestMatches(t *testing.T) {
	t.Parallel()
	user := Event{EventID: "e1", EventName: "CreateUser", EventSource: SourceIAM, ReadOnly: false,
		UserIdentity: UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/alice", UserName: "alice", AccessKeyID: "AKIAALICE"},
		Resources:    []Resource{{ARN: "arn:aws:iam::123456789012:user/bob", Type: "AWS::IAM::User"}}}
	session := Event{EventName: "GetCallerIdentity", ReadOnly: true,
		UserIdentity: UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::123456789012:assumed-role/app/sess1"}}
	root := Event{UserIdentity: UserIdentity{Type: "Root", ARN: "arn:aws:iam::123456789012:root"}}
	for _, tc := range []struct {
		e           *Event
		attr, value string
		want        bool
	}{
		{&user, "", "", true},
		{&user, AttrEventID, "e1", true},
		{&user, AttrEventID, "E1", false},
		{&user, AttrEventName, "CreateUser", true},
		{&user, AttrReadOnly, "false", true},
		{&user, AttrReadOnly, "true", false},
		{&session, AttrReadOnly, "true", true},
		{&user, AttrUsername, "alice", true},
		{&session, AttrUsername, "sess1", true},
		{&root, AttrUsername, "root", true},
		{&user, AttrEventSource, SourceIAM, true},
		{&user, AttrAccessKeyID, "AKIAALICE", true},
		{&user, AttrResourceType, "AWS::IAM::User", true},
		{&user, AttrResourceName, "arn:aws:iam::123456789012:user/bob", true},
		{&user, AttrResourceName, "AWS::IAM::User", false},
		{&session, AttrResourceType, "AWS::IAM::User", false},
		{&user, "UserName", "alice", false},
	} {
		if got := tc.e.Matches(tc.attr, tc.value); got != tc.want {
			t.Errorf("%s.Matches(%q, %q) = %v, want %v", tc.e.UserIdentity.ARN, tc.attr, tc.value, got, tc.want)
		}
	}
}
