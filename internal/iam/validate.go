package iam

import (
	"errors"
	"sort"
	"strings"
	"unicode"

	"github.com/iamdb/iamdb/policy"
)

// Name length limits.
const (
	maxUserName    = 64
	maxRoleName    = 64
	maxGroupName   = 128
	maxPolicyName  = 128
	maxProfileName = 128
	maxPathLen     = 512
	maxTags        = 50
	maxDescription = 1000
)

func isNameChar(r rune) bool {
	return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("_+=,.@-", r))
}

// checkName validates an IAM name field as AWS does ([\w+=,.@-]+, length 1–max).
func checkName(field, v string, max int) error {
	if v == "" {
		return validation("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", field)
	}
	if len(v) > max {
		return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", v, field, max)
	}
	for _, r := range v {
		if !isNameChar(r) {
			return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", v, field)
		}
	}
	return nil
}

// checkCreate checks the caller, the name (in field, at most max bytes) and the path of a
// Create action, and returns the path, "/" if empty.
func checkCreate(c *Caller, field, name string, max int, path string) (string, error) {
	if err := needCaller(c); err != nil {
		return "", err
	}
	if err := checkName(field, name, max); err != nil {
		return "", err
	}
	return checkPath("path", path)
}

// checkDescription validates a description.
func checkDescription(d string) error {
	if len(d) > maxDescription {
		return validation("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to %d", maxDescription)
	}
	return nil
}

// checkPath validates a path ("/" or "/…/", printable ASCII) and returns it, "/" if empty.
func checkPath(field, p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	if len(p) > maxPathLen {
		return "", validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", p, field, maxPathLen)
	}
	ok := p[0] == '/' && p[len(p)-1] == '/'
	for i := 0; i < len(p) && ok; i++ {
		ok = p[i] >= 0x21 && p[i] <= 0x7e
	}
	if !ok || strings.Contains(p, "//") {
		return "", validation("The specified value for %s is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.", field)
	}
	return p, nil
}

func checkPathPrefix(p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	if len(p) > maxPathLen || p[0] != '/' {
		return "", validation("The specified value for pathPrefix is invalid. It must begin with / and contain only alphanumeric characters and/or / characters.")
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x21 || p[i] > 0x7e {
			return "", validation("The specified value for pathPrefix is invalid. It must begin with / and contain only alphanumeric characters and/or / characters.")
		}
	}
	return p, nil
}

func isTagChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.In(r, unicode.Z) || strings.ContainsRune("_.:/=+-@", r)
}

// checkTags validates tags to add to existing ones, and returns the merged list (existing
// keys replaced in place, new ones appended). Tag keys compare case-insensitively.
func checkTags(existing, add []Tag) ([]Tag, error) {
	seen := make(map[string]bool, len(add))
	for _, t := range add {
		if t.Key == "" || len([]rune(t.Key)) > 128 {
			return nil, validation("1 validation error detected: Value '%s' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128", t.Key)
		}
		if len([]rune(t.Value)) > 256 {
			return nil, validation("1 validation error detected: Value at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256")
		}
		for _, r := range t.Key {
			if !isTagChar(r) {
				return nil, validation("1 validation error detected: Value '%s' at 'tags.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", t.Key)
			}
		}
		for _, r := range t.Value {
			if !isTagChar(r) {
				return nil, validation("1 validation error detected: Value at 'tags.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*")
			}
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, invalidInput("User-defined tag keys can't start with 'aws:'. This prefix is reserved for AWS tags.")
		}
		lk := strings.ToLower(t.Key)
		if seen[lk] {
			return nil, invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[lk] = true
	}
	out := append([]Tag(nil), existing...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if strings.EqualFold(out[i].Key, t.Key) {
				out[i] = t
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, limitExceeded("The number of tags has reached the maximum limit.")
	}
	return out, nil
}

func untag(existing []Tag, keys []string) ([]Tag, error) {
	if len(keys) > maxTags {
		return nil, validation("1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	out := existing[:0:0]
	for _, t := range existing {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(t.Key, k) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out, nil
}

func tagMap(tags []Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// parseDoc parses a policy document strictly and translates its errors to AWS's.
func parseDoc(doc string, kind policy.Kind, limit int, quota string) (*policy.Policy, error) {
	if doc == "" {
		return nil, validation("1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	p, err := policy.Parse([]byte(doc), policy.WithKind(kind), policy.WithMaxSize(limit))
	if err == nil {
		return p, nil
	}
	var se *policy.SyntaxError
	switch {
	case errors.As(err, &se):
		return nil, apiErr(CodeMalformedPolicyDocument, "%s", se.Detail())
	case errors.Is(err, policy.ErrTooLarge):
		return nil, limitExceeded("Cannot exceed quota for %s: %d", quota, limit)
	}
	return nil, apiErr(CodeMalformedPolicyDocument, "Syntax errors in policy.")
}

// paging validates MaxItems (1–1000, 100 if zero).
func maxItems(n int) (int, error) {
	switch {
	case n == 0:
		return 100, nil
	case n < 1 || n > 1000:
		return 0, validation("1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", n)
	}
	return n, nil
}

// page returns the items after marker (a sort key from a previous page), at most max of
// them, with the marker of the next page. items must be sorted by key.
func page[T any](items []T, key func(*T) string, marker string, max int) (out []T, truncated bool, next string, err error) {
	max, err = maxItems(max)
	if err != nil {
		return nil, false, "", err
	}
	start := 0
	if marker != "" {
		start = sort.Search(len(items), func(i int) bool { return key(&items[i]) > marker })
	}
	end := min(start+max, len(items))
	out = items[start:end]
	if end < len(items) {
		return out, true, key(&items[end-1]), nil
	}
	return out, false, "", nil
}

// sortedPage sorts items by key and returns a page of them (see page).
func sortedPage[T any](items []T, key func(*T) string, marker string, max int) (out []T, truncated bool, next string, err error) {
	sortByKey(items, key)
	return page(items, key, marker, max)
}

func sortByKey[T any](items []T, key func(*T) string) {
	sort.Slice(items, func(i, j int) bool { return key(&items[i]) < key(&items[j]) })
}
