package pghba

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

// parseLines builds rules from pg_hba.conf-like lines, numbered from 1 (the view's columns: the
// address split into address and netmask).
func parseLines(lines ...string) []Rule {
	var rules []Rule
	for i, l := range lines {
		f := strings.Fields(l)
		r := Rule{Line: i + 1, Type: f[0], Databases: strings.Split(f[1], ","), Users: strings.Split(f[2], ",")}
		f = f[3:]
		if r.Type != "local" {
			r.Address, f = f[0], f[1:]
			if p, err := netip.ParsePrefix(r.Address); err == nil {
				r.Address = p.Addr().String()
				r.Netmask = net.IP(net.CIDRMask(p.Bits(), p.Addr().BitLen())).String()
			}
		}
		r.Method = f[0]
		rules = append(rules, r)
	}
	return rules
}

func TestCheck(t *testing.T) {
	t.Parallel()
	alice := Member{Name: "alice", Groups: []string{"rds_iam"}}
	nested := Member{Name: "bob", Groups: []string{"iam_group", "rds_iam", "staff"}}
	tests := []struct {
		name    string
		rules   []Rule
		members []Member
		want    []string // a substring of each warning, in order
	}{
		{"documented", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"host all +rds_iam all reject",
			"local all +rds_iam reject",
			"local all all peer",
			"hostssl all all 0.0.0.0/0 scram-sha-256",
			"host all all ::/0 md5",
		), []Member{alice, nested}, nil},
		{"localdb's", parseLines(
			"hostssl all +rds_iam 127.0.0.1/32 cert",
			"host all +rds_iam all reject",
			"local all +rds_iam reject",
			"local all all trust",
			"hostssl all all 127.0.0.1/32 scram-sha-256",
			"host all all 127.0.0.1/32 scram-sha-256",
		), nil, nil},
		{"finding 6: only the cert line", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"hostssl all all 0.0.0.0/0 scram-sha-256",
			"host all all 0.0.0.0/0 scram-sha-256",
		), []Member{alice}, []string{
			`line 2: "hostssl all all 0.0.0.0/0 scram-sha-256" lets members of rds_iam (alice) log in with scram-sha-256 over TLS, without`,
			`line 3: "host all all 0.0.0.0/0 scram-sha-256" lets members of rds_iam (alice) log in with scram-sha-256 over TLS, over GSS encryption, unencrypted over TCP`,
		}},
		{"no members yet", parseLines(
			"host all all 10.0.0.0/8 trust",
		), nil, []string{`line 1: "host all all 10.0.0.0/8 trust" lets any member of rds_iam log in with trust`}},
		{"the socket", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"host all +rds_iam all reject",
			"local all all peer",
		), nil, []string{`line 3: "local all all peer" lets any member of rds_iam log in with peer over the unix socket`}},
		{"reject only without TLS", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"hostnossl all +rds_iam all reject",
			"host all all 0.0.0.0/0 scram-sha-256",
			"hostnossl all all 0.0.0.0/0 scram-sha-256", // covered
		), nil, []string{`line 3: "host all all 0.0.0.0/0 scram-sha-256" lets any member of rds_iam log in with scram-sha-256 over TLS, without`}},
		{"reject for IPv4 only", parseLines(
			"host all +rds_iam 0.0.0.0/0 reject",
			"host all all 10.1.0.0/16 scram-sha-256", // covered
			"host all all ::/0 scram-sha-256",
			"host all all all scram-sha-256",
		), nil, []string{`line 3: "host all all ::/0`, `line 4: "host all all all`}},
		{"narrow reject, wide password line", parseLines(
			"host all +rds_iam 10.0.0.0/8 reject",
			"host all all 0.0.0.0/0 md5",
		), nil, []string{`line 2:`}},
		{"reject for one database", parseLines(
			"host app +rds_iam all reject",
			"host app all all md5", // covered
			"host app,other all all md5",
			"host all all all md5",
		), nil, []string{`line 3:`, `line 4:`}},
		{"named member and nested group", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"host all alice all md5",
			"host all +staff all md5",
			"host all carol all md5", // not a member
		), []Member{alice, nested}, []string{
			`line 2: "host all alice all md5" lets the rds_iam members alice log in`,
			`line 3: "host all +staff all md5" lets the rds_iam members bob log in`,
		}},
		{"a reject for one member covers only that one", parseLines(
			"host all alice all reject",
			"host all all all md5",
		), []Member{alice, nested}, []string{`line 2: "host all all all md5" lets members of rds_iam (bob) log in`}},
		{"host names and samenet count as anywhere", parseLines(
			"host all +rds_iam samenet reject",
			"host all all .example.com md5",
		), nil, []string{`line 2: "host all all .example.com md5"`}},
		{"a line other users reach is fine", parseLines(
			"host all +rds_iam all reject",
			"local all +rds_iam reject",
			"host all all all trust",
			"local all all trust",
		), []Member{alice}, nil},
		{"parse errors", []Rule{{Line: 7, Err: `invalid authentication method "scram"`}}, nil,
			[]string{`line 7: invalid authentication method "scram" (PostgreSQL keeps`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Check(tt.rules, tt.members)
			if len(got) != len(tt.want) {
				t.Fatalf("Check = %q, want %d warnings like %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// FuzzCheck feeds Check lines whose address, netmask, user and method columns are
// arbitrary: it must not panic, and a file whose first lines reject members of rds_iam
// everywhere stays clean whatever follows.
func FuzzCheck(f *testing.F) {
	f.Add("host", "all", "+rds_iam", "10.0.0.0", "255.0.0.0", "md5")
	f.Add("hostssl", "app,other", "alice", "::1", "ffff:ffff::", "trust")
	f.Add("local", "all", "all", "", "", "peer")
	f.Add("host", "all", "all", ".example.com", "", "scram-sha-256")
	f.Add("hostnogssenc", "all", "+staff", "192.0.2.1", "255.255.0.255", "cert")
	f.Fuzz(func(t *testing.T, typ, dbs, users, addr, mask, method string) {
		r := Rule{Line: 3, Type: typ, Databases: strings.Split(dbs, ","), Users: strings.Split(users, ","),
			Address: addr, Netmask: mask, Method: method}
		members := []Member{{Name: "alice", Groups: []string{"rds_iam", "staff"}}}
		_ = Check([]Rule{r}, members)
		_ = r.String()
		safe := append(parseLines("host all +rds_iam all reject", "local all +rds_iam reject"), r)
		if got := Check(safe, members); len(got) != 0 {
			t.Errorf("Check(rejects, %q) = %q, want no warning", r.String(), got)
		}
	})
}
