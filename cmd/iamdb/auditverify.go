package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/iamdb/iamdb/internal/audit/export"
)

// auditUsage is the usage of "iamdb audit".
const auditUsage = `usage: iamdb audit <command> [arguments]

commands:
  tail      print the authority's audit trail (CloudTrail LookupEvents); --follow it
  verify    check an exported trail's digests, signatures and log files
            (like aws cloudtrail validate-logs)
`

const auditVerifyUsage = `usage: iamdb audit verify DIR [--start-time T] [--end-time T] [--public-key FILE]... [--verbose]

Checks the trail exported into DIR ([audit] export_dir): walks every account's and
region's digests from the newest to the oldest along their chain, checks each digest's
location, signature and chain hash and the SHA-256 of every log file it lists, and says
what happened to changed events. Exits 1 if any file is invalid or no digest is found.

  --start-time T   check from T (RFC 3339, 2006-01-02T15:04Z or 2006-01-02; default: the first digest)
  --end-time T     check up to T (default: now)
  --public-key F   a trusted copy of a signing public key (PEM; repeatable; default: the
                   keys in DIR/public-keys, which prove nothing against whoever can write DIR)
  --verbose        list valid files too
`

// runAuditVerify is "iamdb audit verify DIR".
func runAuditVerify(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("iamdb audit verify", flag.ContinueOnError)
	start := fs.String("start-time", "", "")
	end := fs.String("end-time", "", "")
	verbose := fs.Bool("verbose", false, "")
	var keyFiles repeated
	fs.Var(&keyFiles, "public-key", "")
	var pos []string
	for {
		if help, err := parseFlags(fs, auditVerifyUsage, args, stdout, stderr); help || err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, auditVerifyUsage)
		return usagef("audit verify: want one directory, got %d arguments", len(pos))
	}
	dir := pos[0]
	var from, to time.Time
	var err error
	if *start != "" {
		if from, err = parseWhen(*start); err != nil {
			return usagef("audit verify: --start-time: %v", err)
		}
	}
	if *end != "" {
		if to, err = parseWhen(*end); err != nil {
			return usagef("audit verify: --end-time: %v", err)
		}
	}
	if !to.IsZero() && from.After(to) {
		return usagef("audit verify: --start-time is after --end-time")
	}
	keys := export.Keys{}
	if len(keyFiles) == 0 {
		if keys, err = export.ReadPublicKeys(dir); err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		fmt.Fprintf(stderr, "iamdb: using the public keys in %s: pass --public-key with a trusted copy to detect a re-signed export\n",
			filepath.Join(dir, "public-keys"))
	}
	for _, f := range keyFiles {
		pub, err := export.ReadPublicKey(f)
		if err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		keys.Add(pub)
	}

	rep := export.VerifyDir(dir, keys, from, to)
	if err := rep.WriteText(stdout, dir, *verbose, time.Now()); err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if len(rep.Digests) == 0 || !rep.Valid() {
		return exitCode(1)
	}
	return nil
}

// parseWhen parses a time given on the command line, UTC unless it says otherwise.
func parseWhen(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05Z", "2006-01-02T15:04Z", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want RFC 3339, 2006-01-02T15:04Z or 2006-01-02)", s)
}
