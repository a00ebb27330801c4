package awsquery

import (
	"fmt"

	"github.com/iamdb/iamdb/internal/iam"
)

// Decoding of the parameters the actions share.

// maxItems reads MaxItems (IAM) or MaxRecords (RDS): absent is 0 (the domain's default);
// present, it must lie in [lo, hi] as AWS's models constrain it.
func (c *call) maxItems(key string, lo, hi int) (int, error) {
	n, err := c.f.integer(key)
	if err != nil || n == nil {
		return 0, err
	}
	if *n < lo || *n > hi {
		return 0, &queryError{400, "ValidationError", fmt.Sprintf(
			"1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value between %d and %d",
			*n, lowerFirst(key), lo, hi)}
	}
	return *n, nil
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// listInput reads PathPrefix, Marker and MaxItems.
func (c *call) listInput() (iam.ListInput, error) {
	n, err := c.maxItems("MaxItems", 1, 1000)
	return iam.ListInput{PathPrefix: c.f.str("PathPrefix"), Marker: c.f.str("Marker"), MaxItems: n}, err
}

// named reads a ListNamedInput whose name is the parameter nameKey.
func (c *call) named(nameKey string) (iam.ListNamedInput, error) {
	n, err := c.maxItems("MaxItems", 1, 1000)
	return iam.ListNamedInput{Name: c.f.str(nameKey), Marker: c.f.str("Marker"), MaxItems: n}, err
}

// tags reads Tags.member.N.Key / .Value.
func (c *call) tags() ([]iam.Tag, error) {
	return structList(c.f, "Tags.member.", func(p string) (iam.Tag, error) {
		k, err := c.f.required(p + "Key")
		return iam.Tag{Key: k, Value: c.f.str(p + "Value")}, err
	})
}

// contextEntries reads ContextEntries.member.N.{ContextKeyName, ContextKeyType,
// ContextKeyValues.member.M}.
func (c *call) contextEntries() ([]iam.ContextEntry, error) {
	return structList(c.f, "ContextEntries.member.", func(p string) (iam.ContextEntry, error) {
		vals, err := c.f.strList(p + "ContextKeyValues.member.")
		return iam.ContextEntry{Key: c.f.str(p + "ContextKeyName"), Type: c.f.str(p + "ContextKeyType"), Values: vals}, err
	})
}

// policyARNs reads STS's PolicyArns.member.N.arn.
func (c *call) policyARNs() ([]string, error) {
	return structList(c.f, "PolicyArns.member.", func(p string) (string, error) {
		return c.f.required(p + "arn")
	})
}

// filters reads RDS's Filters.Filter.N.Name / .Values.Value.M.
func (c *call) filters() ([]iam.Filter, error) {
	return structList(c.f, "Filters.Filter.", func(p string) (iam.Filter, error) {
		name, err := c.f.required(p + "Name")
		if err != nil {
			return iam.Filter{}, err
		}
		vals, err := c.f.strList(p + "Values.Value.")
		return iam.Filter{Name: name, Values: vals}, err
	})
}

// intParam reads an optional integer parameter; absent is 0.
func (c *call) intParam(key string) (int, error) {
	n, err := c.f.integer(key)
	if err != nil || n == nil {
		return 0, err
	}
	return *n, nil
}

// boolParam reads an optional boolean parameter; absent is false.
func (c *call) boolParam(key string) (bool, error) {
	b, err := c.f.boolean(key)
	if err != nil || b == nil {
		return false, err
	}
	return *b, nil
}
