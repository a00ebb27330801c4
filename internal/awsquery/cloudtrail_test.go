package awsquery

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/audit/audittest"
)

const otherAccount = "210987654321"

// lookupPolicy allows LookupEvents.
const lookupPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}`

// ctEnv is the authority with LookupEvents over a trail of known events.
//
// The trail is a real journal (audit.Open on a temporary directory), the events put in
// with Record.
type ctEnv struct {
	*testEnv
	trail *audit.Journal
	now   time.Time
	// The named events of testAccount (newest last) and the other account's one.
	createUser, session, connect, foreign audit.Event
	fillers                               []audit.Event // 60 ListUsers, two hours ago, oldest first
}

func newCTEnv(t testing.TB) *ctEnv {
	t.Helper()
	e := &ctEnv{testEnv: newTestEnv(t), trail: audittest.OpenJournal(t), now: time.Now().UTC().Truncate(time.Second)}
	h, err := New(Config{IAM: e.svc, Region: testRegion, Logger: e.logs.Logger(), AuditReader: e.trail})
	if err != nil {
		t.Fatal(err)
	}
	e.h.Store(h)
	at := func(d time.Duration) audit.Time { return audit.Time{Time: e.now.Add(-d)} }
	admin := audit.UserIdentity{Type: "IAMUser", PrincipalID: "AIDAADMIN", ARN: "arn:aws:iam::" + testAccount + ":user/admin",
		AccountID: testAccount, AccessKeyID: e.admin.AccessKeyID, UserName: "admin"}
	e.createUser = audit.Event{EventID: "11111111-1111-4111-8111-111111111111", UserIdentity: admin, EventTime: at(50 * time.Minute),
		EventSource: audit.SourceIAM, EventName: "CreateUser", AWSRegion: "us-east-1", SourceIPAddress: "127.0.0.1",
		RequestParameters: map[string]any{"userName": "alice"}, ResponseElements: map[string]any{"user": map[string]any{"userName": "alice"}},
		Resources: []audit.Resource{{ARN: "arn:aws:iam::" + testAccount + ":user/alice", AccountID: testAccount, Type: "AWS::IAM::User"}},
		EventType: audit.TypeAPICall, ManagementEvent: true, RecipientAccountID: testAccount, EventCategory: audit.CategoryManage}
	e.session = audit.Event{EventID: "22222222-2222-4222-8222-222222222222", EventTime: at(40 * time.Minute),
		UserIdentity: audit.UserIdentity{Type: "AssumedRole", PrincipalID: "AROAX:sess1", ARN: "arn:aws:sts::" + testAccount + ":assumed-role/app/sess1",
			AccountID: testAccount, AccessKeyID: "ASIASESSION1"},
		EventSource: audit.SourceSTS, EventName: "GetCallerIdentity", AWSRegion: testRegion, SourceIPAddress: "10.0.0.7", ReadOnly: true,
		EventType: audit.TypeAPICall, ManagementEvent: true, RecipientAccountID: testAccount, EventCategory: audit.CategoryManage}
	e.connect = audit.Event{EventID: "33333333-3333-4333-8333-333333333333", UserIdentity: admin, EventTime: at(30 * time.Minute),
		EventSource: audit.SourceRDSDB, EventName: "connect", AWSRegion: testRegion, SourceIPAddress: "10.0.0.8",
		ErrorCode: "AccessDenied", ErrorMessage: "no identity-based policy allows the rds-db:connect action",
		Resources: []audit.Resource{{ARN: "arn:aws:rds-db:" + testRegion + ":" + testAccount + ":dbuser:cluster-ABC/app", Type: "AWS::RDS::DBCluster"}},
		EventType: audit.TypeAPICall, ManagementEvent: true, RecipientAccountID: testAccount, EventCategory: audit.CategoryManage}
	e.foreign = e.createUser
	e.foreign.EventID, e.foreign.EventTime, e.foreign.RecipientAccountID = "44444444-4444-4444-8444-444444444444", at(20*time.Minute), otherAccount
	e.foreign.UserIdentity.AccountID = otherAccount
	for i := range 60 {
		f := e.session
		f.EventID = fmt.Sprintf("55555555-5555-4555-8555-%012d", i)
		f.EventName, f.EventSource, f.EventTime = "ListUsers", audit.SourceIAM, at(2*time.Hour-time.Duration(i)*time.Second)
		e.fillers = append(e.fillers, f)
	}
	// Recorded oldest first: the journal keeps an hour's events in recording order.
	audittest.Record(t, e.trail, e.fillers...)
	audittest.Record(t, e.trail, e.createUser, e.session, e.connect, e.foreign)
	return e
}

// ctResponse is a LookupEvents answer, or its error.
type ctResponse struct {
	status    int
	Type      string `json:"__type"`
	Message   string `json:"message"`
	Events    []lookupEvent
	NextToken string
}

// lookup posts body as LookupEvents, signed by c for service.
func (e *ctEnv) lookup(c aws.Credentials, service, body string) ctResponse {
	e.t.Helper()
	resp, b := e.post(c, service, body, "Content-Type", ctContentType, "X-Amz-Target", ctTargetPrefix+ctLookupEvents)
	out := ctResponse{status: resp.StatusCode}
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("LookupEvents answered %d %q: %v", resp.StatusCode, b, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != ctContentType {
		e.t.Errorf("Content-Type = %q", ct)
	}
	return out
}

func ids(evs []lookupEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.EventID)
	}
	return out
}

func TestLookupEvents(t *testing.T) {
	t.Parallel()
	e := newCTEnv(t)
	epoch := func(d time.Duration) string { return strconv.FormatInt(e.now.Add(-d).Unix(), 10) }
	attr := func(k, v string) string {
		return `{"LookupAttributes":[{"AttributeKey":"` + k + `","AttributeValue":"` + v + `"}]}`
	}
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"EventId", attr("EventId", e.connect.EventID), []string{e.connect.EventID}},
		{"EventName", attr("EventName", "CreateUser"), []string{e.createUser.EventID}}, // not the other account's
		{"ReadOnly", `{"LookupAttributes":[{"AttributeKey":"ReadOnly","AttributeValue":"false"}]}`, []string{e.connect.EventID, e.createUser.EventID}},
		{"Username user", attr("Username", "admin"), []string{e.connect.EventID, e.createUser.EventID}},
		{"ResourceType", attr("ResourceType", "AWS::RDS::DBCluster"), []string{e.connect.EventID}},
		{"ResourceName", attr("ResourceName", "arn:aws:iam::"+testAccount+":user/alice"), []string{e.createUser.EventID}},
		{"EventSource", attr("EventSource", audit.SourceRDSDB), []string{e.connect.EventID}},
		{"AccessKeyId", attr("AccessKeyId", e.admin.AccessKeyID), []string{e.connect.EventID, e.createUser.EventID}},
		{"time range", `{"StartTime":` + epoch(45*time.Minute) + `,"EndTime":` + epoch(30*time.Minute) + `}`, []string{e.connect.EventID, e.session.EventID}},
		{"time range fraction", `{"StartTime":` + epoch(45*time.Minute) + `.5,"EndTime":` + epoch(35*time.Minute) + `.25}`, []string{e.session.EventID}},
		{"insight", `{"EventCategory":"insight"}`, nil},
		{"no match", attr("EventName", "DeleteUser"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.lookup(e.admin, "cloudtrail", tc.body)
			if r.status != 200 || !slices.Equal(ids(r.Events), tc.want) || r.NextToken != "" {
				t.Errorf("LookupEvents(%s) = %d %s %q %v (next %q), want %v", tc.body, r.status, r.Type, r.Message, ids(r.Events), r.NextToken, tc.want)
			}
		})
	}

	t.Run("fields", func(t *testing.T) {
		r := e.lookup(e.admin, "cloudtrail", attr("EventId", e.createUser.EventID))
		if len(r.Events) != 1 {
			t.Fatalf("got %+v", r)
		}
		got := r.Events[0]
		want := lookupEvent{EventID: e.createUser.EventID, EventName: "CreateUser", ReadOnly: "false", AccessKeyID: e.admin.AccessKeyID,
			EventTime: e.createUser.EventTime.Unix(), EventSource: audit.SourceIAM, Username: "admin",
			Resources: []lookupResource{{ResourceType: "AWS::IAM::User", ResourceName: "arn:aws:iam::" + testAccount + ":user/alice"}}}
		rec := got.CloudTrailEvent
		got.CloudTrailEvent = ""
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("event = %+v, want %+v", got, want)
		}
		var back audit.Event
		if err := json.Unmarshal([]byte(rec), &back); err != nil || back.EventID != e.createUser.EventID || back.RequestParameters["userName"] != "alice" ||
			!back.EventTime.Equal(e.createUser.EventTime.Time) {
			t.Errorf("CloudTrailEvent = %s (%v)", rec, err)
		}
		// EventTime is a JSON number.
		r2 := e.lookup(e.admin, "cloudtrail", attr("EventId", e.session.EventID))
		if len(r2.Events) != 1 || r2.Events[0].ReadOnly != "true" || r2.Events[0].Username != "sess1" {
			t.Errorf("session event = %+v", r2.Events)
		}
	})

	t.Run("pages", func(t *testing.T) {
		var got []string
		next := ""
		pages := 0
		for {
			body := `{"LookupAttributes":[{"AttributeKey":"Username","AttributeValue":"sess1"}],"MaxResults":7`
			if next != "" {
				body += `,"NextToken":"` + next + `"`
			}
			r := e.lookup(e.admin, "cloudtrail", body+"}")
			if r.status != 200 {
				t.Fatalf("page %d: %d %s %s", pages, r.status, r.Type, r.Message)
			}
			pages++
			got = append(got, ids(r.Events)...)
			if next = r.NextToken; next == "" || pages > 20 {
				break
			}
		}
		want := []string{e.session.EventID}
		for i := len(e.fillers) - 1; i >= 0; i-- {
			want = append(want, e.fillers[i].EventID)
		}
		if pages != 9 || !slices.Equal(got, want) {
			t.Errorf("%d pages of %v, want 9 of %v", pages, got, want)
		}
		// The default page is 50.
		if r := e.lookup(e.admin, "cloudtrail", `{}`); len(r.Events) != 50 || r.NextToken == "" {
			t.Errorf("LookupEvents({}) = %d events, next %q", len(r.Events), r.NextToken)
		}
	})

	long := strings.Repeat("a", 1999) + "_"
	for _, tc := range []struct {
		name, body, code string
		status           int
	}{
		{"two attributes", `{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"a"},{"AttributeKey":"Username","AttributeValue":"b"}]}`, "InvalidLookupAttributesException", 400},
		{"unknown key", attr("UserName", "admin"), "InvalidLookupAttributesException", 400},
		{"no key", `{"LookupAttributes":[{"AttributeValue":"a"}]}`, "InvalidLookupAttributesException", 400},
		{"no value", `{"LookupAttributes":[{"AttributeKey":"EventName"}]}`, "InvalidLookupAttributesException", 400},
		{"empty value", attr("EventName", ""), "InvalidLookupAttributesException", 400},
		{"value too long", attr("EventName", long), "InvalidLookupAttributesException", 400},
		{"start after end", `{"StartTime":` + epoch(0) + `,"EndTime":` + epoch(time.Second) + `}`, "InvalidTimeRangeException", 400},
		{"max 0", `{"MaxResults":0}`, "InvalidMaxResultsException", 400},
		{"max 51", `{"MaxResults":51}`, "InvalidMaxResultsException", 400},
		{"category", `{"EventCategory":"Management"}`, "InvalidEventCategoryException", 400},
		{"bad token", `{"NextToken":"garbage"}`, "InvalidNextTokenException", 400},
		{"empty token", `{"NextToken":""}`, "InvalidNextTokenException", 400},
		{"time as string", `{"StartTime":"2024-01-01T00:00:00Z"}`, "SerializationException", 400},
		{"time out of range", `{"StartTime":1e300}`, "SerializationException", 400},
		{"not an object", `[]`, "SerializationException", 400},
		{"trailing data", `{} {}`, "SerializationException", 400},
		{"wrong type", `{"MaxResults":"5"}`, "SerializationException", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.lookup(e.admin, "cloudtrail", tc.body)
			if r.status != tc.status || r.Type != tc.code || r.Message == "" {
				t.Errorf("LookupEvents(%.80s) = %d %s %q, want %d %s", tc.body, r.status, r.Type, r.Message, tc.status, tc.code)
			}
		})
	}

	t.Run("token of another query", func(t *testing.T) {
		r := e.lookup(e.admin, "cloudtrail", `{"MaxResults":5}`)
		r2 := e.lookup(e.admin, "cloudtrail", `{"MaxResults":5,"NextToken":"`+r.NextToken+`","LookupAttributes":[{"AttributeKey":"ReadOnly","AttributeValue":"true"}]}`)
		if r.NextToken == "" || r2.Type != "InvalidNextTokenException" {
			t.Errorf("NextToken of another query: %q, then %d %s", r.NextToken, r2.status, r2.Type)
		}
	})
}

func TestLookupEventsAuthorization(t *testing.T) {
	t.Parallel()
	e := newCTEnv(t)
	k := e.auth.User(t, "nobody")
	nobody := aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	r := e.lookup(nobody, "cloudtrail", `{}`)
	if r.status != 400 || r.Type != "AccessDeniedException" || !strings.Contains(r.Message, "is not authorized to perform: cloudtrail:LookupEvents on resource: *") {
		t.Errorf("without a policy: %d %s %q", r.status, r.Type, r.Message)
	}
	k = e.auth.User(t, "auditor", lookupPolicy)
	auditor := aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	r = e.lookup(auditor, "cloudtrail", `{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"CreateUser"}]}`)
	if r.status != 200 || !slices.Equal(ids(r.Events), []string{e.createUser.EventID}) {
		t.Errorf("auditor: %d %s %v", r.status, r.Type, ids(r.Events))
	}
	// Only its own account: the other account's event is invisible even by its id.
	r = e.lookup(auditor, "cloudtrail", `{"LookupAttributes":[{"AttributeKey":"EventId","AttributeValue":"`+e.foreign.EventID+`"}]}`)
	if r.status != 200 || len(r.Events) != 0 {
		t.Errorf("another account's event: %d %v", r.status, ids(r.Events))
	}
	// The signature is checked as for every API, and scoped to cloudtrail.
	r = e.lookup(aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: "wrong"}, "cloudtrail", `{}`)
	if r.status != 403 || r.Type != "InvalidSignatureException" {
		t.Errorf("wrong secret: %d %s %q", r.status, r.Type, r.Message)
	}
	r = e.lookup(auditor, "iam", `{}`)
	if r.status != 403 || r.Type != "InvalidSignatureException" || !strings.Contains(r.Message, "'cloudtrail'") {
		t.Errorf("scoped to iam: %d %s %q", r.status, r.Type, r.Message)
	}
	r = e.lookup(aws.Credentials{AccessKeyID: "AKIAUNKNOWNKEY000000", SecretAccessKey: "x"}, "cloudtrail", `{}`)
	if r.status != 403 || r.Type != "UnrecognizedClientException" {
		t.Errorf("unknown key: %d %s %q", r.status, r.Type, r.Message)
	}
	if l := e.logs.Line(`"action":"LookupEvents"`, `"code":"AccessDeniedException"`); l == "" || strings.Contains(e.log(), k.SecretAccessKey) {
		t.Errorf("log:\n%s", e.log())
	}
}

func TestLookupEventsProtocol(t *testing.T) {
	t.Parallel()
	e := newCTEnv(t)
	send := func(target, ct, body string) (int, string) {
		resp, b := e.post(e.admin, "cloudtrail", body, "Content-Type", ct, "X-Amz-Target", target)
		var out struct {
			Type string `json:"__type"`
		}
		json.Unmarshal(b, &out)
		return resp.StatusCode, out.Type
	}
	if st, code := send(ctTargetPrefix+"DescribeTrails", ctContentType, `{}`); st != 400 || code != "UnknownOperationException" {
		t.Errorf("DescribeTrails: %d %s", st, code)
	}
	if st, code := send(ctTargetPrefix+ctLookupEvents, "application/json", `{}`); st != 415 || code != "UnsupportedMediaTypeException" {
		t.Errorf("application/json: %d %s", st, code)
	}
	big := `{"NextToken":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}`
	if st, code := send(ctTargetPrefix+ctLookupEvents, ctContentType, big); st != 413 || code != "RequestEntityTooLargeException" {
		t.Errorf("2 MiB body: %d %s", st, code)
	}
	if st, code := send(ctTargetPrefix+ctLookupEvents, ctContentType, ""); st != 200 || code != "" {
		t.Errorf("empty body: %d %s", st, code)
	}

	// Without a Reader the operation is unsupported (after authorisation).
	h, err := New(Config{IAM: e.svc, Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	e.h.Store(h)
	r := e.lookup(e.admin, "cloudtrail", `{}`)
	if r.status != 400 || r.Type != "UnsupportedOperationException" {
		t.Errorf("no reader: %d %s %q", r.status, r.Type, r.Message)
	}
}

func TestAttrValueLen(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"a": 1, "a_b": 4, "a b,c\n": 9, "é": 1} {
		if got := attrValueLen(in); got != want {
			t.Errorf("attrValueLen(%q) = %d, want %d", in, got, want)
		}
	}
}

// FuzzDecodeLookup: any body decodes to a request or a SerializationException, and a decoded
// request validates to a query or one of LookupEvents' errors, without panicking.
func FuzzDecodeLookup(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"CreateUser"}],"MaxResults":7}`,
		`{"StartTime":1700000000,"EndTime":1700000000.5}`, `{"StartTime":-1e99}`, `{"NextToken":"abc","EventCategory":"insight"}`,
		`{"LookupAttributes":[{},{}]}`, `{"MaxResults":1e3}`, `{"StartTime":"x"}`, "{\"a\":\"\xff\"}", `{} x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeLookup(body)
		if err != nil {
			if ce := toCTError(err); ce.code != "SerializationException" || ce.status != 400 {
				t.Fatalf("decodeLookup(%q) = %v", body, err)
			}
			return
		}
		q, _, err := req.query(testAccount)
		if err != nil {
			ce := toCTError(err)
			if ce.status != 400 || !strings.HasPrefix(ce.code, "Invalid") {
				t.Fatalf("query(%q) = %v", body, err)
			}
			return
		}
		if q.Max < 1 || q.Max > 50 || q.Account != testAccount || len(q.Value) > 4*ctMaxValueLen ||
			!q.Start.IsZero() && !q.End.IsZero() && q.Start.After(q.End) {
			t.Fatalf("query(%q) = %+v", body, q)
		}
		if q.Attr != "" && (!ctAttrKeys[q.Attr] || q.Value == "") || len(q.Next) > ctMaxNextToken {
			t.Fatalf("query(%q) = %+v", body, q)
		}
	})
}

// ctCLI runs the AWS CLI argv's "cloudtrail lookup-events args…" as creds.
func (e *ctEnv) ctCLI(argv []string, home string, creds aws.Credentials, args ...string) (string, error) {
	return runCLI(argv, e.srv.URL, home, creds, append([]string{"cloudtrail", "lookup-events"}, args...)...)
}

// TestLookupEventsCLI runs "aws cloudtrail lookup-events" (CLI v2, and v1 if installed).
func TestLookupEventsCLI(t *testing.T) {
	if _, err := os.Stat("/usr/bin/aws"); err != nil && os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" && !testing.Short() {
		t.Fatalf("the AWS CLI v2 (/usr/bin/aws) is missing and IAMDB_REQUIRE_TOOLS=1: install it with %q", "apt-get install -y awscli")
	}
	clis := awsCLIs(t)
	e := newCTEnv(t)
	home := t.TempDir()
	k := e.auth.User(t, "nobody")
	nobody := aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	iso := func(d time.Duration) string { return e.now.Add(-d).Format(time.RFC3339) }
	for name, argv := range clis {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lookup := func(args ...string) []string {
				t.Helper()
				out, err := e.ctCLI(argv, home, e.admin, args...)
				if err != nil {
					t.Fatalf("aws cloudtrail lookup-events %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				var r struct {
					Events []struct {
						EventId, EventName, ReadOnly, Username, CloudTrailEvent string
						EventTime                                               any
					}
					NextToken string
				}
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("aws cloudtrail lookup-events %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				var got []string
				for _, ev := range r.Events {
					got = append(got, ev.EventId)
					var rec audit.Event
					if err := json.Unmarshal([]byte(ev.CloudTrailEvent), &rec); err != nil || rec.EventID != ev.EventId {
						t.Errorf("CloudTrailEvent of %s = %q (%v)", ev.EventId, ev.CloudTrailEvent, err)
					}
					// v2 prints the time it parsed in ISO 8601, v1 the number.
					switch v := ev.EventTime.(type) {
					case string:
						if !strings.HasPrefix(v, e.now.Format("2006-")) {
							t.Errorf("EventTime of %s = %q", ev.EventId, v)
						}
					case float64:
						if v < float64(e.now.Add(-3*time.Hour).Unix()) || v > float64(e.now.Unix()) {
							t.Errorf("EventTime of %s = %v", ev.EventId, v)
						}
					default:
						t.Errorf("EventTime of %s = %v", ev.EventId, v)
					}
				}
				return got
			}
			for _, tc := range []struct {
				attr string
				want []string
			}{
				{"AttributeKey=EventId,AttributeValue=" + e.session.EventID, []string{e.session.EventID}},
				{"AttributeKey=EventName,AttributeValue=CreateUser", []string{e.createUser.EventID}},
				{"AttributeKey=ReadOnly,AttributeValue=false", []string{e.connect.EventID, e.createUser.EventID}},
				{"AttributeKey=Username,AttributeValue=admin", []string{e.connect.EventID, e.createUser.EventID}},
				{"AttributeKey=ResourceType,AttributeValue=AWS::IAM::User", []string{e.createUser.EventID}},
				{"AttributeKey=ResourceName,AttributeValue=arn:aws:iam::" + testAccount + ":user/alice", []string{e.createUser.EventID}},
				{"AttributeKey=EventSource,AttributeValue=rds-db.amazonaws.com", []string{e.connect.EventID}},
			} {
				if name == "v1" && !strings.Contains(tc.attr, "Username") {
					continue // v1 is slow to start: one attribute is enough for it
				}
				if got := lookup("--lookup-attributes", tc.attr); !slices.Equal(got, tc.want) {
					t.Errorf("--lookup-attributes %s = %v, want %v", tc.attr, got, tc.want)
				}
			}
			if got := lookup("--start-time", iso(45*time.Minute), "--end-time", iso(30*time.Minute)); !slices.Equal(got, []string{e.connect.EventID, e.session.EventID}) {
				t.Errorf("time range = %v", got)
			}
			// The CLI follows NextToken by itself; --page-size is MaxResults.
			for _, pageArgs := range [][]string{nil, {"--page-size", "7"}} {
				got := lookup(append([]string{"--lookup-attributes", "AttributeKey=AccessKeyId,AttributeValue=ASIASESSION1"}, pageArgs...)...)
				if len(got) != 61 || got[0] != e.session.EventID || got[60] != e.fillers[0].EventID {
					t.Errorf("all pages %v: %d events, first %v", pageArgs, len(got), got[:min(len(got), 2)])
				}
			}

			// Errors as the CLI prints them.
			for _, tc := range []struct {
				args []string
				want string
			}{
				{[]string{"--lookup-attributes", "AttributeKey=EventName,AttributeValue=a", "AttributeKey=Username,AttributeValue=b"},
					"An error occurred (InvalidLookupAttributesException) when calling the LookupEvents operation: You can only specify one lookup attribute"},
				{[]string{"--lookup-attributes", "AttributeKey=EventName,AttributeValue=" + strings.Repeat("x_", 700)},
					"An error occurred (InvalidLookupAttributesException) when calling the LookupEvents operation: The value of EventName must be 1 to 2000 characters long"},
				{[]string{"--lookup-attributes", "AttributeKey=UserName,AttributeValue=admin"},
					"An error occurred (InvalidLookupAttributesException) when calling the LookupEvents operation: Invalid attribute key \"UserName\""},
				{[]string{"--start-time", iso(0), "--end-time", iso(time.Hour)},
					"An error occurred (InvalidTimeRangeException) when calling the LookupEvents operation: Start time must be equal to or earlier than end time"},
				{[]string{"--max-results", "51", "--no-paginate"},
					"An error occurred (InvalidMaxResultsException) when calling the LookupEvents operation: MaxResults must be from 1 to 50"},
				{[]string{"--event-category", "insight"}, ""}, // insight: empty
				{[]string{"--next-token", "bogus", "--no-paginate"},
					"An error occurred (InvalidNextTokenException) when calling the LookupEvents operation: Invalid NextToken"},
			} {
				out, err := e.ctCLI(argv, home, e.admin, tc.args...)
				if tc.want == "" {
					if err != nil || !strings.Contains(out, `"Events": []`) {
						t.Errorf("aws cloudtrail lookup-events %.60s = %v\n%s", strings.Join(tc.args, " "), err, out)
					}
					continue
				}
				if err == nil || !strings.Contains(out, tc.want) {
					t.Errorf("aws cloudtrail lookup-events %.60s = %v\n%s\nwant %q", strings.Join(tc.args, " "), err, out, tc.want)
				}
			}
			out, err := e.ctCLI(argv, home, nobody)
			want := "An error occurred (AccessDeniedException) when calling the LookupEvents operation: User: arn:aws:iam::" + testAccount +
				":user/nobody is not authorized to perform: cloudtrail:LookupEvents on resource: *"
			if err == nil || !strings.Contains(out, want) {
				t.Errorf("as nobody: %v\n%s\nwant %q", err, out, want)
			}
		})
	}
}

// TestLookupEventsBoto3 pages with boto3's paginator.
func TestLookupEventsBoto3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts python3 with boto3")
	}
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
			t.Fatalf("boto3 is missing and IAMDB_REQUIRE_TOOLS=1: install it with %q", "apt-get install -y python3-boto3")
		}
		t.Skip("boto3 is missing: install it with \"apt-get install -y python3-boto3\" (IAMDB_REQUIRE_TOOLS=1 makes this a failure)")
	}
	e := newCTEnv(t)
	script := `import boto3, json, sys, datetime
