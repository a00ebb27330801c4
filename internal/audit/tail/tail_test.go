package tail

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamdb/iamdb/client"
)

var creds = client.CredentialsProviderFunc(func(context.Context) (client.Credentials, error) {
	return client.Credentials{AccessKeyID: "AKIATAILTEST", SecretAccessKey: "secret"}, nil
})

type fakeTrail struct {
	mu     sync.Mutex
	events []lookedUpEvent // newest first, as LookupEvents answers
	starts []int64
}

func (f *fakeTrail) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Authorization"), "/us-east-1/cloudtrail/aws4_request") ||
		r.Header.Get("X-Amz-Target") != "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents" {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"com.amazonaws#InvalidSignatureException","message":"unsigned"}`))
		return
	}
	var req struct {
		StartTime        int64
		NextToken        string
		LookupAttributes []struct{ AttributeKey, AttributeValue string }
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if len(req.LookupAttributes) > 0 && req.LookupAttributes[0].AttributeKey == "EventName" {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"InvalidLookupAttributesException","message":"no"}`))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, req.StartTime)
	var in []lookedUpEvent
	for _, e := range f.events {
		if int64(e.EventTime) >= req.StartTime {
			in = append(in, e)
		}
	}
	// Pages of two; the token is the offset.
	off := 0
	if req.NextToken != "" {
		off = int(req.NextToken[0] - '0')
	}
	page := struct {
		Events    []lookedUpEvent
		NextToken string `json:",omitempty"`
	}{}
	end := min(off+2, len(in))
	page.Events = in[off:end]
	if end < len(in) {
		page.NextToken = string(rune('0' + end))
	}
	json.NewEncoder(w).Encode(page)
}

func (f *fakeTrail) add(id string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append([]lookedUpEvent{{EventID: id, EventTime: float64(at.Unix()), CloudTrailEvent: `{"eventID":"` + id + `"}`}}, f.events...)
}

func ids(evs []Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.ID)
	}
	return strings.Join(s, ",")
}

// Next returns every page's events oldest first, then only new ones, asking again from
// Lag before the newest it returned.
func TestNext(t *testing.T) {
	t.Parallel()
	trail := &fakeTrail{}
	srv := httptest.NewServer(trail)
	defer srv.Close()
	base := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	for i, id := range []string{"a", "b", "c"} {
		trail.add(id, base.Add(time.Duration(i)*time.Minute))
	}
	tl := New(Config{Endpoint: srv.URL, Credentials: creds, Start: base.Add(-time.Hour)})
	ctx := context.Background()
	evs, err := tl.Next(ctx)
	if err != nil || ids(evs) != "a,b,c" || !evs[2].Time.Equal(base.Add(2*time.Minute)) || string(evs[0].Record) != `{"eventID":"a"}` {
		t.Fatalf("first Next = %q, %v; want a,b,c", ids(evs), err)
	}
	trail.add("d", base.Add(2*time.Minute+5*time.Second)) // recorded late, within Lag
	trail.add("e", base.Add(3*time.Minute))
	evs, err = tl.Next(ctx)
	if err != nil || ids(evs) != "d,e" {
		t.Errorf("second Next = %q, %v; want d,e", ids(evs), err)
	}
	if got, want := trail.starts[len(trail.starts)-1], base.Add(2*time.Minute-Lag).Unix(); got != want {
		t.Errorf("second Next asked from %d, want %d (Lag before the newest)", got, want)
	}
	if evs, err := tl.Next(ctx); err != nil || len(evs) != 0 {
		t.Errorf("third Next = %q, %v; want nothing new", ids(evs), err)
	}
}

func TestNextErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&fakeTrail{})
	defer srv.Close()
	_, err := New(Config{Endpoint: srv.URL, Credentials: creds, Attribute: "EventName", Value: "x"}).Next(context.Background())
	var le *LookupError
	if !errors.As(err, &le) || le.Code != "InvalidLookupAttributesException" || le.Message != "no" {
		t.Errorf("Next refused = %v, want a LookupError", err)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{")) }))
	defer bad.Close()
	if _, err := New(Config{Endpoint: bad.URL, Credentials: creds}).Next(context.Background()); err == nil || !strings.Contains(err.Error(), "unreadable answer") {
		t.Errorf("Next of a broken answer = %v, want unreadable", err)
	}
}
