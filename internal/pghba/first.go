package pghba

import (
	"net/netip"
	"slices"
)

// Login is one connection attempt as pg_hba.conf sees it: a TCP connection over TLS (the
// gateway's certificate logins) from Addr, as User to Database.
type Login struct {
	Database string
	User     Member // the role and every role it is a member of
	Addr     netip.Addr
}

// FirstMatch returns the line of rules that PostgreSQL would pick for l (the first whose
// type, database, user and address match), and found false if none does: PostgreSQL then
// refuses the login. known is false when a line before any match names its address in a
// way the view does not resolve (a host name, samehost, samenet): the answer is then
// that line, and it may or may not match. Lines with errors are skipped as PostgreSQL
// refuses to load such a file (the view shows the file on disk).
func FirstMatch(rules []Rule, l Login) (r Rule, found, known bool) {
	for _, r := range rules {
		if r.Err != "" || !slices.Contains([]string{"host", "hostssl", "hostnogssenc"}, r.Type) {
			continue
		}
		if !r.matchesDatabase(l) || !r.matches(l.User) {
			continue
		}
		ps, ok := r.prefixes()
		if !ok {
			return r, true, false
		}
		if slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(l.Addr.Unmap()) }) {
			return r, true, true
		}
	}
	return Rule{}, false, true
}

// matchesDatabase reports whether the line's database column matches l.
func (r Rule) matchesDatabase(l Login) bool {
	for _, d := range r.Databases {
		switch d {
		case "all":
			return true
		case "sameuser":
			if l.Database == l.User.Name {
				return true
			}
		case "samerole", "samegroup":
			if slices.Contains(l.User.Groups, l.Database) {
				return true
			}
		case "replication":
		default:
			if d == l.Database {
				return true
			}
		}
	}
	return false
}
