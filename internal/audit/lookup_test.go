package audit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iamdb/iamdb/internal/testenv"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

// lookupFixture records a few distinct events, one minute apart from 10:00.
func lookupFixture(t *testing.T) (*Journal, map[string]*Event, time.Time) {
	t.Helper()
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	c := testenv.NewClock(t0)
	j := open(t, t.TempDir(), Options{Now: c.Now})
	evs := map[string]*Event{
		"user": {EventName: "CreateUser", EventSource: SourceIAM, RecipientAccountID: acctA,
			UserIdentity: UserIdentity{Type: "IAMUser", UserName: "alice", AccessKeyID: "AKIAALICE0000000000A",
				ARN: "arn:aws:iam::111111111111:user/alice"},
			Resources: []Resource{{ARN: "arn:aws:iam::111111111111:user/bob", Type: "AWS::IAM::User"}}},
		"role": {EventName: "connect", EventSource: SourceRDSDB, ReadOnly: true, RecipientAccountID: acctA,
			UserIdentity: UserIdentity{Type: "AssumedRole", PrincipalID: "AROAEXAMPLE:i-0123456789abcdef0",
				ARN: "arn:aws:sts::111111111111:assumed-role/app/i-0123456789abcdef0", AccessKeyID: "ASIAROLE000000000000"},
			Resources: []Resource{{ARN: "arn:aws:rds-db:us-east-1:111111111111:dbuser:db-ABC/app_user", Type: "AWS::RDS::DBInstance"}}},
		"root": {EventName: "GetUser", EventSource: SourceIAM, ReadOnly: true, RecipientAccountID: acctB,
			UserIdentity: UserIdentity{Type: "Root", ARN: "arn:aws:iam::222222222222:root", AccessKeyID: "AKIAROOT000000000000"}},
		"html": {EventName: "Tag<&>", EventSource: SourceIAM, RecipientAccountID: acctB,
			UserIdentity: UserIdentity{Type: "IAMUser", UserName: "o'neil&<co>"}},
	}
	for _, k := range []string{"user", "role", "root", "html"} {
		if err := j.Record(context.Background(), evs[k]); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Minute)
	}
	return j, evs, t0
}

func TestLookupAttributes(t *testing.T) {
	j, evs, _ := lookupFixture(t)
	for _, tc := range []struct {
		attr, value string
		want        []string
	}{
		{"", "", []string{"html", "root", "role", "user"}},
		{AttrEventID, evs["role"].EventID, []string{"role"}},
		{AttrEventName, "CreateUser", []string{"user"}},
		{AttrEventName, "Tag<&>", []string{"html"}},
		{AttrEventName, "createuser", nil},
		{AttrReadOnly, "true", []string{"root", "role"}},
		{AttrReadOnly, "false", []string{"html", "user"}},
		{AttrReadOnly, "yes", nil},
		{AttrUsername, "alice", []string{"user"}},
		{AttrUsername, "i-0123456789abcdef0", []string{"role"}},
		{AttrUsername, "root", []string{"root"}},
		{AttrUsername, "o'neil&<co>", []string{"html"}},
		{AttrUsername, "bob", nil},
		{AttrResourceType, "AWS::IAM::User", []string{"user"}},
		{AttrResourceType, "AWS::RDS::DBInstance", []string{"role"}},
		{AttrResourceName, "bob", []string{"user"}},
		{AttrResourceName, "arn:aws:iam::111111111111:user/bob", []string{"user"}},
		{AttrResourceName, "app_user", []string{"role"}},
		{AttrEventSource, SourceIAM, []string{"html", "root", "user"}},
		{AttrEventSource, SourceRDSDB, []string{"role"}},
		{AttrAccessKeyID, "ASIAROLE000000000000", []string{"role"}},
		{AttrAccessKeyID, "AKIAALICE0000000000A", []string{"user"}},
	} {
		t.Run(tc.attr+"="+tc.value, func(t *testing.T) {
			if p := expectLookup(t, j, Query{Attr: tc.attr, Value: tc.value}, evs, tc.want); p.Next != "" {
				t.Errorf("Next = %q, want none", p.Next)
			}
		})
	}
}

