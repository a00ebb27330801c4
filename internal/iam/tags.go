package iam

import (
	"context"

	"github.com/iamdb/iamdb/internal/store"
)

func tagsOf(e entity) *[]Tag {
	switch d := e.(type) {
	case *userDoc:
		return &d.Tags
	case *roleDoc:
		return &d.Tags
	}
	return nil
}

// needTags refuses a Tag action without tags.
func needTags(tags []Tag) error {
	if len(tags) == 0 {
		return validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	return nil
}

// addTags adds or replaces tags in *have (see checkTags).
func addTags(have *[]Tag, tags []Tag) error {
	merged, err := checkTags(*have, tags)
	if err != nil {
		return err
	}
	*have = merged
	return nil
}

// removeTags removes the tags with keys from *have (see untag).
func removeTags(have *[]Tag, keys []string) error {
	rest, err := untag(*have, keys)
	if err != nil {
		return err
	}
	*have = rest
	return nil
}

func (s *Service) tagEntity(ctx context.Context, c *Caller, ek *entityKind, name string, tags []Tag) error {
	if err := needTags(tags); err != nil {
		return err
	}
	return s.updateEntity(ctx, c, ek, "iam:Tag"+ek.title, name, &Request{RequestTags: tags}, func(tx store.Tx, d entity) error {
		if err := addTags(tagsOf(d), tags); err != nil {
			return err
		}
		return ek.save(tx, c.Account, d)
	})
}

func (s *Service) untagEntity(ctx context.Context, c *Caller, ek *entityKind, name string, keys []string) error {
	return s.updateEntity(ctx, c, ek, "iam:Untag"+ek.title, name, &Request{TagKeys: keys}, func(tx store.Tx, d entity) error {
		if err := removeTags(tagsOf(d), keys); err != nil {
			return err
		}
		return ek.save(tx, c.Account, d)
	})
}

func (s *Service) listEntityTags(ctx context.Context, c *Caller, ek *entityKind, in ListNamedInput) (ListTagsOutput, error) {
	var all []Tag
	err := s.viewEntity(ctx, c, ek, "iam:List"+ek.title+"Tags", in.Name, func(tx store.Tx, d entity) error {
		all = append(all, *tagsOf(d)...)
		return nil
	})
	if err != nil {
		return ListTagsOutput{}, err
	}
	return pageTags(all, in)
}

func pageTags(all []Tag, in ListNamedInput) (ListTagsOutput, error) {
	key := func(t *Tag) string { return lower(t.Key) }
	var out ListTagsOutput
	var err error
	out.Tags, out.IsTruncated, out.Marker, err = sortedPage(all, key, in.Marker, in.MaxItems)
	if out.Tags == nil {
		out.Tags = []Tag{}
	}
	return out, err
}

// TagUser adds or replaces tags of a user (at most 50 in all; keys compare
// case-insensitively).
func (s *Service) TagUser(ctx context.Context, c *Caller, name string, tags []Tag) error {
	return s.tagEntity(ctx, c, users, name, tags)
}

// UntagUser removes tags from a user.
func (s *Service) UntagUser(ctx context.Context, c *Caller, name string, keys []string) error {
	return s.untagEntity(ctx, c, users, name, keys)
}

// ListUserTags lists a user's tags (in.Name is the user).
func (s *Service) ListUserTags(ctx context.Context, c *Caller, in ListNamedInput) (ListTagsOutput, error) {
	return s.listEntityTags(ctx, c, users, in)
}

// TagRole adds or replaces tags of a role.
func (s *Service) TagRole(ctx context.Context, c *Caller, name string, tags []Tag) error {
	return s.tagEntity(ctx, c, roles, name, tags)
}

// UntagRole removes tags from a role.
func (s *Service) UntagRole(ctx context.Context, c *Caller, name string, keys []string) error {
	return s.untagEntity(ctx, c, roles, name, keys)
}

// ListRoleTags lists a role's tags (in.Name is the role).
func (s *Service) ListRoleTags(ctx context.Context, c *Caller, in ListNamedInput) (ListTagsOutput, error) {
	return s.listEntityTags(ctx, c, roles, in)
}

// TagPolicy adds or replaces tags of a customer managed policy.
func (s *Service) TagPolicy(ctx context.Context, c *Caller, policyARN string, tags []Tag) error {
	if err := needTags(tags); err != nil {
		return err
	}
	return s.updatePolicy(ctx, c, "iam:TagPolicy", policyARN, &Request{RequestTags: tags}, func(tx store.Tx, ref *managedRef) error {
		if err := addTags(&ref.doc.Tags, tags); err != nil {
			return err
		}
		return putDoc(tx, kindPolicy, ref.key, ref.doc)
	})
}

// UntagPolicy removes tags from a customer managed policy.
func (s *Service) UntagPolicy(ctx context.Context, c *Caller, policyARN string, keys []string) error {
	return s.updatePolicy(ctx, c, "iam:UntagPolicy", policyARN, &Request{TagKeys: keys}, func(tx store.Tx, ref *managedRef) error {
		if err := removeTags(&ref.doc.Tags, keys); err != nil {
			return err
		}
		return putDoc(tx, kindPolicy, ref.key, ref.doc)
	})
}

// ListPolicyTags lists a managed policy's tags (in.Name is the ARN).
func (s *Service) ListPolicyTags(ctx context.Context, c *Caller, in ListNamedInput) (ListTagsOutput, error) {
	var all []Tag
	err := s.withPolicy(ctx, c, "iam:ListPolicyTags", in.Name, func(tx store.Tx, ref *managedRef) error {
		if ref.doc != nil {
			all = append(all, ref.doc.Tags...)
		}
		return nil
	})
	if err != nil {
		return ListTagsOutput{}, err
	}
	return pageTags(all, in)
}
