package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/store"
)

// Kinds of store items; see the package documentation for the layout.
const (
	kindAccount  = "account"
	kindUser     = "user"
	kindGroup    = "group"
	kindRole     = "role"
	kindPolicy   = "policy"
	kindProfile  = "profile"
	kindOIDC     = "oidc"
	kindKey      = "accesskey"
	kindID       = "id"
	kindAttach   = "attach"
	kindBoundary = "boundary"
	kindLastUsed = "lastused"
	kindDB       = "db"
	// Console sign-in and MFA: read only by API calls in their own transactions, never by
	// the snapshot (see the package documentation).
	kindLogin          = "login"
	kindPasswordPolicy = "pwpolicy"
	kindMFA            = "mfa"
)

type accountDoc struct {
	ID      string    `json:"id"`
	Alias   string    `json:"alias,omitempty"`
	Created time.Time `json:"created"`
}

// holder is what users, groups and roles share: inline and attached policies.
type holder struct {
	Inline   map[string]string `json:"inline,omitempty"`   // name → document as given
	Attached []string          `json:"attached,omitempty"` // managed policy ARNs, in attach order
}

type userDoc struct {
	Name     string    `json:"name"`
	ID       string    `json:"id"`
	Path     string    `json:"path"`
	Created  time.Time `json:"created"`
	Boundary string    `json:"boundary,omitempty"`
	Tags     []Tag     `json:"tags,omitempty"`
	holder
	Groups []string `json:"groups,omitempty"` // lower-case group names
	Keys   []string `json:"keys,omitempty"`   // access key IDs
}

type groupDoc struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	holder
	Members []string `json:"members,omitempty"` // lower-case user names
}

type roleDoc struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	Trust   string    `json:"trust"`
	// TrustIDs binds the user and role ARNs the trust policy names, in accounts this
	// authority holds, to their unique IDs when the policy was stored (bindTrust).
	TrustIDs    map[string]string `json:"trustIDs,omitempty"`
	Description string            `json:"description,omitempty"`
	MaxSession  int               `json:"maxSession"`
	Boundary    string            `json:"boundary,omitempty"`
	Tags        []Tag             `json:"tags,omitempty"`
	holder
	Profiles      []string  `json:"profiles,omitempty"` // lower-case instance profile names
	RevokedBefore time.Time `json:"revokedBefore,omitzero"`
}

type versionDoc struct {
	ID       string    `json:"id"`
	Document string    `json:"document"`
	Created  time.Time `json:"created"`
}

type policyDoc struct {
	Name        string       `json:"name"`
	ID          string       `json:"id"`
	Path        string       `json:"path"`
	Description string       `json:"description,omitempty"`
	Created     time.Time    `json:"created"`
	Updated     time.Time    `json:"updated"`
	Default     string       `json:"default"`
	Versions    []versionDoc `json:"versions"` // oldest first
	NextVersion int          `json:"nextVersion"`
	Tags        []Tag        `json:"tags,omitempty"`
}

func (p *policyDoc) version(id string) *versionDoc {
	for i := range p.Versions {
		if p.Versions[i].ID == id {
			return &p.Versions[i]
		}
	}
	return nil
}

type profileDoc struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	Roles   []string  `json:"roles,omitempty"` // lower-case role names
	Tags    []Tag     `json:"tags,omitempty"`
}

type oidcDoc struct {
	URL         string    `json:"url"`
	ClientIDs   []string  `json:"clientIds,omitempty"`
	Thumbprints []string  `json:"thumbprints,omitempty"`
	Created     time.Time `json:"created"`
	Tags        []Tag     `json:"tags,omitempty"`
}

type keyDoc struct {
	ID      string    `json:"id"`
	Account string    `json:"account"`
	User    string    `json:"user"` // lower-case user name
	Secret  []byte    `json:"secret"`
	Status  string    `json:"status"`
	Created time.Time `json:"created"`
}

type idDoc struct {
	Kind    string `json:"kind"`
	Account string `json:"account"`
	Name    string `json:"name"`
}

type lastUsedDoc struct {
	Date    time.Time `json:"date"`
	Service string    `json:"service,omitempty"`
	Region  string    `json:"region,omitempty"`
	Entity  string    `json:"entity,omitempty"` // the principal's ARN (advisor records)
	Name    string    `json:"name,omitempty"`   // the action as spelt (advisor records)
}

type dbDoc struct {
	Identifier     string    `json:"identifier"`
	Kind           string    `json:"kind"`
	Engine         string    `json:"engine"`
	Endpoints      []string  `json:"endpoints"`
	ReaderEndpoint string    `json:"readerEndpoint,omitempty"`
	Port           int       `json:"port"`
	Region         string    `json:"region"`
	Account        string    `json:"account"`
	ResourceID     string    `json:"resourceId"`
	IAMAuth        bool      `json:"iamAuth"`
	Created        time.Time `json:"created"`
}

func (d *dbDoc) database() Database {
	return Database{
		Identifier: d.Identifier, Kind: d.Kind, Engine: d.Engine,
		Endpoints: append([]string(nil), d.Endpoints...), ReaderEndpoint: d.ReaderEndpoint,
		Port: d.Port, Region: d.Region, Account: d.Account, ResourceID: d.ResourceID,
		IAMAuth: d.IAMAuth, Status: "available", CreateTime: d.Created,
	}
}

