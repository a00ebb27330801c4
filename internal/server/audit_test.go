package server

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
)

// New opens the journal under dir (0700) before anything serves; it records and reads
// while the server runs, and is closed last when it stops.
func TestServerAudit(t *testing.T) {
	cfg := testConfig(t)
	srv := newServer(t, cfg)
	fi, err := os.Stat(filepath.Join(cfg.Dir, "audit"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("journal dir: %v, %v; want 0700", fi, err)
	}
	done := runUntilReady(t, context.Background(), srv)
	e := &audit.Event{EventName: "GetCallerIdentity", EventSource: audit.SourceSTS, RecipientAccountID: cfg.Bootstrap.AccountID}
	if err := srv.audit.Record(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	p, err := srv.Audit().Lookup(context.Background(), audit.Query{Attr: audit.AttrEventID, Value: e.EventID})
	if err != nil || len(p.Events) != 1 {
		t.Fatalf("Lookup = %v, %v; want the event", p, err)
	}
	stop(t, srv, done)
	if err := srv.audit.Record(context.Background(), &audit.Event{}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Record after Shutdown = %v, want audit.ErrClosed", err)
	}
	// The directory is free again: a new server opens it and finds the event.
	srv2 := newServer(t, cfg)
	defer srv2.Shutdown(context.Background())
	if p, err := srv2.Audit().Lookup(context.Background(), audit.Query{}); err != nil || len(p.Events) != 1 || p.Events[0].EventID != e.EventID {
		t.Errorf("Lookup after restart = %v, %v", p, err)
	}
}

func TestServerAuditDisabled(t *testing.T) {
	cfg := testConfig(t)
	cfg.Audit.Enabled = false
	srv := newServer(t, cfg)
	defer srv.Shutdown(context.Background())
	if srv.Audit() != nil {
		t.Error("Audit() is not nil with audit.enabled = false")
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "audit")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal dir exists with audit off: %v", err)
	}
}

// A journal that cannot be opened fails New, which releases what it opened.
func TestServerAuditInUse(t *testing.T) {
	cfg := testConfig(t)
	j, err := audit.Open(filepath.Join(cfg.Dir, "audit"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if srv, err := New(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
		if srv != nil {
			srv.Shutdown(context.Background())
		}
		t.Fatalf("New with the journal in use = %v, want an error", err)
	}
}

func TestAuditConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*AuditConfig)
		want string // "" = valid
	}{
		{"defaults", func(*AuditConfig) {}, ""},
		{"disabled ignores the rest", func(a *AuditConfig) { *a = AuditConfig{} }, ""},
		{"empty dir", func(a *AuditConfig) { a.Dir = "" }, "audit.dir"},
		{"short retention", func(a *AuditConfig) { a.Retention = Duration{59 * time.Minute} }, "audit.retention"},
		{"small max_bytes", func(a *AuditConfig) { a.MaxBytes = 1000 }, "audit.max_bytes"},
		{"absolute dir", func(a *AuditConfig) { a.Dir = "/var/log/iamdb-audit" }, ""},
		{"sync always", func(a *AuditConfig) { a.Sync = "always" }, ""},
		{"unknown sync", func(a *AuditConfig) { a.Sync = "never" }, "audit.sync"},
		{"empty sync", func(a *AuditConfig) { a.Sync = "" }, "audit.sync"},
		{"short sync_interval", func(a *AuditConfig) { a.SyncInterval = Duration{time.Millisecond} }, "audit.sync_interval"},
		{"long sync_interval", func(a *AuditConfig) { a.SyncInterval = Duration{2 * time.Minute} }, "audit.sync_interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mod(&cfg.Audit)
			err := cfg.Validate()
			if tc.want == "" && err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	d := DefaultConfig().Audit
	if !d.Enabled || d.Dir != "audit" || d.Retention.Duration != 2160*time.Hour || d.MaxBytes != 1<<30 ||
		d.Sync != "interval" || d.SyncInterval.Duration != time.Second {
		t.Errorf("defaults = %+v", d)
	}
}

// lookupEventsCLI runs "aws cloudtrail lookup-events ARGS" (Debian's AWS CLI v2) against
// url as k, with a home and no configuration of its own, and returns its output. It skips
// the test when the CLI is missing, and fails it then under IAMDB_REQUIRE_TOOLS=1.
func lookupEventsCLI(t *testing.T, url string, k iam.AccessKey, args ...string) (string, error) {
	t.Helper()
	const cli = "/usr/bin/aws"
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("IAMDB_REQUIRE_TOOLS") == "1" {
			t.Fatalf("the AWS CLI v2 (%s) is missing and IAMDB_REQUIRE_TOOLS=1: install it with %q", cli, "apt-get install -y awscli")
		}
		t.Skipf("the AWS CLI v2 (%s) is missing: install it with %q (IAMDB_REQUIRE_TOOLS=1 makes this a failure)", cli, "apt-get install -y awscli")
	}
	cmd := exec.Command(cli, append([]string{"cloudtrail", "lookup-events", "--endpoint-url", url, "--region", "us-east-1", "--output", "json"}, args...)...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "AWS_ACCESS_KEY_ID=" + k.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + k.SecretAccessKey, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// auditor is a user of the bootstrap account allowed cloudtrail:LookupEvents, and its key.
func auditor(t *testing.T, srv *Server, account string) iam.AccessKey {
	t.Helper()
	ctx := context.Background()
	root := srv.svc.Root(account)
	if _, err := srv.svc.CreateUser(ctx, root, iam.CreateUserInput{UserName: "auditor"}); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}`
	if err := srv.svc.PutUserPolicy(ctx, root, "auditor", "lookup", doc); err != nil {
		t.Fatal(err)
	}
	k, err := srv.svc.CreateAccessKey(ctx, root, "auditor")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The authority answers LookupEvents from the server's journal: an event recorded in it
// comes back through "aws cloudtrail lookup-events".
func TestServerLookupEvents(t *testing.T) {
	cfg := testConfig(t)
	srv := serve(t, cfg)
	acct := cfg.Bootstrap.AccountID
	k := auditor(t, srv, acct)
	e := &audit.Event{EventName: "CreateUser", EventSource: audit.SourceIAM, AWSRegion: "us-east-1", SourceIPAddress: "127.0.0.1",
		UserIdentity: audit.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::" + acct + ":user/admin", AccountID: acct, UserName: "admin"},
		EventType:    audit.TypeAPICall, ManagementEvent: true, RecipientAccountID: acct, EventCategory: audit.CategoryManage}
	if err := srv.audit.Record(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	out, err := lookupEventsCLI(t, srv.URL(), k, "--lookup-attributes", "AttributeKey=EventId,AttributeValue="+e.EventID)
	if err != nil {
		t.Fatalf("aws cloudtrail lookup-events: %v\n%s", err, out)
	}
	var r struct {
		Events []struct{ EventId, EventName, Username, CloudTrailEvent string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("aws cloudtrail lookup-events printed %q: %v", out, err)
	}
	if len(r.Events) != 1 || r.Events[0].EventId != e.EventID || r.Events[0].EventName != "CreateUser" || r.Events[0].Username != "admin" {
		t.Fatalf("aws cloudtrail lookup-events = %+v, want the recorded event %s", r.Events, e.EventID)
	}
	var rec audit.Event
	if err := json.Unmarshal([]byte(r.Events[0].CloudTrailEvent), &rec); err != nil || rec.EventID != e.EventID ||
		!rec.EventTime.Equal(e.EventTime.Time) || rec.SourceIPAddress != "127.0.0.1" {
		t.Errorf("CloudTrailEvent = %q (%v), want the recorded event", r.Events[0].CloudTrailEvent, err)
	}
}

// Without the journal, the authority says LookupEvents is unsupported (no typed-nil
// reader in awsquery.Config).
func TestServerLookupEventsDisabled(t *testing.T) {
	cfg := testConfig(t)
	cfg.Audit.Enabled = false
	srv := serve(t, cfg)
	k := auditor(t, srv, cfg.Bootstrap.AccountID)
	out, err := lookupEventsCLI(t, srv.URL(), k)
	if err == nil || !strings.Contains(out, "UnsupportedOperationException") {
		t.Errorf("aws cloudtrail lookup-events with audit off = %v\n%s\nwant UnsupportedOperationException", err, out)
	}
}
