package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
)

// AuditConfig is the [audit] table: the journal of CloudTrail-format events (API calls,
// database logins, workload credential issuance) that LookupEvents, "iamdb audit tail"
// and the export read (docs/configuration.md).
type AuditConfig struct {
	// Enabled turns the journal on. TOML audit.enabled; default true.
	Enabled bool `toml:"enabled"`
	// Dir is the journal's directory (created 0700), relative to dir. TOML audit.dir;
	// default "audit". One server per directory (a lock file enforces it): replicas over
	// a shared store each keep their own.
	Dir string `toml:"dir"`
	// Retention: whole hours of events older than this are removed. TOML
	// audit.retention; default "2160h" (90 days, as LookupEvents' history); at least 1h.
	Retention Duration `toml:"retention"`
	// MaxBytes bounds the journal: beyond it the oldest hours are removed even if they
	// are younger than retention (logged at WARN). TOML audit.max_bytes; default 1 GiB;
	// at least 1 MiB.
	MaxBytes int64 `toml:"max_bytes"`
	// Sync is when events reach the disk: "interval" (each event is written before its
	// call or login completes, so it survives the crash or kill -9 of iamdb, and fsync'ed
	// within sync_interval) or "always" (fsync'ed before the call or login completes, so
	// it survives the machine's crash too, at a cost per login: docs/benchmarks.md). TOML
	// audit.sync; default "interval".
	Sync string `toml:"sync"`
	// SyncInterval is how often "interval" fsyncs. TOML audit.sync_interval; default
	// "1s"; between 10ms and 1m.
	SyncInterval Duration `toml:"sync_interval"`
	// The export's keys (export_dir, export_interval, trail_name, export_bucket).
	AuditExportConfig
}

// defaultAuditConfig is [audit]'s defaults.
func defaultAuditConfig() AuditConfig {
	return AuditConfig{
		Enabled:   true,
		Dir:       "audit",
		Retention: Duration{audit.DefaultRetention},
		MaxBytes:  audit.DefaultMaxBytes,
		Sync:      audit.SyncInterval.String(),

		SyncInterval: Duration{audit.DefaultSyncInterval},
	}
}

// validateAudit checks the [audit] table.
func (c *Config) validateAudit() []error {
	a := c.Audit
	if !a.Enabled {
		return nil
	}
	var errs []error
	if a.Dir == "" {
		errs = append(errs, errors.New("audit.dir must not be empty"))
	}
	if a.Retention.Duration < time.Hour {
		errs = append(errs, fmt.Errorf("audit.retention %s must be at least 1h", a.Retention.Duration))
	}
	if a.MaxBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("audit.max_bytes %d must be at least 1048576 (1 MiB)", a.MaxBytes))
	}
	if _, err := audit.ParseSync(a.Sync); err != nil {
		errs = append(errs, fmt.Errorf("audit.sync %q must be \"interval\" or \"always\"", a.Sync))
	}
	if d := a.SyncInterval.Duration; d < 10*time.Millisecond || d > time.Minute {
		errs = append(errs, fmt.Errorf("audit.sync_interval %s must be between 10ms and 1m", d))
	}
	return errs
}

// openAudit opens the journal of [audit], if enabled, before anything that records.
func (s *Server) openAudit() error {
	a := s.cfg.Audit
	if !a.Enabled {
		s.log.Info("audit journal off (audit.enabled = false)")
		return nil
	}
	dir := s.cfg.Path(a.Dir)
	sync, err := audit.ParseSync(a.Sync)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	j, err := audit.Open(dir, audit.Options{
		Retention:    a.Retention.Duration,
		MaxBytes:     a.MaxBytes,
		Sync:         sync,
		SyncInterval: a.SyncInterval.Duration,
		Logger:       s.log.With("component", "audit"),
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	s.audit = j
	s.log.Info("audit journal open", "dir", dir, "retention", a.Retention.Duration, "max_bytes", a.MaxBytes,
		"sync", sync.String(), "sync_interval", a.SyncInterval.Duration)
	return nil
}

// closeAudit closes the journal: after everything that records has stopped.
func (s *Server) closeAudit() {
	if s.audit == nil {
		return
	}
	if err := s.audit.Close(); err != nil {
		s.log.Error("audit journal close", "err", err)
	}
}

// Audit is the audit journal's Reader (LookupEvents, "iamdb audit tail", the export), or
// nil when audit.enabled is false. After the Server has stopped its methods return
// audit.ErrClosed.
func (s *Server) Audit() audit.Reader {
	if s.audit == nil {
		return nil
	}
	return s.audit
}

// recorder is the journal as the emitters' Recorder, or nil (never a nil *audit.Journal in
// an interface) when audit.enabled is false.
func (s *Server) recorder() audit.Recorder {
	if s.audit == nil {
		return nil
	}
	return s.audit
}
