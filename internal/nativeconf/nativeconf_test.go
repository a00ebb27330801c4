package nativeconf

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/pghba"
)

// parseHBA reads pg_hba.conf lines as pg_hba_file_rules shows them (comments and blank
// lines skipped, CIDR split into address and netmask), for pghba.
func parseHBA(t *testing.T, text string) []pghba.Rule {
	t.Helper()
	var rules []pghba.Rule
	for i, l := range strings.Split(text, "\n") {
		if c, _, _ := strings.Cut(l, "#"); strings.TrimSpace(c) == "" {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 4 {
			t.Fatalf("line %d %q: too few fields", i+1, l)
		}
		r := pghba.Rule{Line: i + 1, Type: f[0], Databases: strings.Split(f[1], ","), Users: strings.Split(f[2], ",")}
		f = f[3:]
		if r.Type != "local" {
			r.Address, f = f[0], f[1:]
			if r.Address != "all" {
				p, err := netip.ParsePrefix(r.Address)
				if err != nil {
					t.Fatalf("line %d %q: address: %v", i+1, l, err)
				}
				r.Address = p.Addr().String()
				r.Netmask = net.IP(net.CIDRMask(p.Bits(), p.Addr().BitLen())).String()
			}
		}
		r.Method = f[0]
		for _, o := range f[1:] {
			if k, _, ok := strings.Cut(o, "="); !ok || k != "pamservice" {
				t.Fatalf("line %d %q: unknown option %q", i+1, l, o)
			}
		}
		rules = append(rules, r)
	}
	return rules
}

// firstMatch returns the first rule a connection of type typ from addr by a member of
// groups matches, as PostgreSQL picks it (all databases).
func firstMatch(rules []pghba.Rule, typ string, addr netip.Addr, user string, groups []string) (pghba.Rule, bool) {
	for _, r := range rules {
		switch {
		case r.Type == "local" && typ != "local", r.Type != "local" && typ == "local":
			continue
		case r.Type == "hostssl" && typ != "hostssl", r.Type == "hostnossl" && typ == "hostssl":
			continue
		}
		if !slices.ContainsFunc(r.Users, func(u string) bool {
			return u == "all" || u == user || strings.HasPrefix(u, "+") && slices.Contains(groups, u[1:])
		}) {
			continue
		}
		if typ != "local" && r.Address != "all" {
			ip, mask := netip.MustParseAddr(r.Address), net.IPMask(net.ParseIP(r.Netmask).To16())
			if ip.Is4() {
				mask = mask[12:]
			}
			bits, _ := mask.Size()
			if ip.BitLen() != addr.BitLen() || !netip.PrefixFrom(ip, bits).Contains(addr) {
				continue
			}
		}
		return r, true
	}
	return pghba.Rule{}, false
}

const everyoneElse = `# TYPE DATABASE USER ADDRESS METHOD
local   all all                 peer
hostssl all all 0.0.0.0/0       scram-sha-256
host    all all ::/0            scram-sha-256
`

func TestHBABlockFirstMatch(t *testing.T) {
	t.Parallel()
	block, err := HBABlock(HBA{Service: "iamdb", GatewaySource: netip.MustParseAddr("10.0.0.7")})
	if err != nil {
		t.Fatal(err)
	}
	file, err := ApplyHBA(everyoneElse, block)
	if err != nil {
		t.Fatal(err)
	}
	rules := parseHBA(t, file)
	member := []string{"rds_iam", "app"}
	tests := []struct {
		name   string
		typ    string
		addr   string
		groups []string
		want   string
	}{
		{"member over TLS, IPv4", "hostssl", "192.0.2.10", member, "hostssl all +rds_iam 192.0.2.10 pam"},
		{"member over TLS, IPv6", "hostssl", "2001:db8::1", member, "hostssl all +rds_iam 2001:db8::1 pam"},
		{"member from the gateway", "hostssl", "10.0.0.7", member, "hostssl all +rds_iam 10.0.0.7 cert"},
		{"member next to the gateway", "hostssl", "10.0.0.8", member, "hostssl all +rds_iam 10.0.0.8 pam"},
		{"member plain TCP", "host", "192.0.2.10", member, "host all +rds_iam 192.0.2.10 reject"},
		{"member plain TCP from the gateway", "host", "10.0.0.7", member, "host all +rds_iam 10.0.0.7 reject"},
		{"member unix socket", "local", "", member, "local all +rds_iam - reject"},
		{"other over TLS", "hostssl", "192.0.2.10", []string{"app"}, "hostssl all all 192.0.2.10 scram-sha-256"},
		{"other over the socket", "local", "", nil, "local all all - peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addr netip.Addr
			if tt.addr != "" {
				addr = netip.MustParseAddr(tt.addr)
			}
			r, ok := firstMatch(rules, tt.typ, addr, "u", tt.groups)
			if !ok {
				t.Fatalf("no line matches")
			}
			a := tt.addr
			if a == "" {
				a = "-"
			}
			want := strings.Fields(tt.want)
			if r.Type != want[0] || r.Users[0] != want[2] || r.Method != want[4] {
				t.Errorf("first match = %q (line %d), want %q", r.String(), r.Line, tt.want)
			}
			if r.Method == "pam" && !strings.Contains(strings.Split(file, "\n")[r.Line-1], "pamservice=iamdb") {
				t.Errorf("pam line %d has no pamservice=iamdb", r.Line)
			}
		})
	}
}