// Keys.

func entityKey(acct, name string) string { return acct + "/" + strings.ToLower(name) }

func dbKey(acct, region, kind, id string) string {
	return acct + "/" + region + "/" + kind + "/" + strings.ToLower(id)
}

// attachKey indexes an attachment (or boundary use) of a managed policy by an entity.
// Neither ARNs' paths nor names contain a space, so the prefix "ARN " selects one policy
// and "ARN ACCT " its uses in one account.
func attachKey(policyARN, acct, kind, lowerName string) string {
	return policyARN + " " + acct + " " + kind + " " + lowerName
}

func lastUsedKeyKey(akid string) string        { return "key/" + akid }
func lastUsedRoleKey(acct, name string) string { return "role/" + entityKey(acct, name) }

// The advisor's records in kindLastUsed: lastUsedActionPrefix + principalKey + " " +
// lower(action), and lastUsedLoginPrefix + principalKey + " " + dbuser ARN.
const (
	lastUsedActionPrefix = "act/"
	lastUsedLoginPrefix  = "login/"
)

// principalOfKey returns the store kind and entity key of an advisor record's map key
// ("user/ACCT/name …" or "role/ACCT/name …").
func principalOfKey(k string) (kind, ek string) {
	pk, _, _ := strings.Cut(k, " ")
	typ, ek, _ := strings.Cut(pk, "/")
	if typ == "role" {
		return kindRole, ek
	}
	return kindUser, ek
}
func accountPrefix(acct string) string              { return acct + "/" }
func policyUsePrefix(policyARN, acct string) string { return policyARN + " " + acct + " " }

// ARNs.

func iamARN(acct, typ, path, name string) string {
	return "arn:aws:iam::" + acct + ":" + typ + path + name
}

func userARN(acct, path, name string) string    { return iamARN(acct, "user", path, name) }
func groupARN(acct, path, name string) string   { return iamARN(acct, "group", path, name) }
func roleARN(acct, path, name string) string    { return iamARN(acct, "role", path, name) }
func policyARN(acct, path, name string) string  { return iamARN(acct, "policy", path, name) }
func profileARN(acct, path, name string) string { return iamARN(acct, "instance-profile", path, name) }
func rootARN(acct string) string                { return "arn:aws:iam::" + acct + ":root" }

func assumedRoleARN(acct, role, session string) string {
	return "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + session
}

// Documents.

func getDoc(tx store.Tx, kind, key string, v any) (bool, error) {
	it, err := tx.Get(kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(it.Value, v); err != nil {
		return false, fmt.Errorf("iam: %s %q: %w", kind, key, err)
	}
	return true, nil
}

func putDoc(tx store.Tx, kind, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(kind, key, b)
}

// createID reserves a new unique ID with prefix for an entity, retrying on the (unlikely)
// collision.
func (s *Service) createID(tx store.Tx, prefix, kind, acct, name string) (string, error) {
	b, err := json.Marshal(idDoc{Kind: kind, Account: acct, Name: strings.ToLower(name)})
	if err != nil {
		return "", err
	}
	for range 8 {
		id, err := newID(s.rand, prefix)
		if err != nil {
			return "", err
		}
		err = tx.Create(kindID, id, b)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		return id, err
	}
	return "", errors.New("iam: cannot find a free unique ID")
}

func deleteIfExists(tx store.Tx, kind, key string) error {
	if err := tx.Delete(kind, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// deleteWithID deletes the document kind/key and its entry id in the ID index.
func deleteWithID(tx store.Tx, kind, key, id string) error {
	if err := deleteIfExists(tx, kindID, id); err != nil {
		return err
	}
	return tx.Delete(kind, key)
}

// policyConflict is the DeleteConflict of deleting an entity that still has policies, nil
// if it has none.
func (h *holder) policyConflict() error {
	switch {
	case len(h.Inline) > 0:
		return deleteConflict("Cannot delete entity, must delete policies first.")
	case len(h.Attached) > 0:
		return deleteConflict("Cannot delete entity, must detach all policies first.")
	}
	return nil
}

// listAll returns every item of kind under prefix.
func listAll(tx store.Tx, kind, prefix string) ([]store.Item, error) {
	return tx.List(kind, prefix, "", 0)
}

// eachDoc calls fn with the key and the decoded document of each item of kind under prefix;
// an item that does not decode is an error.
func eachDoc[D any](tx store.Tx, kind, prefix string, fn func(key string, d *D) error) error {
	its, err := listAll(tx, kind, prefix)
	if err != nil {
		return err
	}
	for _, it := range its {
		d := new(D)
		if err := json.Unmarshal(it.Value, d); err != nil {
			return err
		}
		if err := fn(it.Key, d); err != nil {
			return err
		}
	}
	return nil
}

func removeString(list []string, s string) ([]string, bool) {
	for i, v := range list {
		if v == s {
			return append(list[:i:i], list[i+1:]...), true
		}
	}
	return list, false
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
