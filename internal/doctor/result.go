package doctor

import (
	"encoding/json"
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
		label := "fix"
		if r.Status == OK || r.Status == Skip {
			label = "note" // advice for a case doctor cannot see
		}
		for _, fix := range strings.Split(r.Fix, "\n") {
			if _, err := fmt.Fprintf(w, "      %-12s %s: %s\n", "", label, fix); err != nil {
				return err
			}
		}
	}
	return nil
}

// Report is doctor's JSON document (iamdb doctor --format json).
type Report struct {
	// OK is true when no check failed or warned: the login would succeed as far as doctor
	// can tell.
	OK     bool         `json:"ok"`
	Checks []JSONResult `json:"checks"`
}

// JSONResult is a Result in a Report; Status is "ok", "skip", "warn" or "fail".
type JSONResult struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// PrintJSON writes rs as one Report, indented, on a line of its own.
func PrintJSON(w io.Writer, rs []Result) error {
	rep := Report{OK: !Failed(rs), Checks: make([]JSONResult, 0, len(rs))}
	for _, r := range rs {
		rep.Checks = append(rep.Checks, JSONResult{Check: r.Check, Status: strings.ToLower(r.Status.String()), Detail: r.Detail, Fix: r.Fix})
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