c = boto3.client("cloudtrail", endpoint_url=sys.argv[1], region_name=sys.argv[2])
p = c.get_paginator("lookup_events")
pages = []
for page in p.paginate(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "sess1"}],
                       StartTime=datetime.datetime.fromtimestamp(int(sys.argv[3]), datetime.timezone.utc),
                       PaginationConfig={"PageSize": 7}):
    for ev in page["Events"]:
        assert isinstance(ev["EventTime"], datetime.datetime), ev["EventTime"]
        assert json.loads(ev["CloudTrailEvent"])["eventID"] == ev["EventId"]
    pages.append([[ev["EventId"], int(ev["EventTime"].timestamp()), ev["ReadOnly"]] for ev in page["Events"]])
try:
    c.lookup_events(MaxResults=51)
except c.exceptions.InvalidMaxResultsException as ex:
    pages.append(ex.response["Error"]["Code"])
print(json.dumps(pages))
`
	start := e.fillers[10].EventTime.Unix()
	cmd := exec.Command("python3", "-c", script, e.srv.URL, testRegion, strconv.FormatInt(start, 10))
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "AWS_ACCESS_KEY_ID=" + e.admin.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + e.admin.SecretAccessKey, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var pages []json.RawMessage
	if err := json.Unmarshal(out, &pages); err != nil || len(pages) < 2 {
		t.Fatalf("boto3 printed %s (%v)", out, err)
	}
	if last := string(pages[len(pages)-1]); last != `"InvalidMaxResultsException"` {
		t.Errorf("MaxResults=51: %s", last)
	}
	// The session and fillers 10..59: 51 events in pages of 7, newest first.
	var got []string
	var sizes []int
	for _, p := range pages[:len(pages)-1] {
		var evs [][]any
		if err := json.Unmarshal(p, &evs); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(evs))
		for _, ev := range evs {
			got = append(got, ev[0].(string))
		}
	}
	want := []string{e.session.EventID}
	for i := len(e.fillers) - 1; i >= 10; i-- {
		want = append(want, e.fillers[i].EventID)
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{7, 7, 7, 7, 7, 7, 7, 2}) {
		t.Errorf("boto3 pages %v: %v, want %v", sizes, got, want)
	}
}
