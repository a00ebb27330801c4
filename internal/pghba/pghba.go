package pghba

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Rule is a line of pg_hba.conf as the view pg_hba_file_rules shows it.
type Rule struct {
	Line      int
	Type      string // local, host, hostssl, hostnossl, hostgssenc, hostnogssenc
	Databases []string
	Users     []string // all, +group, or a role's name
	Address   string   // all, samehost, samenet, an IP address or a host name; "" for local
	Netmask   string   // with an IP address
	Method    string
	Options   []string // the method's options, "name=value" (pamservice=iamdb)
	Err       string   // why PostgreSQL could not parse the line
}

// DefaultPAMService is the PAM service of a pam line without a pamservice option.
const DefaultPAMService = "postgresql"

// PAMService returns the PAM service a pam line names (its pamservice option, else
// DefaultPAMService), lower-cased as Linux-PAM looks service files up; "" for a line of
// another method.
func (r Rule) PAMService() string {
	if r.Method != "pam" {
		return ""
	}
	svc := DefaultPAMService
	for _, o := range r.Options {
		if v, ok := strings.CutPrefix(o, "pamservice="); ok {
			svc = v
		}
	}
	return strings.ToLower(svc)
}

// Options is what Check needs to know beyond pg_hba.conf, decided by the caller.
type Options struct {
	// NativeServices are the PAM services of iamdb's native mode: services whose auth
	// stack is pam_iamdb.so, required, so that only an IAM token the local verifier
	// allows gets through (iamdb doctor reads /etc/pam.d to decide). A hostssl pam line
	// naming one is how members of rds_iam log in natively: it counts like a cert line.
	// On any other line type it is a warning: the token would travel without TLS.
	// Compared case-insensitively.
	NativeServices []string
}

// Warning is one of Check's findings.
type Warning struct {
	// Line is the line's number in its file; 0 if PostgreSQL did not say.
	Line int
	// Native is set when the line is a pam line of a native service that members of
	// rds_iam reach without TLS (its fix differs: make it hostssl).
	Native bool
	// Text says what is wrong, beginning "line N: ".
	Text string
}

// String returns w.Text.
func (w Warning) String() string { return w.Text }

// Member is a role that is a member of rds_iam, and every role it is a member of
// (rds_iam among them), as pg_hba.conf's +group sees it: through other roles, but not
// because it is a superuser.
type Member struct {
	Name   string // "" for the member yet to be created
	Groups []string
}

// connection kinds, as pg_hba.conf's line types tell them apart.
const (
	kindLocal = "over the unix socket"
	kindSSL   = "over TLS"
	kindGSS   = "over GSS encryption"
	kindPlain = "unencrypted over TCP"
)

var lineKinds = map[string][]string{
	"local":        {kindLocal},
	"host":         {kindSSL, kindGSS, kindPlain},
	"hostssl":      {kindSSL},
	"hostnossl":    {kindGSS, kindPlain},
	"hostgssenc":   {kindGSS},
	"hostnogssenc": {kindSSL, kindPlain},
}

var anyAddress = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

// prefixes returns the addresses a line matches; known is false for host names, samehost
// and samenet, whose addresses the view does not show.
func (r Rule) prefixes() (p []netip.Prefix, known bool) {
	switch r.Address {
	case "all":
		return anyAddress, true
	case "", "samehost", "samenet":
		return nil, false
	}
	addr, err := netip.ParseAddr(r.Address)
	if err != nil {
		return nil, false // a host name
	}
	bits := addr.BitLen()
	if r.Netmask != "" {
		mask, err := netip.ParseAddr(r.Netmask)
		if err != nil || mask.BitLen() != addr.BitLen() {
			return nil, false
		}
		bits = 0
		for _, b := range mask.AsSlice() {
			for i := 7; i >= 0 && b&(1<<i) != 0; i-- {
				bits++
			}
			if b != 0xff {
				break
			}
		}
	}
	return []netip.Prefix{netip.PrefixFrom(addr, bits).Masked()}, true
}

// matches reports whether the line's user column matches m.
func (r Rule) matches(m Member) bool {
	for _, u := range r.Users {
		switch {
		case u == "all":
			return true
		case strings.HasPrefix(u, "+"):
			if slices.Contains(m.Groups, u[1:]) {
				return true
			}
		case m.Name != "" && u == m.Name:
			return true
		}
	}
	return false
}

// String writes the line as pg_hba.conf would, the netmask folded into the address; of
// the options, only pamservice.
func (r Rule) String() string {
	addr := r.Address
	if r.Netmask != "" {
		if p, ok := r.prefixes(); ok && len(p) == 1 {
			addr = p[0].String()
		}
	}
	f := []string{r.Type, strings.Join(r.Databases, ","), strings.Join(r.Users, ",")}
	if addr != "" {
		f = append(f, addr)
	}
	f = append(f, r.Method)
	for _, o := range r.Options {
		// Only pamservice: other options may hold secrets (ldapbindpasswd, radiussecrets).
		if strings.HasPrefix(o, "pamservice=") {
			f = append(f, o)
		}
	}
	return strings.Join(f, " ")
}

// cover is what a cert or reject line takes out of reach of later lines, for one
// member and connection kind.
type cover struct {
	prefixes  []netip.Prefix
	databases []string
}

// covers reports whether c takes every database and address of r (for the kind it was
// recorded for) out of reach.
func (c cover) covers(r Rule, local bool) bool {
	if !slices.Contains(c.databases, "all") {
		for _, d := range r.Databases {
			if d == "all" || !slices.Contains(c.databases, d) {
				return false
			}
		}
	}
	if local {
		return true
	}
	want, known := r.prefixes()
	if !known {
		want = anyAddress
	}
	for _, p := range want {
		if !slices.ContainsFunc(c.prefixes, func(q netip.Prefix) bool { return q.Bits() <= p.Bits() && q.Contains(p.Addr()) }) {
			return false
		}
	}
	return true
}

