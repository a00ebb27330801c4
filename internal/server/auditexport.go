package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/audit/export"
)

// AuditExportConfig are the export keys of [audit]: the trail delivered as CloudTrail
// delivers it to S3, gzip JSON log files and a signed hourly digest chain
// (internal/audit/export, docs/audit.md "Export and verification").
type AuditExportConfig struct {
	// ExportDir is the export directory, relative to dir; its base name is the
	// digests' bucket unless export_bucket says otherwise. TOML audit.export_dir;
	// default "" (no export).
	ExportDir string `toml:"export_dir"`
	// ExportInterval is how often log files are delivered, 1s to 1h. TOML
	// audit.export_interval; default "5m".
	ExportInterval Duration `toml:"export_interval"`
	// TrailName is the trail's name in digest file names. TOML audit.trail_name; default
	// "iamdb".
	TrailName string `toml:"trail_name"`
	// ExportBucket is digestS3Bucket and logFiles' s3Bucket. TOML audit.export_bucket;
	// default the base name of export_dir.
	ExportBucket string `toml:"export_bucket"`
}

// AuditConfig is the [audit] table.
//
// auditExportStateDir is where the exporter keeps its signing key and position,
// below dir.
const auditExportStateDir = "audit-export"

// validateAuditExport checks the export keys of [audit].
func (c *Config) validateAuditExport() []error {
	a := c.Audit.AuditExportConfig
	if a.ExportDir == "" {
		if a.ExportInterval.Duration != 0 || a.TrailName != "" || a.ExportBucket != "" {
			return []error{errors.New("audit.export_interval, audit.trail_name and audit.export_bucket need audit.export_dir")}
		}
		return nil
	}
	if err := c.auditExportConfig().Validate(); err != nil {
		return []error{fmt.Errorf("audit.export_dir: %w", err)}
	}
	return nil
}

// auditExportConfig is the exporter's Config.
func (c *Config) auditExportConfig() export.Config {
	a := c.Audit.AuditExportConfig
	return export.Config{
		Dir: c.Path(a.ExportDir), StateDir: c.Path(auditExportStateDir), Bucket: a.ExportBucket,
		Trail: a.TrailName, HomeRegion: c.Authority.Region, Interval: a.ExportInterval.Duration,
	}
}

// startAuditExport starts exporting r's events into audit.export_dir, if set, until the
// Server is released (the exporter stops before the closers registered before it, such
// as the journal's). A failed export is logged and restarted a minute later from its
// last delivery.
//
// New calls it right after opening the journal, so that it stops before the journal
// closes.
func (s *Server) startAuditExport(r audit.Reader) error {
	if s.cfg.Audit.ExportDir == "" {
		return nil
	}
	cfg := s.cfg.auditExportConfig()
	x, err := export.New(cfg)
	if err != nil {
		return fmt.Errorf("serve: audit export: %w", err)
	}
	log := s.log.With("export_dir", cfg.Dir)
	log.Info("exporting the audit trail", "fingerprint", x.Fingerprint())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			err := x.Run(ctx, r)
			if ctx.Err() != nil {
				if err != nil {
					log.Error("audit export", "err", err)
				}
				return
			}
			log.Error("audit export failed; restarting in a minute", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Minute):
			}
			if nx, err := export.New(cfg); err != nil {
				log.Error("audit export", "err", err)
			} else {
				x = nx
			}
		}
	}()
	s.closers = append(s.closers, func() error {
		cancel()
		<-done
		return nil
	})
	return nil
}
