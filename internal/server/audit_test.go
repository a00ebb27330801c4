package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
)

// New opens the journal under dir (0700) before anything serves; it records and reads
// while the server runs, and is closed last when it stops.
func TestServerAudit(t *testing.T) {
	cfg := testConfig(t)
	srv, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := srv.audit.Record(context.Background(), &audit.Event{}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Record after Shutdown = %v, want audit.ErrClosed", err)
	}
	// The directory is free again: a new server opens it and finds the event.
	srv2, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Shutdown(context.Background())
	if p, err := srv2.Audit().Lookup(context.Background(), audit.Query{}); err != nil || len(p.Events) != 1 || p.Events[0].EventID != e.EventID {
		t.Errorf("Lookup after restart = %v, %v", p, err)
	}
}

func TestServerAuditDisabled(t *testing.T) {
	cfg := testConfig(t)
	cfg.Audit.Enabled = false
	srv, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
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
	if !d.Enabled || d.Dir != "audit" || d.Retention.Duration != 2160*time.Hour || d.MaxBytes != 1<<30 {
		t.Errorf("defaults = %+v", d)
	}
}
