package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/sigv4"
)

const auditTailUsage = `usage: iamdb audit tail [--follow] [FILTER] [--since DURATION] [--format text|json]
                        [--endpoint-url URL] [--profile NAME] [--region R]

Reads the authority's audit trail with CloudTrail's LookupEvents, as
"aws cloudtrail lookup-events --endpoint-url URL" does, signed with your AWS credentials
(the SDK's chain: AWS_ACCESS_KEY_ID…, AWS_PROFILE, …). The caller needs
cloudtrail:LookupEvents and sees its own account's events.

tail    prints the events of the last --since (default 1h), oldest first; with --follow
        it then asks again every 2 seconds (--interval) and prints the new ones.

FILTER is at most one of (LookupEvents takes one attribute):
  --event-name N      e.g. CreateUser, AssumeRole, connect (database logins)
  --username U        the user, or a session's name
  --access-key-id K
  --event-source S    iam.amazonaws.com, sts.amazonaws.com, rds.amazonaws.com,
                      rds-db.amazonaws.com
  --resource-name R   a resource's ARN
  --read-only true|false

--format text prints one line per event: time, source, name, user, source IP and error
code ("-" if it succeeded); json prints each whole CloudTrail record on one line.
The endpoint defaults to $AWS_ENDPOINT_URL_CLOUDTRAIL, then $AWS_ENDPOINT_URL.
`

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(args, auditUsage, "audit: ", stdout, stderr, map[string]subcommand{
		"tail":   func(args []string) error { return runAuditTail(ctx, args, stdout, stderr) },
		"verify": func(args []string) error { return runAuditVerify(ctx, args, stdout, stderr) },
	})
}

// auditTail is "iamdb audit tail"'s parsed command line.
type auditTail struct {
	follow          bool
	attr, value     string
	since, interval time.Duration
	format          string
	endpoint        string
	profile, region string
	start           time.Time
	seen            map[string]time.Time // EventId → time, of the printed events still in the window
	newest          time.Time            // the newest printed event's time
	creds           *client.AWSCredentials
	stdout          io.Writer
	hc              *http.Client
}

// auditLag is how far back --follow asks again before the newest event it printed: events
// recorded concurrently may carry a time slightly older than one already seen.
const auditLag = 10 * time.Second

// auditMaxEvents bounds the events one sweep collects before printing (newest first on the
// wire, printed oldest first): a wider --since is refused rather than held in memory.
const auditMaxEvents = 100_000

func runAuditTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("iamdb audit tail", flag.ContinueOnError)
	a := &auditTail{stdout: stdout, seen: map[string]time.Time{}}
	fs.BoolVar(&a.follow, "follow", false, "keep asking for new events")
	filters := map[string]*string{}
	for _, f := range []struct{ flag, attr, help string }{
		{"event-name", "EventName", "only events of this name"},
		{"username", "Username", "only events of this user or session name"},
		{"access-key-id", "AccessKeyId", "only events of this access key"},
		{"event-source", "EventSource", "only events of this source"},
		{"resource-name", "ResourceName", "only events on this resource (ARN)"},
		{"read-only", "ReadOnly", "true or false"},
	} {
		filters[f.attr] = fs.String(f.flag, "", f.help)
	}
	fs.DurationVar(&a.since, "since", time.Hour, "how far back to start")
	fs.DurationVar(&a.interval, "interval", 2*time.Second, "how often --follow asks")
	fs.StringVar(&a.format, "format", "text", "text or json")
	endpoint := os.Getenv("AWS_ENDPOINT_URL_CLOUDTRAIL")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	fs.StringVar(&a.endpoint, "endpoint-url", endpoint, "the iamdb authority")
	fs.StringVar(&a.profile, "profile", "", "AWS profile")
	fs.StringVar(&a.region, "region", "", "region to sign for (default: the profile's, else us-east-1)")
	if help, err := parseFlags(fs, auditTailUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	for attr, v := range filters {
		if *v == "" {
			continue
		}
		if a.attr != "" {
			return usagef("audit tail: only one filter at a time (LookupEvents takes one attribute)")
		}
		a.attr, a.value = attr, *v
	}
	switch {
	case fs.NArg() > 0:
		return usagef("audit tail: unexpected argument %q", fs.Arg(0))
	case a.endpoint == "":
		return usagef("audit tail: no --endpoint-url (or $AWS_ENDPOINT_URL): which authority?")
	case a.format != "text" && a.format != "json":
		return usagef("audit tail: --format is text or json, not %q", a.format)
	case a.attr == "ReadOnly" && a.value != "true" && a.value != "false":
		return usagef("audit tail: --read-only is true or false")
	case a.since <= 0 || a.interval <= 0:
		return usagef("audit tail: --since and --interval must be positive")
	}
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: a.profile, Region: a.region})
	if err != nil {
		return fmt.Errorf("audit tail: %w", err)
	}
	a.creds = creds
	a.hc = &http.Client{Timeout: 30 * time.Second}
	a.start = time.Now().Add(-a.since).Truncate(time.Second)
	if err := a.sweep(ctx); err != nil {
		return fmt.Errorf("audit tail: %w", err)
	}
	if !a.follow {
		return nil
	}
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := a.sweep(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("audit tail: %w", err)
		}
	}
}

