package doctor

import (
	"fmt"
	"io"
	"strings"
)

// Status is a Result's verdict.
type Status int

// The statuses, printed as ok, skip, WARN and FAIL. Warn and Fail fail the run.
const (
	OK Status = iota
	Skip
	Warn
	Fail
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Skip:
		return "skip"
	case Warn:
		return "WARN"
	case Fail:
		return "FAIL"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result is one finding of a check.
type Result struct {
	Check  string // "credentials", "tls", "pg_hba", …
	Status Status
	Detail string
	// Fix says how to fix a Warn or Fail, "" if there is nothing to say; several fixes
	// are separate lines.
	Fix string
}

func ok(check, detail string) Result   { return Result{Check: check, Status: OK, Detail: detail} }
func skip(check, detail string) Result { return Result{Check: check, Status: Skip, Detail: detail} }

func warn(check, detail, fix string) Result {
	return Result{Check: check, Status: Warn, Detail: detail, Fix: fix}
}

func fail(check, detail, fix string) Result {
	return Result{Check: check, Status: Fail, Detail: detail, Fix: fix}
}

// Failed reports whether any result is a Warn or a Fail.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Warn || r.Status == Fail {
			return true
		}
	}
	return false
}

// Print writes rs one line each ("ok    region       us-east-1"), each fix on a line of
// its own below its finding.
func Print(w io.Writer, rs []Result) error {
	for _, r := range rs {
		if _, err := fmt.Fprintf(w, "%-5s %-12s %s\n", r.Status, r.Check, r.Detail); err != nil {
			return err
		}
		if r.Fix == "" {
			continue
		}
		for _, fix := range strings.Split(r.Fix, "\n") {
			if _, err := fmt.Fprintf(w, "      %-12s fix: %s\n", "", fix); err != nil {
				return err
			}
		}
	}
	return nil
}