// expectLookup runs q on j and checks that it finds the events of evs named by want, in
// that order; it returns the page.
func expectLookup(t *testing.T, j *Journal, q Query, evs map[string]*Event, want []string) Page {
	t.Helper()
	p, err := j.Lookup(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range want {
		ids = append(ids, evs[k].EventID)
	}
	if diff := cmp.Diff(ids, nilIfEmpty(eventIDs(p.Events))); diff != "" {
		t.Errorf("Lookup(%+v) (-want +got):\n%s", q, diff)
	}
	return p
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestLookupAccountAndTime(t *testing.T) {
	j, evs, t0 := lookupFixture(t)
	for _, tc := range []struct {
		name string
		q    Query
		want []string
	}{
		{"account A", Query{Account: acctA}, []string{"role", "user"}},
		{"account B", Query{Account: acctB}, []string{"html", "root"}},
		{"account B readonly", Query{Account: acctB, Attr: AttrReadOnly, Value: "true"}, []string{"root"}},
		{"no account", Query{Account: "333333333333"}, nil},
		{"start inclusive", Query{Start: t0.Add(time.Minute)}, []string{"html", "root", "role"}},
		{"end inclusive", Query{End: t0.Add(time.Minute)}, []string{"role", "user"}},
		{"range", Query{Start: t0.Add(time.Minute), End: t0.Add(2 * time.Minute)}, []string{"root", "role"}},
		{"sub-second end", Query{End: t0.Add(time.Minute + 500*time.Millisecond)}, []string{"role", "user"}},
		{"sub-second start", Query{Start: t0.Add(time.Minute - 500*time.Millisecond)}, []string{"html", "root", "role"}},
		{"other hour", Query{Start: t0.Add(time.Hour)}, nil},
		{"before", Query{End: t0.Add(-time.Second)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectLookup(t, j, tc.q, evs, tc.want)
		})
	}
}

func TestLookupErrors(t *testing.T) {
	j, _, t0 := lookupFixture(t)
	p, err := j.Lookup(context.Background(), Query{Max: 1})
	if err != nil || p.Next == "" {
		t.Fatalf("Lookup(Max 1) = %v, %v; want a Next", p, err)
	}
	long := make([]byte, maxAttrValue+1)
	for i := range long {
		long[i] = 'a'
	}
	for _, tc := range []struct {
		name string
		q    Query
		want error
	}{
		{"unknown key", Query{Attr: "UserName", Value: "x"}, ErrInvalidLookupAttributes},
		{"empty value", Query{Attr: AttrEventName}, ErrInvalidLookupAttributes},
		{"long value", Query{Attr: AttrEventName, Value: string(long)}, ErrInvalidLookupAttributes},
		{"start after end", Query{Start: t0.Add(time.Second), End: t0}, ErrInvalidTimeRange},
		{"max 51", Query{Max: 51}, ErrInvalidMaxResults},
		{"max -1", Query{Max: -1}, ErrInvalidMaxResults},
		{"garbage next", Query{Next: "not a token!"}, ErrInvalidNextToken},
		{"short next", Query{Next: "AQID"}, ErrInvalidNextToken},
		{"long next", Query{Next: p.Next + p.Next + p.Next}, ErrInvalidNextToken},
		{"next of another attr", Query{Attr: AttrEventName, Value: "GetUser", Next: p.Next}, ErrInvalidNextToken},
		{"next of another account", Query{Account: acctA, Next: p.Next}, ErrInvalidNextToken},
		{"next of another range", Query{Start: t0, Next: p.Next}, ErrInvalidNextToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := j.Lookup(context.Background(), tc.q); !errors.Is(err, tc.want) {
				t.Errorf("Lookup(%+v) = %v, want %v", tc.q, err, tc.want)
			}
		})
	}
	// Same query, another page size: the token is good.
	if _, err := j.Lookup(context.Background(), Query{Max: 3, Next: p.Next}); err != nil {
		t.Errorf("Lookup with another Max = %v", err)
	}
}

// TestLookupPagination pages through events spread over several segments (and an
// empty hour), with and without a filter, and against events recorded meanwhile.
func TestLookupPagination(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	c := testenv.NewClock(t0)
	j := open(t, t.TempDir(), Options{Now: c.Now})
	var all []*Event // oldest first
	for h := range 4 {
		if h == 2 {
			continue // an hour without events
		}
		c.Set(t0.Add(time.Duration(h) * time.Hour))
		for i := range 13 {
			e := &Event{EventName: fmt.Sprintf("E%d", i%3), RecipientAccountID: acctA}
			if err := j.Record(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			all = append(all, e)
			c.Advance(10 * time.Second)
		}
	}
	newestFirst := func(keep func(*Event) bool) []string {
		var out []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				out = append(out, all[i].EventID)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    Query
		keep func(*Event) bool
	}{
		{"all by 7", Query{Max: 7}, func(*Event) bool { return true }},
		{"all by 50", Query{}, func(*Event) bool { return true }},
		{"all by 1", Query{Max: 1}, func(*Event) bool { return true }},
		{"E1 by 4", Query{Max: 4, Attr: AttrEventName, Value: "E1"}, func(e *Event) bool { return e.EventName == "E1" }},
		{"range by 5", Query{Max: 5, Start: t0.Add(30 * time.Minute), End: t0.Add(3*time.Hour + 30*time.Second)},
			func(e *Event) bool {
				return !e.EventTime.Before(t0.Add(30*time.Minute)) && !e.EventTime.After(t0.Add(3*time.Hour+30*time.Second))
			}},
		{"exact multiple", Query{Max: 13, Account: acctA}, func(*Event) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			want := newestFirst(tc.keep)
			var got []string
			pages := 0
			for {
				p, err := j.Lookup(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				limit := q.Max
				if limit == 0 {
					limit = MaxLookup
				}
				if len(p.Events) > limit || (p.Next != "" && len(p.Events) != limit) {
					t.Fatalf("page %d: %d events, Next %q", pages, len(p.Events), p.Next)
				}
				got = append(got, eventIDs(p.Events)...)
				if p.Next == "" {
					break
				}
				if pages == 1 {
					// An event recorded meanwhile does not disturb the pages.
					e := &Event{EventName: "E1", RecipientAccountID: acctA}
					if err := j.Record(context.Background(), e); err != nil {
						t.Fatal(err)
					}
					all = append(all, e)
				}
				q.Next = p.Next
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
		})
	}
}