// lookedUpEvent is the part of a LookupEvents event tail reads.
type lookedUpEvent struct {
	EventID         string  `json:"EventId"`
	EventTime       float64 `json:"EventTime"`
	CloudTrailEvent string  `json:"CloudTrailEvent"`
}

// sweep fetches every event from the window's start (a.start, then auditLag before the
// newest printed one), skips those already printed and prints the others oldest first.
func (a *auditTail) sweep(ctx context.Context) error {
	start := a.start
	if !a.newest.IsZero() && a.newest.Add(-auditLag).After(start) {
		start = a.newest.Add(-auditLag)
	}
	var evs []lookedUpEvent
	next := ""
	for {
		req := map[string]any{"StartTime": start.Unix()}
		if a.attr != "" {
			req["LookupAttributes"] = []map[string]string{{"AttributeKey": a.attr, "AttributeValue": a.value}}
		}
		if next != "" {
			req["NextToken"] = next
		}
		var page struct {
			Events    []lookedUpEvent
			NextToken string
		}
		if err := a.call(ctx, req, &page); err != nil {
			return err
		}
		evs = append(evs, page.Events...)
		if len(evs) > auditMaxEvents {
			return fmt.Errorf("more than %d events since %s: narrow --since or filter", auditMaxEvents, start.Format(time.RFC3339))
		}
		if next = page.NextToken; next == "" {
			break
		}
	}
	for i := len(evs) - 1; i >= 0; i-- { // newest first on the wire
		e := &evs[i]
		if _, dup := a.seen[e.EventID]; dup {
			continue
		}
		t := time.Unix(0, int64(e.EventTime*1e9)).UTC()
		a.seen[e.EventID] = t
		if t.After(a.newest) {
			a.newest = t
		}
		if err := a.print(e, t); err != nil {
			return err
		}
	}
	for id, t := range a.seen { // forget what the next window no longer reaches
		if t.Before(a.newest.Add(-2 * auditLag)) {
			delete(a.seen, id)
		}
	}
	return nil
}

// print writes one event in a.format.
func (a *auditTail) print(e *lookedUpEvent, t time.Time) error {
	if a.format == "json" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(e.CloudTrailEvent)); err != nil {
			return fmt.Errorf("event %s: CloudTrailEvent is not JSON: %w", e.EventID, err)
		}
		buf.WriteByte('\n')
		_, err := a.stdout.Write(buf.Bytes())
		return err
	}
	var rec struct {
		EventSource, EventName, SourceIPAddress, ErrorCode string
		UserIdentity                                       struct{ Type, UserName, ARN string }
	}
	if err := json.Unmarshal([]byte(e.CloudTrailEvent), &rec); err != nil {
		return fmt.Errorf("event %s: CloudTrailEvent is not a record: %w", e.EventID, err)
	}
	user := rec.UserIdentity.UserName
	if user == "" {
		user = rec.UserIdentity.ARN
	}
	_, err := fmt.Fprintf(a.stdout, "%s %s %s %s %s %s\n", t.Format("2006-01-02T15:04:05Z"), field(rec.EventSource),
		field(rec.EventName), field(user), field(rec.SourceIPAddress), field(rec.ErrorCode))
	return err
}

// field is s for a space-separated line: "-" if empty, its spaces and control characters
// replaced by '_' (an event's fields come from requests).
func field(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
}

// call posts req as LookupEvents to the authority, signed for cloudtrail, and decodes the
// answer into out.
func (a *auditTail) call(ctx context.Context, req any, out any) error {
	region := a.creds.Region()
	if region == "" {
		region = "us-east-1"
	}
	c, err := a.creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(a.endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/x-amz-json-1.1")
	hr.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")
	sum := sha256.Sum256(body)
	var signer sigv4.Signer
	if err := signer.SignHTTP(hr, sigv4.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
		hex.EncodeToString(sum[:]), "cloudtrail", region, time.Now()); err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	resp, err := a.hc.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Type != "" {
			code := e.Type[strings.LastIndexByte(e.Type, '#')+1:] // botocore drops a namespace#
			return &lookupError{Code: code, Message: e.Message}
		}
		return fmt.Errorf("the authority answered %s", resp.Status)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("unreadable answer: %w", err)
	}
	return nil
}

// lookupError is an error answer of LookupEvents.
type lookupError struct{ Code, Message string }

func (e *lookupError) Error() string { return e.Code + ": " + e.Message }
