package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/audit/tail"
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

// auditTailFlags is "iamdb audit tail"'s parsed command line.
type auditTailFlags struct {
	follow          bool
	attr, value     string
	since, interval time.Duration
	format          string
	endpoint        string
	profile, region string
}

func runAuditTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, help, err := parseAuditTail(args, stdout, stderr)
	if help || err != nil {
		return err
	}
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: a.profile, Region: a.region})
	if err != nil {
		return fmt.Errorf("audit tail: %w", err)
	}
	t := tail.New(tail.Config{
		Endpoint: a.endpoint, Credentials: creds, Region: creds.Region(), Attribute: a.attr, Value: a.value,
		Start: time.Now().Add(-a.since).Truncate(time.Second),
	})
	if err := printNewEvents(ctx, t, a.format, stdout); err != nil {
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
		if err := printNewEvents(ctx, t, a.format, stdout); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("audit tail: %w", err)
		}
	}
}

// parseAuditTail parses and checks audit tail's flags.
func parseAuditTail(args []string, stdout, stderr io.Writer) (a auditTailFlags, help bool, err error) {
	fs := flag.NewFlagSet("iamdb audit tail", flag.ContinueOnError)
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
		return a, help, err
	}
	for attr, v := range filters {
		if *v == "" {
			continue
		}
		if a.attr != "" {
			return a, false, usagef("audit tail: only one filter at a time (LookupEvents takes one attribute)")
		}
		a.attr, a.value = attr, *v
	}
	switch {
	case fs.NArg() > 0:
		return a, false, usagef("audit tail: unexpected argument %q", fs.Arg(0))
	case a.endpoint == "":
		return a, false, usagef("audit tail: no --endpoint-url (or $AWS_ENDPOINT_URL): which authority?")
	case a.format != "text" && a.format != "json":
		return a, false, usagef("audit tail: --format is text or json, not %q", a.format)
	case a.attr == "ReadOnly" && a.value != "true" && a.value != "false":
		return a, false, usagef("audit tail: --read-only is true or false")
	case a.since <= 0 || a.interval <= 0:
		return a, false, usagef("audit tail: --since and --interval must be positive")
	}
	return a, false, nil
}

// printNewEvents prints the events t has not returned before, oldest first.
func printNewEvents(ctx context.Context, t *tail.Tailer, format string, w io.Writer) error {
	evs, err := t.Next(ctx)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if err := printEvent(w, format, e); err != nil {
			return err
		}
	}
	return nil
}

// printEvent writes one event in format: its whole record on one line (json), or its
// time, source, name, user, source IP and error code (text).
func printEvent(w io.Writer, format string, e tail.Event) error {
	if format == "json" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Record); err != nil {
			return fmt.Errorf("event %s: CloudTrailEvent is not JSON: %w", e.ID, err)
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
	var rec struct {
		EventSource, EventName, SourceIPAddress, ErrorCode string
		UserIdentity                                       struct{ Type, UserName, ARN string }
	}
	if err := json.Unmarshal(e.Record, &rec); err != nil {
		return fmt.Errorf("event %s: CloudTrailEvent is not a record: %w", e.ID, err)
	}
	user := rec.UserIdentity.UserName
	if user == "" {
		user = rec.UserIdentity.ARN
	}
	_, err := fmt.Fprintf(w, "%s %s %s %s %s %s\n", e.Time.Format("2006-01-02T15:04:05Z"), field(rec.EventSource),
		field(rec.EventName), field(user), field(rec.SourceIPAddress), field(rec.ErrorCode))
	return err
}

// field is s for a space-separated line on a terminal: "-" if empty; its spaces, control
// characters (C0, DEL and C1, whose U+009B is the terminal's CSI), line and paragraph
// separators and bidirectional controls (which reorder what the line shows) replaced by
// '_', since an event's fields come from requests.
func field(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
			return '_'
		}
		return r
	}, s)
}
