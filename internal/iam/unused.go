package iam

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/store"
)

// ListUnusedAccess: iamdb's own report of the access nobody uses (iamdb access unused).

// Bounds of ListUnusedAccess's days.
const (
	MinUnusedDays = 1
	MaxUnusedDays = 3650
)

// UnusedGrant is an rds-db:connect grant that allowed no login in the period: a principal
// may log in as a database user (Resource, as its policy names it) but did not.
type UnusedGrant struct {
	Principal string // the user's or role's ARN
	Resource  string // the policy's resource: arn:aws:rds-db:REGION:ACCT:dbuser:RESOURCEID/USER, maybe with wildcards
	// Database is the identifier of the registered database whose resource ID Resource
	// names, "" when it names none exactly (a wildcard) or an unregistered one.
	Database string
	DBUser   string    // the user part of Resource (maybe a wildcard)
	LastUsed time.Time // the last login it allowed, zero if none was recorded
}

// Unused principal kinds (UnusedPrincipal.Kind).
const (
	UnusedAccessKey = "access-key"
	UnusedRole      = "role"
)

// UnusedPrincipal is an active access key or a role that was not used in the period.
type UnusedPrincipal struct {
	Kind        string // UnusedAccessKey or UnusedRole
	Principal   string // the user's or role's ARN
	AccessKeyID string // UnusedAccessKey only
	Created     time.Time
	LastUsed    time.Time // zero if never
}

// UnusedAccess is ListUnusedAccess's result: what was not used since Since.
type UnusedAccess struct {
	Since      time.Time
	Grants     []UnusedGrant
	Principals []UnusedPrincipal
}

