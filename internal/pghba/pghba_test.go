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
		r.Method, r.Options = f[0], f[1:]
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
		native  []string // Options.NativeServices
		want    []string // a substring of each warning, in order
	}{
		{"documented", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"host all +rds_iam all reject",
			"local all +rds_iam reject",
			"local all all peer",
			"hostssl all all 0.0.0.0/0 scram-sha-256",
			"host all all ::/0 md5",
		), []Member{alice, nested}, nil, nil},
		{"localdb's", parseLines(
			"hostssl all +rds_iam 127.0.0.1/32 cert",
			"host all +rds_iam all reject",
			"local all +rds_iam reject",
			"local all all trust",
			"hostssl all all 127.0.0.1/32 scram-sha-256",
			"host all all 127.0.0.1/32 scram-sha-256",
		), nil, nil, nil},
		{"finding 6: only the cert line", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"hostssl all all 0.0.0.0/0 scram-sha-256",
			"host all all 0.0.0.0/0 scram-sha-256",
		), []Member{alice}, nil, []string{
			`line 2: "hostssl all all 0.0.0.0/0 scram-sha-256" lets members of rds_iam (alice) log in with scram-sha-256 over TLS, without`,
			`line 3: "host all all 0.0.0.0/0 scram-sha-256" lets members of rds_iam (alice) log in with scram-sha-256 over TLS, over GSS encryption, unencrypted over TCP`,
		}},
		{"no members yet", parseLines(
			"host all all 10.0.0.0/8 trust",
		), nil, nil, []string{`line 1: "host all all 10.0.0.0/8 trust" lets any member of rds_iam log in with trust`}},
		{"the socket", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"host all +rds_iam all reject",
			"local all all peer",
		), nil, nil, []string{`line 3: "local all all peer" lets any member of rds_iam log in with peer over the unix socket`}},
		{"reject only without TLS", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"hostnossl all +rds_iam all reject",
			"host all all 0.0.0.0/0 scram-sha-256",
			"hostnossl all all 0.0.0.0/0 scram-sha-256", // covered
		), nil, nil, []string{`line 3: "host all all 0.0.0.0/0 scram-sha-256" lets any member of rds_iam log in with scram-sha-256 over TLS, without`}},
		{"reject for IPv4 only", parseLines(
			"host all +rds_iam 0.0.0.0/0 reject",
			"host all all 10.1.0.0/16 scram-sha-256", // covered
			"host all all ::/0 scram-sha-256",
			"host all all all scram-sha-256",
		), nil, nil, []string{`line 3: "host all all ::/0`, `line 4: "host all all all`}},
		{"narrow reject, wide password line", parseLines(
			"host all +rds_iam 10.0.0.0/8 reject",
			"host all all 0.0.0.0/0 md5",
		), nil, nil, []string{`line 2:`}},
		{"reject for one database", parseLines(
			"host app +rds_iam all reject",
			"host app all all md5", // covered
			"host app,other all all md5",
			"host all all all md5",
		), nil, nil, []string{`line 3:`, `line 4:`}},
		{"named member and nested group", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"host all alice all md5",
			"host all +staff all md5",
			"host all carol all md5", // not a member
		), []Member{alice, nested}, nil, []string{
			`line 2: "host all alice all md5" lets the rds_iam members alice log in`,
			`line 3: "host all +staff all md5" lets the rds_iam members bob log in`,
		}},
		{"a reject for one member covers only that one", parseLines(
			"host all alice all reject",
			"host all all all md5",
		), []Member{alice, nested}, nil, []string{`line 2: "host all all all md5" lets members of rds_iam (bob) log in`}},
		{"host names and samenet count as anywhere", parseLines(
			"host all +rds_iam samenet reject",
			"host all all .example.com md5",
		), nil, nil, []string{`line 2: "host all all .example.com md5"`}},
		{"a line other users reach is fine", parseLines(
			"host all +rds_iam all reject",
			"local all +rds_iam reject",
			"host all all all trust",
			"local all all trust",
		), []Member{alice}, nil, nil},
		{"parse errors", []Rule{{Line: 7, Err: `invalid authentication method "scram"`}}, nil, nil,
			[]string{`line 7: invalid authentication method "scram" (PostgreSQL keeps`}},
		{"native-setup's block", parseLines(
			"hostssl all +rds_iam 192.0.2.10/32 cert",
			"hostssl all +rds_iam 0.0.0.0/0 pam pamservice=iamdb",
			"hostssl all +rds_iam ::/0 pam pamservice=iamdb",
			"host all +rds_iam all reject",
			"local all +rds_iam reject",
			"local all all peer",
			"host all all all scram-sha-256",
		), []Member{alice, nested}, []string{"iamdb"}, nil},
		{"native pam lines cover TLS only", parseLines(
			"hostssl all +rds_iam all pam pamservice=IAMDB", // Linux-PAM lower-cases the name
			"hostssl all all all scram-sha-256",             // covered
			"host all all all scram-sha-256",
		), []Member{alice}, []string{"iamdb"}, []string{
			`line 3: "host all all all scram-sha-256" lets members of rds_iam (alice) log in with scram-sha-256 over GSS encryption, unencrypted over TCP, without`,
		}},
		{"native pam lines for some addresses", parseLines(
			"hostssl all +rds_iam 10.0.0.0/8 pam pamservice=iamdb",
			"hostssl all all 10.1.0.0/16 md5", // covered
			"hostssl all all all md5",
		), nil, []string{"iamdb"}, []string{
			`line 3: "hostssl all all all md5" lets any member of rds_iam log in with md5 over TLS`,
		}},
		{"the same block without native services", parseLines(
			"hostssl all +rds_iam 0.0.0.0/0 pam pamservice=iamdb",
			"host all +rds_iam all reject",
			"local all +rds_iam reject",
		), []Member{alice}, nil, []string{
			`line 1: "hostssl all +rds_iam 0.0.0.0/0 pam pamservice=iamdb" lets members of rds_iam (alice) log in with pam over TLS, without the gateway's certificate or iamdb's native mode: PAM service "iamdb" is not one of iamdb's native services`,
		}},
		{"another PAM service", parseLines(
			"hostssl all all all pam pamservice=login",
			"hostssl all all all pam",
		), nil, []string{"iamdb"}, []string{
			`line 1: "hostssl all all all pam pamservice=login"`,
			`PAM service "postgresql" is not one of`, // the default service
		}},
		{"the default service can be native", parseLines(
			"hostssl all +rds_iam all pam",
			"host all +rds_iam all reject",
			"local all +rds_iam reject",
		), nil, []string{"postgresql"}, nil},
		{"native pam without TLS", parseLines(
			"host all +rds_iam 0.0.0.0/0 pam pamservice=iamdb",
			"hostnossl all +rds_iam all pam pamservice=iamdb", // covered by line 1 for IPv4 only: reached over IPv6
			"hostgssenc all +rds_iam all pam pamservice=iamdb",
			"local all +rds_iam pam pamservice=iamdb",
			"host all +rds_iam all reject",
		), []Member{alice}, []string{"iamdb"}, []string{
			`line 1: "host all +rds_iam 0.0.0.0/0 pam pamservice=iamdb" has members of rds_iam (alice) send IAM tokens to iamdb's PAM service "iamdb" over GSS encryption, unencrypted over TCP: without TLS`,
			`line 2: "hostnossl all +rds_iam all pam pamservice=iamdb" has members`,
			`line 3:`,
			`line 4: "local all +rds_iam pam pamservice=iamdb" has members of rds_iam (alice) send IAM tokens to iamdb's PAM service "iamdb" over the unix socket`,
		}},
		{"options other than pamservice stay out of warnings", parseLines(
			"host all all all ldap ldapserver=ldap.example ldapbindpasswd=s3cret",
		), nil, nil, []string{`line 1: "host all all all ldap" lets`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Check(tt.rules, tt.members, Options{NativeServices: tt.native})
			if len(got) != len(tt.want) {
				t.Fatalf("Check = %q, want %d warnings like %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if strings.Contains(got[i].Text, "s3cret") {
					t.Errorf("warning %d shows a secret option: %q", i, got[i].Text)
				}
				if got[i].Native != strings.Contains(got[i].Text, "send IAM tokens") {
					t.Errorf("warning %d: Native = %v for %q", i, got[i].Native, got[i].Text)
				}
				if !strings.Contains(got[i].Text, tt.want[i]) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// FuzzCheck feeds Check lines whose address, netmask, user, method and options columns
// are arbitrary: it must not panic; a file whose first lines reject members of rds_iam
// everywhere stays clean whatever follows; a pam line of a native service that a member
// reaches is a warning exactly when the line is not hostssl; and naming a line's service
// native never adds a warning about it.
func FuzzCheck(f *testing.F) {
	f.Add("host", "all", "+rds_iam", "10.0.0.0", "255.0.0.0", "md5", "")
	f.Add("hostssl", "app,other", "alice", "::1", "ffff:ffff::", "trust", "")
	f.Add("local", "all", "all", "", "", "peer", "")
	f.Add("host", "all", "all", ".example.com", "", "scram-sha-256", "")
	f.Add("hostnogssenc", "all", "+staff", "192.0.2.1", "255.255.0.255", "cert", "")
	f.Add("hostssl", "all", "+rds_iam", "0.0.0.0", "0.0.0.0", "pam", "pamservice=iamdb")
	f.Add("host", "all", "+rds_iam", "all", "", "pam", "pamservice=IAMDB")
	f.Add("local", "all", "alice", "", "", "pam", "")
	f.Add("hostssl", "all", "all", "all", "", "pam", "pamservice=iamdb,pamservice=login")
	f.Fuzz(func(t *testing.T, typ, dbs, users, addr, mask, method, options string) {
		r := Rule{Line: 3, Type: typ, Databases: strings.Split(dbs, ","), Users: strings.Split(users, ","),
			Address: addr, Netmask: mask, Method: method}
		if options != "" {
			r.Options = strings.Split(options, ",")
		}
		members := []Member{{Name: "alice", Groups: []string{"rds_iam", "staff"}}}
		plain := Check([]Rule{r}, members, Options{})
		_ = r.String()
		native := Options{NativeServices: []string{"iamdb", "postgresql"}}
		safe := append(parseLines("host all +rds_iam all reject", "local all +rds_iam reject"), r)
		if got := Check(safe, members, native); len(got) != 0 {
			t.Errorf("Check(rejects, %q) = %q, want no warning", r.String(), got)
		}
		got := Check([]Rule{r}, members, native)
		if len(got) > len(plain) {
			t.Errorf("Check(%q) with native services = %q, more than without (%q)", r.String(), got, plain)
		}
		svc := r.PAMService()
		if _, known := lineKinds[r.Type]; !known || r.Method != "pam" || (svc != "iamdb" && svc != "postgresql") ||
			!r.matches(members[0]) && !r.matches(Member{Groups: []string{"rds_iam"}}) {
			return
		}
		if wantWarning := r.Type != "hostssl"; (len(got) == 1 && got[0].Native) != wantWarning || len(got) > 1 {
			t.Errorf("Check(%q) with native service %q = %q, want a native warning: %v", r.String(), svc, got, wantWarning)
		}
	})
}
