package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// jsonEncode is what appendEvent stands in for: encoding/json with HTML escaping off.
func jsonEncode(t testing.TB, e *Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// fullEvent is an event with every field set, nested maps and strings that need escaping.
func fullEvent(s string) *Event {
	at := time.Date(2026, 12, 7, 17, 40, 5, 0, time.UTC)
	return &Event{
		EventVersion: EventVersion,
		UserIdentity: UserIdentity{
			Type: "AssumedRole", PrincipalID: "AROA:" + s, ARN: "arn:aws:sts::123456789012:assumed-role/r/" + s,
			AccountID: "123456789012", AccessKeyID: "ASIA" + s, UserName: s,
			SessionContext: &SessionContext{
				Attributes:    SessionAttributes{CreationDate: Time{at.Add(-time.Hour)}, MFAAuthenticated: "false"},
				SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "AROA", ARN: "arn:aws:iam::123456789012:role/" + s, AccountID: "123456789012", UserName: s},
			},
		},
		EventTime: Time{at}, EventSource: SourceRDSDB, EventName: "connect", AWSRegion: "us-east-1",
		SourceIPAddress: "127.0.0.1", UserAgent: s, ErrorCode: "AccessDenied", ErrorMessage: s,
		RequestParameters:   map[string]any{"user": s, "port": 5432, "nested": map[string]any{"b": []any{1, "<&>", nil, true}}},
		ResponseElements:    map[string]any{"z": 1.5, "a": s},
		AdditionalEventData: map[string]any{"mode": "native"},
		RequestID:           s, EventID: "5d4ea0f4-0c0d-4ae3-9b2b-6e8b2c3e9a11", ReadOnly: true,
		Resources: []Resource{{ARN: "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-X/" + s, AccountID: "123456789012", Type: "AWS::RDS::DBInstance"}, {ARN: s}},
		EventType: TypeAPICall, ManagementEvent: true, RecipientAccountID: "123456789012", EventCategory: CategoryManage,
		TLSDetails: &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: s},
	}
}

func TestAppendEventMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for name, e := range map[string]*Event{
		"empty":           {},
		"full":            fullEvent("alice"),
		"escapes":         fullEvent("q\"b\\s/\b\f\n\r\t\x00\x01\x1f\x7f <&> é \u2028\u2029 \xff\xfe end"),
		"no extras":       {EventVersion: EventVersion, RequestParameters: map[string]any{}, Resources: []Resource{}, AdditionalEventData: map[string]any{}, TLSDetails: &TLSDetails{}},
		"flat maps":       {RequestParameters: map[string]any{"dbUser": "u\"", "b": true, "a": false, "\u2028k": "v"}, AdditionalEventData: map[string]any{"mode": "native", "iamLogin": true}},
		"tls only cipher": {TLSDetails: &TLSDetails{CipherSuite: "c"}, UserIdentity: UserIdentity{SessionContext: &SessionContext{}}},
	} {
		got, err := appendEvent(nil, e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := jsonEncode(t, e); !bytes.Equal(got, want) {
			t.Errorf("%s:\nappendEvent  %s\nencoding/json %s", name, got, want)
		}
	}
	// A value encoding/json cannot encode fails the same way.
	if _, err := appendEvent(nil, &Event{RequestParameters: map[string]any{"f": func() {}}}); err == nil {
		t.Error("appendEvent encoded a func")
	}
}

// FuzzAppendEvent: for any strings in any field, appendEvent writes what encoding/json does.
func FuzzAppendEvent(f *testing.F) {
	f.Add("alice", "127.0.0.1", "")
	f.Add("q\"\\\x00\u2028", "\xff", "<&>")
	f.Add("é", "\ufffd", "\x7f\x1f")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		e := fullEvent(a)
		e.SourceIPAddress, e.ErrorCode, e.UserIdentity.Type = b, c, c
		e.RequestParameters[b] = c
		e.AdditionalEventData[a] = c // flat: the fast path
		e.AdditionalEventData[c] = len(b)%2 == 0
		if c == "" {
			e.TLSDetails.TLSVersion, e.UserIdentity.SessionContext.SessionIssuer = "", nil
			e.Resources = nil
		}
		got, err := appendEvent(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if want := jsonEncode(t, e); !bytes.Equal(got, want) {
			t.Fatalf("appendEvent  %s\nencoding/json %s", got, want)
		}
	})
}

// BenchmarkEncodeEvent: a login's event, as the gateway and the native verifier record it.
//
//	go test -run XXX -bench EncodeEvent -benchmem ./internal/audit/
func BenchmarkEncodeEvent(b *testing.B) {
	login := fullEvent("alice")
	login.UserIdentity.SessionContext, login.ErrorCode, login.ErrorMessage, login.TLSDetails = nil, "", "", nil
	login.RequestParameters = map[string]any{"dbUser": "alice", "resourceId": "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
	login.AdditionalEventData = map[string]any{"databaseUser": "alice", "engine": "mysql", "mode": "native", "iamLogin": true,
		"resourceId": "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ", "dbIdentifier": "orders", "policy": "p", "statement": "Connect"}
	login.ResponseElements = nil
	for _, ev := range []struct {
		name string
		e    *Event
	}{{"login", login}, {"nested-maps", fullEvent("alice")}} {
		b.Run(ev.name+"/appendEvent", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeEvent(ev.e); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(ev.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				jsonEncode(b, ev.e)
			}
		})
	}
}