func TestHBABlockText(t *testing.T) {
	t.Parallel()
	block, err := HBABlock(HBA{Service: "svc", Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(block, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			got = append(got, strings.Join(strings.Fields(l), " "))
		}
	}
	want := []string{
		"hostssl all +rds_iam 127.0.0.1/32 pam pamservice=svc",
		"hostssl all +rds_iam ::1/128 pam pamservice=svc",
		"host all +rds_iam all reject",
		"local all +rds_iam reject",
	}
	if !slices.Equal(got, want) {
		t.Errorf("HBABlock lines = %q, want %q", got, want)
	}
	if !strings.HasPrefix(block, BeginMarker) || !strings.HasSuffix(block, EndMarker+"\n") {
		t.Errorf("HBABlock lacks its markers:\n%s", block)
	}
	def, _ := HBABlock(HBA{})
	if !strings.Contains(def, "0.0.0.0/0") || !strings.Contains(def, "::/0") || !strings.Contains(def, "pamservice=iamdb") {
		t.Errorf("HBABlock(HBA{}) lacks the defaults:\n%s", def)
	}
}

func TestHBABlockRefuses(t *testing.T) {
	t.Parallel()
	for _, h := range []HBA{
		{Service: "a b"},
		{Service: "x\nhost all all all trust"},
		{Service: "Upper"},
		{Service: ".hidden"},
		{Service: "../etc"},
		{Service: strings.Repeat("a", 65)},
		{Addresses: []netip.Prefix{{}}},
		{GatewaySource: netip.MustParseAddr("fe80::1%eth0")},
	} {
		if b, err := HBABlock(h); err == nil {
			t.Errorf("HBABlock(%+v) = %q, want an error", h, b)
		}
	}
}

func TestApplyHBA(t *testing.T) {
	t.Parallel()
	block, _ := HBABlock(HBA{})
	other, _ := HBABlock(HBA{Service: "other"})
	once, err := ApplyHBA(everyoneElse, block)
	if err != nil {
		t.Fatal(err)
	}
	if once != block+everyoneElse {
		t.Errorf("ApplyHBA did not put the block first:\n%s", once)
	}
	twice, err := ApplyHBA(once, block)
	if err != nil || twice != once {
		t.Errorf("ApplyHBA twice = %q, %v; want it unchanged", twice, err)
	}
	replaced, err := ApplyHBA(once, other)
	if err != nil || replaced != other+everyoneElse {
		t.Errorf("ApplyHBA(replace) = %q, %v", replaced, err)
	}
	// A block elsewhere is replaced where it stands.
	mid := "# head\n" + block + "local all all trust\n"
	got, err := ApplyHBA(mid, other)
	if err != nil || got != "# head\n"+other+"local all all trust\n" {
		t.Errorf("ApplyHBA(mid) = %q, %v", got, err)
	}
	// The END marker as the last line without a newline.
	got, err = ApplyHBA(strings.TrimSuffix(block, "\n"), other)
	if err != nil || got != other {
		t.Errorf("ApplyHBA(no final newline) = %q, %v", got, err)
	}
	if got, err := ApplyHBA("", block); err != nil || got != block {
		t.Errorf("ApplyHBA(empty) = %q, %v", got, err)
	}
	for name, broken := range map[string]string{
		"begin without end": BeginMarker + "\nhost all all all trust\n",
		"end without begin": "host all all all trust\n" + EndMarker + "\n",
		"end before begin":  EndMarker + "\n" + BeginMarker + "\n",
		"two blocks":        block + block,
	} {
		if got, err := ApplyHBA(broken, block); !errors.Is(err, ErrBrokenMarkers) {
			t.Errorf("ApplyHBA(%s) = %q, %v; want ErrBrokenMarkers", name, got, err)
		}
	}
	if _, err := ApplyHBA(everyoneElse, "host all all all trust\n"); err == nil {
		t.Error("ApplyHBA took a block without markers")
	}
}

func TestPAMService(t *testing.T) {
	t.Parallel()
	got, err := PAMService(PAM{Module: "/lib/x86_64-linux-gnu/security/pam_iamdb.so", Socket: "/run/iamdb/pg.sock", TimeoutMS: 2000})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(got, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
	}
	want := []string{
		"auth required /lib/x86_64-linux-gnu/security/pam_iamdb.so socket=/run/iamdb/pg.sock timeout=2000 keep_loaded",
		"account required /lib/x86_64-linux-gnu/security/pam_iamdb.so socket=/run/iamdb/pg.sock",
	}
	if !slices.Equal(lines, want) || !strings.HasPrefix(got, "# ") {
		t.Errorf("PAMService = %q, want a header and %q", got, want)
	}
	noTimeout, _ := PAMService(PAM{Module: "pam_iamdb.so", Socket: "/s"})
	if strings.Contains(noTimeout, "timeout=") {
		t.Errorf("PAMService without a timeout = %q", noTimeout)
	}
	for _, p := range []PAM{
		{Socket: "/s"},
		{Module: "m.so"},
		{Module: "m.so", Socket: "/a b"},
		{Module: "m.so", Socket: "/s\nauth sufficient pam_permit.so"},
		{Module: "m.so", Socket: "/s]"},
		{Module: "m.so", Socket: "/s", TimeoutMS: -1},
		{Module: "m.so", Socket: "/s", TimeoutMS: MaxTimeoutMS + 1},
		// pam_iamdb.so refuses a longer socket= at every login: say so when writing the file.
		{Module: "m.so", Socket: "/" + strings.Repeat("s", MaxSocketPathBytes)},
	} {
		if s, err := PAMService(p); err == nil {
			t.Errorf("PAMService(%+v) = %q, want an error", p, s)
		}
	}
}

func TestMariaDBConf(t *testing.T) {
	t.Parallel()
	var settings []string
	for _, l := range strings.Split(MariaDBConf(), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			settings = append(settings, l)
		}
	}
	want := []string{"[mariadb]", "plugin_load_add = auth_pam_v1", "pam_use_cleartext_plugin = ON"}
	if !slices.Equal(settings, want) {
		t.Errorf("MariaDBConf settings = %q, want %q", settings, want)
	}
}

