package iam

import (
	"strings"

	"github.com/iamdb/iamdb/internal/store"
)

// entity is what users, groups and roles share for policies: their documents embed a
// holder.
type entity interface {
	hold() *holder
	entityName() string
	entityPath() string
	entityID() string
}

func (d *userDoc) hold() *holder       { return &d.holder }
func (d *groupDoc) hold() *holder      { return &d.holder }
func (d *roleDoc) hold() *holder       { return &d.holder }
func (d *userDoc) entityName() string  { return d.Name }
func (d *groupDoc) entityName() string { return d.Name }
func (d *roleDoc) entityName() string  { return d.Name }
func (d *userDoc) entityPath() string  { return d.Path }
func (d *groupDoc) entityPath() string { return d.Path }
func (d *roleDoc) entityPath() string  { return d.Path }
func (d *userDoc) entityID() string    { return d.ID }
func (d *groupDoc) entityID() string   { return d.ID }
func (d *roleDoc) entityID() string    { return d.ID }

// entityKind describes users, groups or roles for the operations they share.
type entityKind struct {
	kind        string // kindUser, kindGroup, kindRole
	title       string // "User", "Group", "Role": in action names
	field       string // "userName", …
	maxName     int
	inlineLimit int    // all inline policies together, characters without white space
	inlineQuota string // quota name in LimitExceeded
	maxAttached int
}

var (
	users  = &entityKind{kind: kindUser, title: "User", field: "userName", maxName: maxUserName, inlineLimit: 2048, inlineQuota: "UserPolicySize", maxAttached: 10}
	groups = &entityKind{kind: kindGroup, title: "Group", field: "groupName", maxName: maxGroupName, inlineLimit: 5120, inlineQuota: "GroupPolicySize", maxAttached: 10}
	roles  = &entityKind{kind: kindRole, title: "Role", field: "roleName", maxName: maxRoleName, inlineLimit: 10240, inlineQuota: "RolePolicySize", maxAttached: 10}
)

func entityKindOf(kind string) *entityKind {
	switch kind {
	case kindUser:
		return users
	case kindGroup:
		return groups
	}
	return roles
}

func (k *entityKind) newDoc() entity {
	switch k.kind {
	case kindUser:
		return &userDoc{}
	case kindGroup:
		return &groupDoc{}
	}
	return &roleDoc{}
}

func (k *entityKind) arn(acct, path, name string) string {
	return iamARN(acct, k.kind, path, name)
}

func (k *entityKind) notFound(name string) *Error {
	return noSuchEntity("The %s with name %s cannot be found.", k.kind, name)
}

func (k *entityKind) load(tx store.Tx, acct, name string) (entity, bool, error) {
	d := k.newDoc()
	ok, err := getDoc(tx, k.kind, entityKey(acct, name), d)
	return d, ok, err
}

func (k *entityKind) save(tx store.Tx, acct string, d entity) error {
	return putDoc(tx, k.kind, entityKey(acct, d.entityName()), d)
}

func lower(s string) string { return strings.ToLower(s) }
