package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// "iamdb dev" refuses more --imds addresses than profiles before it starts anything.
func TestDevTooManyIMDSAddresses(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"dev", "--dir", t.TempDir(), "--imds", "127.0.0.1:0"}, &bytes.Buffer{}, &stderr)
	if got := exitStatus(err, &stderr); got != 2 || !strings.Contains(stderr.String(), "1 --imds addresses for 0 --imds-profile") {
		t.Errorf("exit status %d, stderr %q: want 2 and a usage error", got, stderr.String())
	}
}

// "iamdb dev" keeps the audit journal unless --audit=false (bench/audit.sh's off side).
func TestDevAuditFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"--audit=false"}, false}} {
		f, err := parseDevFlags(c.args, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if f.Audit != c.want {
			t.Errorf("%q: audit %v, want %v", c.args, f.Audit, c.want)
		}
	}
}
