package awsquery

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// The audit trail's view of a request's parameters and a response's elements: CloudTrail's
// requestParameters and responseElements, in lowerCamelCase, with every secret removed.

// secretNames are parameter and element names (lower case) that always hold a secret.
var secretNames = map[string]bool{
	"password":            true,
	"newpassword":         true,
	"oldpassword":         true,
	"webidentitytoken":    true,
	"samlassertion":       true,
	"tokencode":           true,
	"privatekey":          true,
	"authenticationcode1": true,
	"authenticationcode2": true,
	"base32stringseed":    true,
	"qrcodepng":           true,
	"sessiontoken":        true,
	"secretaccesskey":     true,
	"signature":           true,
}

// notSecretNames are names that match secretish's patterns but hold no secret.
var notSecretNames = map[string]bool{
	"subjectfromwebidentitytoken": true, // the token's subject, which STS returns
	"passwordresetrequired":       true,
	"passwordlastused":            true,
}

// secretish reports whether a parameter or element named name may hold a secret and
// must be left out of the trail: a name of secretNames, or any name containing "secret",
// "token", "password", "signature", "privatekey" or "seed" (a deny-list by pattern, so that an
// action added later cannot leak one by a new name), unless notSecretNames allows it.
// Session names ("RoleSessionName") do not match.
func secretish(name string) bool {
	n := strings.ToLower(name)
	if notSecretNames[n] {
		return false
	}
	if secretNames[n] {
		return true
	}
	for _, p := range []string{"secret", "token", "password", "signature", "privatekey", "seed"} {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// maxListIndex bounds a list index in a parameter name (Tags.member.N): larger ones
// are kept as plain names. The form parser bounds the number of parameters.
const maxListIndex = 10000

// requestParameters converts a request's form into CloudTrail's requestParameters:
// names in lowerCamelCase, lists (Tags.member.1.Key, Filters.Filter.1.Values.Value.2,
// TransitiveTagKeys.member.1) as arrays of objects or strings, values as sent (policy
// documents stay strings). Action, Version, the presigning parameters (X-Amz-*) and every
// parameter whose name, or the name of a list or member it belongs to, is secretish are
// left out. It returns nil when nothing is left.
func requestParameters(f *form) map[string]any {
	if f == nil {
		return nil
	}
	root := &pnode{}
	for k, v := range f.m {
		if k == "Action" || k == "Version" || strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			continue
		}
		segs := strings.Split(k, ".")
		if anySecret(segs) {
			continue
		}
		root.put(segs, v)
	}
	out, _ := root.value().(map[string]any)
	if len(out) == 0 {
		return nil
	}
	return out
}

func anySecret(segs []string) bool {
	for _, s := range segs {
		if secretish(s) {
			return true
		}
	}
	return false
}

// pnode is a node of the parameter tree requestParameters builds: a leaf value, an object
// (fields) or a list (items by index).
type pnode struct {
	leaf   *string
	fields map[string]*pnode
	items  map[int]*pnode
}

func listIndex(s string) (int, bool) {
	if s == "" || len(s) > 5 || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxListIndex {
		return 0, false
	}
	return n, true
}

// put stores v under the path segs. A name followed by an index ("Foo.1") or by a
// wrapper and an index ("Tags.member.1", "Filters.Filter.1") is a list named by the name.
func (n *pnode) put(segs []string, v string) {
	for len(segs) > 0 {
		name := lowerFirst(segs[0])
		var idx int
		var ok bool
		rest := segs[1:]
		if len(rest) >= 1 {
			if idx, ok = listIndex(rest[0]); ok {
				rest = rest[1:]
			} else if len(rest) >= 2 {
				if idx, ok = listIndex(rest[1]); ok {
					rest = rest[2:]
				}
			}
		}
		child := childNode(&n.fields, name)
		if ok {
			child = childNode(&child.items, idx)
		}
		n, segs = child, rest
	}
	n.leaf = &v
}

// childNode returns the node under k in *m, adding an empty one (and the map) if there
// is none.
func childNode[K comparable](m *map[K]*pnode, k K) *pnode {
	if *m == nil {
		*m = map[K]*pnode{}
	}
	c := (*m)[k]
	if c == nil {
		c = &pnode{}
		(*m)[k] = c
	}
	return c
}

// value returns the JSON value of n: a list's items in index order, an object's fields,
// a leaf's string. A node that is both (a malformed form) keeps its fields.
func (n *pnode) value() any {
	switch {
	case n.fields != nil:
		m := make(map[string]any, len(n.fields))
		for k, c := range n.fields {
			m[k] = c.value()
		}
		return m
	case n.items != nil:
		idx := make([]int, 0, len(n.items))
		for i := range n.items {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		out := make([]any, 0, len(idx))
		for _, i := range idx {
			out = append(out, n.items[i].value())
		}
		return out
	case n.leaf != nil:
		return *n.leaf
	}
	return nil
}

// responseElements converts an action's result (the value encoded inside <ActionResult>)
// into CloudTrail's responseElements: element names in lowerCamelCase, lists as arrays,
// empty optional elements left out, and every secretish element (SecretAccessKey,
// SessionToken) removed. nil gives nil.
func responseElements(res any) map[string]any {
	if res == nil {
		return nil
	}
	m, _ := toJSONValue(reflect.ValueOf(res), 0).(map[string]any)
	if len(m) == 0 {
		return nil
	}
	return m
}

// maxDepth bounds the recursion of toJSONValue (the shapes nest a few levels).
const maxDepth = 16

func toJSONValue(v reflect.Value, depth int) any {
	if depth > maxDepth {
		return nil
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint()
	case reflect.Slice, reflect.Array:
		out := make([]any, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			out = append(out, toJSONValue(v.Index(i), depth+1))
		}
		return out
	case reflect.Struct:
		t := v.Type()
		// list[T] (<member> elements) and RDS's wrappers (<DBInstance> elements): a
		// struct whose only field is a slice is that slice.
		if t.NumField() == 1 && t.Field(0).Type.Kind() == reflect.Slice {
			return toJSONValue(v.Field(0), depth+1)
		}
		m := map[string]any{}
		structFields(v, m, depth)
		return m
	}
	return nil
}

// structFields adds v's exported fields to m under their XML names in lowerCamelCase;
// embedded structs' fields are flattened into m.
func structFields(v reflect.Value, m map[string]any, depth int) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		fv := v.Field(i)
		if sf.Anonymous && fv.Kind() == reflect.Struct {
			structFields(fv, m, depth+1) // page, whose fields are exported
			continue
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("xml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || strings.Contains(opts, "attr") {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if secretish(name) || strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		if fv.Kind() == reflect.Pointer && fv.IsNil() {
			continue
		}
		m[lowerFirst(name)] = toJSONValue(fv, depth+1)
	}
}