// ListUnusedAccess lists, in the caller's account, the rds-db:connect grants of users
// (their own and their groups' policies) and roles that allowed no login in the last days
// days, and the active access keys and roles not used in that time (created before it).
// Authorized as iam:GetCredentialReport and iam:GetServiceLastAccessedDetails on "*": it
// tells what both tell.
func (s *Service) ListUnusedAccess(ctx context.Context, c *Caller, days int) (UnusedAccess, error) {
	if err := needCaller(c); err != nil {
		return UnusedAccess{}, err
	}
	if days < MinUnusedDays || days > MaxUnusedDays {
		return UnusedAccess{}, invalidInput("Days must be between %d and %d, not %d.", MinUnusedDays, MaxUnusedDays, days)
	}
	for _, action := range []string{"iam:GetCredentialReport", "iam:GetServiceLastAccessedDetails"} {
		if err := s.authorize(ctx, c, action, "*", nil); err != nil {
			return UnusedAccess{}, err
		}
	}
	out := UnusedAccess{Since: s.now().UTC().Add(-time.Duration(days) * 24 * time.Hour)}
	dbs := map[string]string{} // resource ID → identifier
	for _, db := range s.Databases() {
		if db.Account == c.Account {
			dbs[db.ResourceID] = db.Identifier
		}
	}
	err := s.st.View(ctx, func(tx store.Tx) error {
		users, err := listAll(tx, kindUser, accountPrefix(c.Account))
		if err != nil {
			return err
		}
		for _, u := range decoded[userDoc](users) {
			if err := s.unusedOfUser(tx, &out, c.Account, u, dbs); err != nil {
				return err
			}
		}
		roles, err := listAll(tx, kindRole, accountPrefix(c.Account))
		if err != nil {
			return err
		}
		for _, r := range decoded[roleDoc](roles) {
			if err := s.unusedOfRole(tx, &out, c.Account, r, dbs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return UnusedAccess{}, err
	}
	sort.SliceStable(out.Grants, func(i, j int) bool {
		a, b := out.Grants[i], out.Grants[j]
		return a.Principal < b.Principal || a.Principal == b.Principal && a.Resource < b.Resource
	})
	sort.SliceStable(out.Principals, func(i, j int) bool {
		a, b := out.Principals[i], out.Principals[j]
		return a.Principal < b.Principal || a.Principal == b.Principal && a.AccessKeyID < b.AccessKeyID
	})
	return out, nil
}

// unusedOfUser adds to out user u's unused grants (its own and its groups' policies) and
// its active access keys created before out.Since and not used since.
func (s *Service) unusedOfUser(tx store.Tx, out *UnusedAccess, account string, u *userDoc, dbs map[string]string) error {
	a := userARN(account, u.Path, u.Name)
	docs, err := documentsOf(tx, account, &u.holder)
	if err != nil {
		return err
	}
	for _, g := range u.Groups {
		var gd groupDoc
		if ok, err := getDoc(tx, kindGroup, entityKey(account, g), &gd); err != nil {
			return err
		} else if ok {
			more, err := documentsOf(tx, account, &gd.holder)
			if err != nil {
				return err
			}
			docs = append(docs, more...)
		}
	}
	if err := s.unusedGrants(tx, out, a, "user/"+entityKey(account, u.Name), docs, dbs); err != nil {
		return err
	}
	for _, akid := range u.Keys {
		k, ok, err := loadKey(tx, akid)
		if err != nil {
			return err
		}
		if !ok || k.Status != StatusActive || !k.Created.Before(out.Since) {
			continue
		}
		lu, err := s.keyLastUsed(tx, akid)
		if err != nil {
			return err
		}
		if lu.Date.Before(out.Since) {
			out.Principals = append(out.Principals, UnusedPrincipal{Kind: UnusedAccessKey, Principal: a, AccessKeyID: akid,
				Created: k.Created, LastUsed: lu.Date})
		}
	}
	return nil
}

// unusedOfRole adds to out role r's unused grants and the role itself if it was created
// before out.Since and not used since.
func (s *Service) unusedOfRole(tx store.Tx, out *UnusedAccess, account string, r *roleDoc, dbs map[string]string) error {
	a := roleARN(account, r.Path, r.Name)
	docs, err := documentsOf(tx, account, &r.holder)
	if err != nil {
		return err
	}
	if err := s.unusedGrants(tx, out, a, "role/"+entityKey(account, r.Name), docs, dbs); err != nil {
		return err
	}
	if !r.Created.Before(out.Since) {
		return nil
	}
	var lu lastUsedDoc
	if _, err := getDoc(tx, kindLastUsed, lastUsedRoleKey(account, r.Name), &lu); err != nil {
		return err
	}
	if p, ok := pending(&s.usage.roles, entityKey(account, r.Name)); ok && p.Date.After(lu.Date) {
		lu = p
	}
	if lu.Date.Before(out.Since) {
		out.Principals = append(out.Principals, UnusedPrincipal{Kind: UnusedRole, Principal: a, Created: r.Created, LastUsed: lu.Date})
	}
	return nil
}

// unusedGrants adds to out the rds-db:connect resources docs allow the principal pk (ARN
// a) that allowed no login since out.Since.
func (s *Service) unusedGrants(tx store.Tx, out *UnusedAccess, a, pk string, docs []string, dbs map[string]string) error {
	var resources []string
	seen := map[string]bool{}
	for _, st := range allowStatements(docs) {
		if !st.allows("rds-db:connect") {
			continue
		}
		rs := st.resources
		if len(st.notResources) > 0 {
			rs = []string{"*"}
		}
		for _, r := range rs {
			if !seen[r] && mayNameConnect(r) {
				seen[r] = true
				resources = append(resources, r)
			}
		}
	}
	if len(resources) == 0 {
		return nil
	}
	logins, err := s.advisorRecords(tx, lastUsedLoginPrefix, []string{pk})
	if err != nil {
		return err
	}
	for _, r := range resources {
		var last time.Time
		for k, d := range logins {
			_, connectARN, _ := strings.Cut(k, " ")
			if globMatch(r, connectARN) && d.Date.After(last) {
				last = d.Date
			}
		}
		if !last.Before(out.Since) {
			continue
		}
		g := UnusedGrant{Principal: a, Resource: r, LastUsed: last}
		if _, rest, ok := strings.Cut(r, ":dbuser:"); ok {
			rid, user, _ := strings.Cut(rest, "/")
			g.Database, g.DBUser = dbs[rid], user
		}
		out.Grants = append(out.Grants, g)
	}
	return nil
}

// mayNameConnect reports whether a policy resource can name an rds-db:connect resource.
func mayNameConnect(r string) bool {
	if r == "*" {
		return true
	}
	parts := strings.SplitN(r, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && globMatch(parts[2], "rds-db")
}
