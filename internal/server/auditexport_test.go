package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// watched is a real journal whose Scan closes handed once it has passed n events on
// (fn returned: the exporter has buffered them).
type watched struct {
	*audit.Journal
	n      int
	handed chan struct{}
	once   *sync.Once
}

func (w watched) Scan(ctx context.Context, from time.Time, follow bool, fn func(audit.Event) bool) error {
	seen := 0
	return w.Journal.Scan(ctx, from, follow, func(e audit.Event) bool {
		ok := fn(e)
		if seen++; seen == w.n {
			w.once.Do(func() { close(w.handed) })
		}
		return ok
	})
}

// The exporter starts with the server and delivers what it read when the server is
// released, before the closers registered before it (the journal's).
func TestStartAuditExport(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Audit.ExportDir = "trail"
	s := &Server{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	pattern := filepath.Join(cfg.Dir, "trail", "AWSLogs", "123456789012", "CloudTrail", "us-east-1", "*", "*", "*", "*.json.gz")
	j, err := audit.Open(filepath.Join(cfg.Dir, "audit"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.closers = append(s.closers, func() error { // the journal's, as server.New registers it
		if logs, _ := filepath.Glob(pattern); len(logs) == 0 {
			t.Error("the journal closed before the exporter delivered")
		}
		return j.Close()
	})
	for i := range 3 {
		if err := j.Record(context.Background(), &audit.Event{EventTime: audit.Time{Time: time.Now()}, EventName: "GetUser",
			EventID: string(rune('a' + i)), AWSRegion: "us-east-1", RecipientAccountID: "123456789012"}); err != nil {
			t.Fatal(err)
		}
	}
	r := watched{Journal: j, n: 3, handed: make(chan struct{}), once: new(sync.Once)}
	if err := s.startAuditExport(r); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.handed:
	case <-time.After(30 * time.Second):
		s.release()
		t.Fatal("the exporter did not read the journal's three events")
	}
	s.release()
	logs, _ := filepath.Glob(pattern)
	if len(logs) != 1 {
		t.Fatalf("log files %v, want one", logs)
	}
	if fi, err := os.Stat(filepath.Join(cfg.Dir, auditExportStateDir, export.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key: %v, %v", fi, err)
	}
}