// Check returns a warning for each line that lets a member of rds_iam (one of members,
// or one yet to be created) log in without an IAM token — neither with a client
// certificate (the gateway) nor through one of opts.NativeServices over TLS (native
// mode) — for each pam line of a native service that members reach without TLS, and
// for each line PostgreSQL could not parse.
func Check(rules []Rule, members []Member, opts Options) []Warning {
	members = append([]Member{{Groups: []string{"rds_iam"}}}, members...)
	native := make([]string, len(opts.NativeServices))
	for i, s := range opts.NativeServices {
		native[i] = strings.ToLower(s)
	}
	type finding struct {
		rule   Rule
		who    []string
		kinds  []string
		native bool // a native service's pam line, reached without TLS
	}
	found := map[int]*finding{} // by the rule's index: line numbers repeat across included files
	for _, m := range members {
		covered := map[string][]cover{}
		for i, r := range rules {
			if r.Err != "" || !r.matches(m) {
				continue
			}
			kinds := lineKinds[r.Type]
			if r.Method == "reject" || r.Method == "cert" {
				p, _ := r.prefixes()
				for _, k := range kinds {
					covered[k] = append(covered[k], cover{p, r.Databases})
				}
				continue
			}
			isNative := r.Method == "pam" && slices.Contains(native, r.PAMService())
			if isNative && slices.Contains(kinds, kindSSL) {
				// The member's TLS connections that reach this line end here: with a
				// token the verifier allows, or refused.
				p, _ := r.prefixes()
				covered[kindSSL] = append(covered[kindSSL], cover{p, r.Databases})
			}
			for _, k := range kinds {
				if isNative && k == kindSSL {
					continue
				}
				if slices.ContainsFunc(covered[k], func(c cover) bool { return c.covers(r, k == kindLocal) }) {
					continue
				}
				f := found[i]
				if f == nil {
					f = &finding{rule: r, native: isNative}
					found[i] = f
				}
				if name := m.Name; !slices.Contains(f.who, name) {
					f.who = append(f.who, name)
				}
				if !slices.Contains(f.kinds, k) {
					f.kinds = append(f.kinds, k)
				}
			}
		}
	}
	var warnings []Warning
	for _, r := range rules {
		if r.Err != "" {
			warnings = append(warnings, Warning{Line: r.Line,
				Text: fmt.Sprintf("line %d: %s (PostgreSQL keeps its previous pg_hba.conf until this is fixed)", r.Line, r.Err)})
		}
	}
	for i := range rules {
		f := found[i]
		if f == nil {
			continue
		}
		who := "any member of rds_iam"
		if named := slices.DeleteFunc(slices.Clone(f.who), func(s string) bool { return s == "" }); len(named) > 0 {
			const max = 5
			more := ""
			if len(named) > max {
				more, named = fmt.Sprintf(" and %d more", len(named)-max), named[:max]
			}
			if slices.Contains(f.who, "") {
				who = "members of rds_iam (" + strings.Join(named, ", ") + more + ")"
			} else {
				who = "the rds_iam members " + strings.Join(named, ", ") + more
			}
		}
		kinds := strings.Join(f.kinds, ", ")
		w := Warning{Line: f.rule.Line, Native: f.native}
		switch {
		case f.native:
			w.Text = fmt.Sprintf("line %d: %q has %s send IAM tokens to iamdb's PAM service %q %s: without TLS the token travels in clear, and the verifier assumes TLS (aws:SecureTransport); native mode's pam lines must be hostssl",
				f.rule.Line, f.rule.String(), who, f.rule.PAMService(), kinds)
		case f.rule.Method == "pam":
			w.Text = fmt.Sprintf("line %d: %q lets %s log in with pam %s, without the gateway's certificate or iamdb's native mode: PAM service %q is not one of iamdb's native services",
				f.rule.Line, f.rule.String(), who, kinds, f.rule.PAMService())
		default:
			w.Text = fmt.Sprintf("line %d: %q lets %s log in with %s %s, without the gateway's certificate or iamdb's native mode",
				f.rule.Line, f.rule.String(), who, f.rule.Method, kinds)
		}
		warnings = append(warnings, w)
	}
	return warnings
}

// RulesQuery reads pg_hba.conf as the server parses it now (the file on disk, which a
// reload would load), in file order.
const RulesQuery = `select line_number, type, coalesce(database, '{}'), coalesce(user_name, '{}'),
	coalesce(address, ''), coalesce(netmask, ''), coalesce(auth_method, ''), coalesce(options, '{}'),
	coalesce(error, '')
	from pg_catalog.pg_hba_file_rules`

// MembersQuery lists the roles that may log in and are members of rds_iam, with every
// role each is a member of, following pg_auth_members (as pg_hba.conf's +group does: a
// superuser is not a member of everything here).
const MembersQuery = `with recursive m(member, grp) as (
	select member, roleid from pg_catalog.pg_auth_members
	union
	select m.member, a.roleid from m join pg_catalog.pg_auth_members a on a.member = m.grp)
select r.rolname, array_agg(g.rolname::text order by g.rolname)
	from m join pg_catalog.pg_roles r on r.oid = m.member join pg_catalog.pg_roles g on g.oid = m.grp
	where r.rolcanlogin
	group by r.rolname
	having bool_or(g.rolname = 'rds_iam')
	order by r.rolname`
