package iam

import (
	"context"
	"strings"

	"github.com/iamdb/iamdb/internal/store"
)

// pathList describes a List action over an account's documents of one kind under a path
// prefix (ListUsers, ListGroups, ListRoles, ListInstanceProfiles): D is the stored
// document, E what the action returns.
type pathList[D, E any] struct {
	action string                                          // "iam:ListUsers"
	kind   string                                          // kindUser
	arn    func(acct, path, name string) string            // authorized at path "/" and no name
	path   func(d *D) string                               // the document's path
	conv   func(tx store.Tx, acct string, d *D) (E, error) // what the action returns of d
	key    func(e *E) string                               // the order of the page
}

// listByPath checks the caller and in's path prefix, authorizes l.action, and returns a
// page of the account's documents whose path has the prefix, converted, by key.
func listByPath[D, E any](ctx context.Context, s *Service, c *Caller, in ListInput, l *pathList[D, E]) ([]E, bool, string, error) {
	if err := needCaller(c); err != nil {
		return nil, false, "", err
	}
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return nil, false, "", err
	}
	if err := s.authorize(ctx, c, l.action, l.arn(c.Account, "/", ""), nil); err != nil {
		return nil, false, "", err
	}
	var all []E
	err = s.st.View(ctx, func(tx store.Tx) error {
		return eachDoc(tx, l.kind, accountPrefix(c.Account), func(_ string, d *D) error {
			if !strings.HasPrefix(l.path(d), prefix) {
				return nil
			}
			e, err := l.conv(tx, c.Account, d)
			if err != nil {
				return err
			}
			all = append(all, e)
			return nil
		})
	})
	if err != nil {
		return nil, false, "", err
	}
	return page(all, l.key, in.Marker, in.MaxItems)
}
