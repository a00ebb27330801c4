package pghba

import (
	"net/netip"
	"testing"
)

func TestFirstMatch(t *testing.T) {
	t.Parallel()
	gw := netip.MustParseAddr("10.0.0.5")
	u := Member{Name: "app", Groups: []string{"rds_iam", "readers"}}
	rule := func(line int, typ, db, user, addr, mask, method string) Rule {
		return Rule{Line: line, Type: typ, Databases: []string{db}, Users: []string{user}, Address: addr, Netmask: mask, Method: method}
	}
	for _, tt := range []struct {
		name         string
		rules        []Rule
		db           string
		line         int
		found, known bool
	}{
		{"cert", []Rule{rule(1, "local", "all", "all", "", "", "trust"), rule(2, "hostssl", "all", "+rds_iam", "10.0.0.5", "255.255.255.255", "cert")}, "app", 2, true, true},
		{"nossl first", []Rule{rule(1, "hostnossl", "all", "all", "all", "", "trust"), rule(2, "host", "sameuser", "app", "10.0.0.0", "255.0.0.0", "scram-sha-256")}, "app", 2, true, true},
		{"sameuser other db", []Rule{rule(1, "host", "sameuser", "all", "all", "", "trust"), rule(2, "hostssl", "samerole", "all", "all", "", "cert")}, "readers", 2, true, true},
		{"other address", []Rule{rule(1, "hostssl", "all", "all", "10.0.0.6", "255.255.255.255", "cert")}, "app", 0, false, true},
		{"host name", []Rule{rule(1, "hostssl", "all", "all", "gw.example", "", "cert")}, "app", 1, true, false},
		{"error line", []Rule{{Line: 1, Type: "hostssl", Databases: []string{"all"}, Users: []string{"all"}, Address: "all", Method: "cert", Err: "bad"}}, "app", 0, false, true},
		{"other user", []Rule{rule(1, "hostssl", "all", "bob", "all", "", "trust"), rule(2, "hostssl", "all", "all", "all", "", "reject")}, "app", 2, true, true},
	} {
		r, found, known := FirstMatch(tt.rules, Login{Database: tt.db, User: u, Addr: gw})
		if r.Line != tt.line || found != tt.found || known != tt.known {
			t.Errorf("%s: FirstMatch = line %d, %v, %v; want %d, %v, %v", tt.name, r.Line, found, known, tt.line, tt.found, tt.known)
		}
	}
}
