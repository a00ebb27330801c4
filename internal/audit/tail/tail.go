package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/queryclient"
)

// Lag is how far back Next asks again before the newest event it returned: events
// recorded concurrently may carry a time slightly older than one already seen.
const Lag = 10 * time.Second

// MaxEvents bounds the events one Next collects (newest first on the wire, returned
// oldest first): a wider window is refused rather than held in memory.
const MaxEvents = 100_000

// maxAnswer bounds one LookupEvents answer.
const maxAnswer = 64 << 20

// Config says what a Tailer asks for, and whom.
type Config struct {
	Endpoint    string                     // the authority's URL; required
	Credentials client.CredentialsProvider // signs the requests; required
	Region      string                     // the region signed for; if empty, us-east-1
	// Attribute and Value are LookupEvents' one lookup attribute (EventName, Username,
	// AccessKeyId, EventSource, ResourceName, ReadOnly); if Attribute is empty, all events.
	Attribute, Value string
	Start            time.Time        // the first Next's window starts here
	HTTPClient       *http.Client     // if nil, one with a 30 s timeout
	Now              func() time.Time // signing time; if nil, time.Now
}

// Event is one event of the trail.
type Event struct {
	ID     string
	Time   time.Time // UTC
	Record []byte    // the CloudTrail record (JSON), as the authority sent it
}

// Tailer asks for the events not yet returned. It is not safe for concurrent use.
type Tailer struct {
	cfg    Config
	seen   map[string]time.Time // EventId → time, of the returned events still in the window
	newest time.Time            // the newest returned event's time
}

// New returns a Tailer of cfg.
func New(cfg Config) *Tailer {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return &Tailer{cfg: cfg, seen: map[string]time.Time{}}
}

// lookedUpEvent is the part of a LookupEvents event Next reads.
type lookedUpEvent struct {
	EventID         string  `json:"EventId"`
	EventTime       float64 `json:"EventTime"`
	CloudTrailEvent string  `json:"CloudTrailEvent"`
}

// Next fetches every event from the window's start (Config.Start, then Lag before the
// newest returned one) and returns those not returned before, oldest first.
func (t *Tailer) Next(ctx context.Context) ([]Event, error) {
	start := t.cfg.Start
	if !t.newest.IsZero() && t.newest.Add(-Lag).After(start) {
		start = t.newest.Add(-Lag)
	}
	evs, err := t.lookup(ctx, start)
	if err != nil {
		return nil, err
	}
	var out []Event
	for i := len(evs) - 1; i >= 0; i-- { // newest first on the wire
		e := &evs[i]
		if _, dup := t.seen[e.EventID]; dup {
			continue
		}
		when := time.Unix(0, int64(e.EventTime*1e9)).UTC()
		t.seen[e.EventID] = when
		if when.After(t.newest) {
			t.newest = when
		}
		out = append(out, Event{ID: e.EventID, Time: when, Record: []byte(e.CloudTrailEvent)})
	}
	for id, when := range t.seen { // forget what the next window no longer reaches
		if when.Before(t.newest.Add(-2 * Lag)) {
			delete(t.seen, id)
		}
	}
	return out, nil
}

// lookup returns every event since start, page by page, newest first.
func (t *Tailer) lookup(ctx context.Context, start time.Time) ([]lookedUpEvent, error) {
	var evs []lookedUpEvent
	next := ""
	for {
		req := map[string]any{"StartTime": start.Unix()}
		if t.cfg.Attribute != "" {
			req["LookupAttributes"] = []map[string]string{{"AttributeKey": t.cfg.Attribute, "AttributeValue": t.cfg.Value}}
		}
		if next != "" {
			req["NextToken"] = next
		}
		var page struct {
			Events    []lookedUpEvent
			NextToken string
		}
		if err := t.call(ctx, req, &page); err != nil {
			return nil, err
		}
		evs = append(evs, page.Events...)
		if len(evs) > MaxEvents {
			return nil, fmt.Errorf("more than %d events since %s: narrow --since or filter", MaxEvents, start.Format(time.RFC3339))
		}
		if next = page.NextToken; next == "" {
			return evs, nil
		}
	}
}

// call posts req as LookupEvents to the authority, signed for cloudtrail, and decodes the
// answer into out.
func (t *Tailer) call(ctx context.Context, req any, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(t.cfg.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/x-amz-json-1.1")
	hr.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")
	resp, data, err := queryclient.Send(t.cfg.HTTPClient, hr, body, t.cfg.Credentials, "cloudtrail", t.cfg.Region, t.cfg.Now(), maxAnswer)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Type != "" {
			code := e.Type[strings.LastIndexByte(e.Type, '#')+1:] // botocore drops a namespace#
			return &LookupError{Code: code, Message: e.Message}
		}
		return fmt.Errorf("the authority answered %s", resp.Status)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("unreadable answer: %w", err)
	}
	return nil
}

// LookupError is an error answer of LookupEvents.
type LookupError struct{ Code, Message string }

func (e *LookupError) Error() string { return e.Code + ": " + e.Message }
