package export

import (
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"time"
)

// WriteText writes r as "aws cloudtrail validate-logs" words its output: the invalid
// files (with verbose, every file) with their details, the range requested and found,
// the counts of valid and invalid files, and a warning for each chain whose newest
// digest ends more than two hours before now when no end of the range was asked for.
// dir is the export directory the files are named under.
func (r *Report) WriteText(w io.Writer, dir string, verbose bool, now time.Time) error {
	ew := &errWriter{w: w}
	ew.printf("Validating log files in %s between %s and %s\n\n", dir, when(r.From, "the first digest"), when(r.To, "now"))
	for _, list := range []struct {
		kind    string
		results []Result
	}{{"Digest file", r.Digests}, {"Log file", r.Logs}} {
		for _, x := range list.results {
			if !verbose && x.Valid() {
				continue
			}
			ew.printf("%s\t%s\t%s\n", list.kind, filepath.Join(dir, filepath.FromSlash(x.Object)), x.Status)
			for _, d := range x.Details {
				ew.printf("\t%s\n", d)
			}
		}
	}
	ew.printf("\nResults requested for %s to %s\n", when(r.From, "the first digest"), when(r.To, "now"))
	if len(r.Digests) == 0 {
		ew.printf("No digest files found\n")
		return ew.err
	}
	ew.printf("Results found for %s to %s:\n\n", when(r.Oldest, "?"), when(r.Newest, "?"))
	ew.printf("%s\n%s\n", summary(r.Digests, "digest"), summary(r.Logs, "log"))
	if r.To.IsZero() {
		// Digests removed from the end of a chain leave no gap: say when one looks cut.
		for _, c := range slices.Sorted(maps.Keys(r.Ends)) {
			if end := r.Ends[c]; now.Sub(end) > 2*time.Hour {
				ew.printf("WARNING: the newest digest of %s ends at %s: a running export writes one every hour\n",
					c, end.Format(time.RFC3339))
			}
		}
	}
	return ew.err
}

// when is t in RFC 3339 (UTC), or zero if t is zero.
func when(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format(time.RFC3339)
}

// summary is validate-logs' "N/M digest files valid[, K/M digest files INVALID]".
func summary(rs []Result, kind string) string {
	valid := 0
	for _, r := range rs {
		if r.Valid() {
			valid++
		}
	}
	s := fmt.Sprintf("%d/%d %s files valid", valid, len(rs), kind)
	if valid < len(rs) {
		s += fmt.Sprintf(", %d/%d %s files INVALID", len(rs)-valid, len(rs), kind)
	}
	return s
}

// errWriter keeps the first error of its writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (ew *errWriter) printf(format string, args ...any) {
	if ew.err == nil {
		_, ew.err = fmt.Fprintf(ew.w, format, args...)
	}
}
