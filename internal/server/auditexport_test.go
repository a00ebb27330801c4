package server

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/audit/export"
)

func TestAuditExportConfig(t *testing.T) {
	t.Parallel()
	var cfg Config
	md, err := toml.Decode(`
[audit]
export_dir = "trail"
export_interval = "1m"
trail_name = "main-trail"
export_bucket = "my-bucket"
`, &cfg)
	if err != nil || len(md.Undecoded()) != 0 {
		t.Fatalf("Decode: %v, undecoded %v", err, md.Undecoded())
	}
	want := AuditExportConfig{ExportDir: "trail", ExportInterval: Duration{time.Minute}, TrailName: "main-trail", ExportBucket: "my-bucket"}
	if cfg.Audit.AuditExportConfig != want {
		t.Errorf("[audit] = %+v, want %+v", cfg.Audit.AuditExportConfig, want)
	}
	for _, tt := range []struct {
		audit AuditExportConfig
		want  string
	}{
		{AuditExportConfig{ExportDir: "trail"}, ""},
		{AuditExportConfig{}, ""},
		{AuditExportConfig{TrailName: "x"}, "need audit.export_dir"},
		{AuditExportConfig{ExportDir: "trail", TrailName: "a/b"}, "audit.export_dir: export: trail name"},
		{AuditExportConfig{ExportDir: "trail", ExportInterval: Duration{2 * time.Hour}}, "audit.export_dir: export: interval"},
	} {
		cfg := testConfig(t)
		cfg.Audit.AuditExportConfig = tt.audit
		err := cfg.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.audit, err, tt.want)
		}
	}
}

// readerOf is an IN-TEST audit.Reader standing in for H8's journal (s.audit, written in
// parallel; the lead switches this test to it at merge): Scan hands over its events,
// closes handed, then waits for ctx.
type readerOf struct {
	events []audit.Event
	handed chan struct{}
}

func (r readerOf) Lookup(context.Context, audit.Query) (audit.Page, error) {
	return audit.Page{}, errors.New("readerOf: no Lookup")
}

func (r readerOf) Scan(ctx context.Context, from time.Time, follow bool, fn func(audit.Event) bool) error {
	for _, e := range r.events {
		if !fn(e) {
			return nil
		}
	}
	close(r.handed)
	<-ctx.Done()
	return ctx.Err()
}

// The exporter starts with the server and delivers what it read when the server is
// released, before the closers registered before it (the journal's).
func TestStartAuditExport(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Audit.ExportDir = "trail"
	s := &Server{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	pattern := filepath.Join(cfg.Dir, "trail", "AWSLogs", "123456789012", "CloudTrail", "us-east-1", "*", "*", "*", "*.json.gz")
	s.closers = append(s.closers, func() error { // the journal's
		if logs, _ := filepath.Glob(pattern); len(logs) == 0 {
			t.Error("the journal closed before the exporter delivered")
		}
		return nil
	})
	r := readerOf{handed: make(chan struct{})}
	for i := range 3 {
		r.events = append(r.events, audit.Event{EventTime: audit.Time{Time: time.Now()}, EventName: "GetUser",
			EventID: string(rune('a' + i)), AWSRegion: "us-east-1", RecipientAccountID: "123456789012"})
	}
	if err := s.startAuditExport(r); err != nil {
		t.Fatal(err)
	}
	<-r.handed
	s.release()
	logs, _ := filepath.Glob(pattern)
	if len(logs) != 1 {
		t.Fatalf("log files %v, want one", logs)
	}
	if fi, err := os.Stat(filepath.Join(cfg.Dir, auditExportStateDir, export.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key: %v, %v", fi, err)
	}
}
