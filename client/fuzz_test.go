package client_test

import (
	"strings"
	"testing"

	"github.com/iamdb/iamdb/client"
)

// RegionFromHost never panics, and a region it finds is a label of the lower-cased host
// right before the RDS suffix.
func FuzzRegionFromHost(f *testing.F) {
	for _, h := range []string{"mydb.c9akciq32.eu-west-1.rds.amazonaws.com", "a.b.cn-north-1.rds.amazonaws.com.cn", "x.us-gov-west-1.rds.amazonaws.com.", ".rds.amazonaws.com", "db.internal", "-.--1.rds.amazonaws.com"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		r, ok := client.RegionFromHost(host)
		if !ok {
			if r != "" {
				t.Fatalf("RegionFromHost(%q) = %q, false", host, r)
			}
			return
		}
		h := strings.TrimSuffix(strings.ToLower(host), ".")
		if !strings.Contains(h, "."+r+".rds.amazonaws.com") || strings.Count(r, "-") < 2 {
			t.Fatalf("RegionFromHost(%q) = %q", host, r)
		}
	})
}
