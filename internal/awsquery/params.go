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
	var tags []iam.Tag
	err := c.f.structList("Tags.member.", func(p string) error {
		k, err := c.f.required(p + "Key")
		if err != nil {
			return err
		}
		tags = append(tags, iam.Tag{Key: k, Value: c.f.str(p + "Value")})
		return nil
	})
	return tags, err
}

// contextEntries reads ContextEntries.member.N.{ContextKeyName, ContextKeyType,
// ContextKeyValues.member.M}.
func (c *call) contextEntries() ([]iam.ContextEntry, error) {
	var out []iam.ContextEntry
	err := c.f.structList("ContextEntries.member.", func(p string) error {
		vals, err := c.f.strList(p + "ContextKeyValues.member.")
		if err != nil {
			return err
		}
		out = append(out, iam.ContextEntry{Key: c.f.str(p + "ContextKeyName"), Type: c.f.str(p + "ContextKeyType"), Values: vals})
		return nil
	})
	return out, err
}

// policyARNs reads STS's PolicyArns.member.N.arn.
func (c *call) policyARNs() ([]string, error) {
	var out []string
	err := c.f.structList("PolicyArns.member.", func(p string) error {
		a, err := c.f.required(p + "arn")
		if err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// filters reads RDS's Filters.Filter.N.Name / .Values.Value.M.
func (c *call) filters() ([]iam.Filter, error) {
	var out []iam.Filter
	err := c.f.structList("Filters.Filter.", func(p string) error {
		name, err := c.f.required(p + "Name")
		if err != nil {
			return err
		}
		vals, err := c.f.strList(p + "Values.Value.")
		if err != nil {
			return err
		}
		out = append(out, iam.Filter{Name: name, Values: vals})
		return nil
	})
	return out, err
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