// FuzzApplyHBA: whatever the existing file, ApplyHBA either refuses it with
// ErrBrokenMarkers or returns a file that holds the block once, keeps every line outside
// the old block, and is a fixed point.
func FuzzApplyHBA(f *testing.F) {
	block, _ := HBABlock(HBA{})
	f.Add(everyoneElse)
	f.Add(block + everyoneElse)
	f.Add(BeginMarker + "\n")
	f.Add(EndMarker)
	f.Add("x\n" + block + "y")
	f.Fuzz(func(t *testing.T, existing string) {
		if len(existing) > 1<<16 {
			return
		}
		got, err := ApplyHBA(existing, block)
		if err != nil {
			if !errors.Is(err, ErrBrokenMarkers) {
				t.Fatalf("ApplyHBA error %v is not ErrBrokenMarkers", err)
			}
			return
		}
		markers := 0
		for _, l := range strings.Split(got, "\n") {
			if t := strings.TrimSpace(l); strings.HasPrefix(t, BeginMarker) || strings.HasPrefix(t, EndMarker) {
				markers++
			}
		}
		if markers != 2 {
			t.Fatalf("ApplyHBA(%q) = %q: not one block", existing, got)
		}
		again, err := ApplyHBA(got, block)
		if err != nil || again != got {
			t.Fatalf("ApplyHBA not idempotent on %q: %q, %v", existing, again, err)
		}
		if !strings.Contains(existing, BeginMarker) && got != block+existing {
			t.Fatalf("ApplyHBA(%q) = %q, want the block prepended", existing, got)
		}
	})
}

// FuzzHBABlock: a service name HBABlock accepts never breaks a line, and the block
// always ends in the two rejects.
func FuzzHBABlock(f *testing.F) {
	f.Add("iamdb", "10.0.0.1")
	f.Add("a b", "::1")
	f.Add("x\ny", "")
	f.Fuzz(func(t *testing.T, svc, src string) {
		h := HBA{Service: svc}
		if a, err := netip.ParseAddr(src); err == nil {
			h.GatewaySource = a
		}
		b, err := HBABlock(h)
		if err != nil {
			return
		}
		lines := strings.Split(strings.TrimSuffix(b, "\n"), "\n")
		n := len(lines)
		if strings.Fields(lines[n-3])[4] != "reject" || strings.Fields(lines[n-2])[3] != "reject" {
			t.Fatalf("HBABlock(%q, %q) does not end in the rejects:\n%s", svc, src, b)
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "#") && len(strings.Fields(l)) > 6 {
				t.Fatalf("HBABlock(%q): line %q has extra fields", svc, l)
			}
		}
	})
}

// FuzzPAMService: an accepted module and socket always give exactly two rule lines.
func FuzzPAMService(f *testing.F) {
	f.Add("pam_iamdb.so", "/run/s", 2000)
	f.Add("a b", "/s\n", 0)
	f.Fuzz(func(t *testing.T, mod, sock string, ms int) {
		s, err := PAMService(PAM{Module: mod, Socket: sock, TimeoutMS: ms})
		if err != nil {
			return
		}
		if len(sock) > MaxSocketPathBytes {
			t.Fatalf("PAMService accepted a socket path of %d bytes", len(sock))
		}
		n := 0
		for _, l := range strings.Split(s, "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				n++
				if f := strings.Fields(l); f[2] != mod || f[3] != "socket="+sock {
					t.Fatalf("PAMService(%q, %q) line %q", mod, sock, l)
				}
			}
		}
		if n != 2 {
			t.Fatalf("PAMService(%q, %q) has %d rule lines:\n%s", mod, sock, n, s)
		}
	})
}
