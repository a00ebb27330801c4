package iam

import (
	"time"

	"github.com/iamdb/iamdb/policy"
)

// adminPolicyARN is AWS's AdministratorAccess managed policy, which iamdb ships built in.
const adminPolicyARN = "arn:aws:iam::aws:policy/AdministratorAccess"

// builtinPolicy is an AWS managed policy: read-only, present in every account.
type builtinPolicy struct {
	name, id, path, description, document string
	created                               time.Time
	compiled                              *policy.Policy
}

var builtinPolicies = map[string]*builtinPolicy{
	adminPolicyARN: {
		name:        "AdministratorAccess",
		id:          "ANPAIWMBCKSKIEE64ZLYK", // AWS's own ID for it
		path:        "/",
		description: "Provides full access to AWS services and resources.",
		document:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		created:     time.Date(2015, 2, 6, 18, 39, 46, 0, time.UTC),
	},
}

func init() {
	for a, b := range builtinPolicies {
		p, err := policy.Parse([]byte(b.document), policy.WithName(a))
		if err != nil {
			panic("iam: built-in policy " + a + ": " + err.Error())
		}
		b.compiled = p
	}
}

func (b *builtinPolicy) info(arn string, attachments, boundaries int) Policy {
	return Policy{
		PolicyName: b.name, PolicyID: b.id, ARN: arn, Path: b.path, DefaultVersionID: "v1",
		AttachmentCount: attachments, PermissionsBoundaryUsageCount: boundaries, IsAttachable: true,
		Description: b.description, CreateDate: b.created, UpdateDate: b.created,
	}
}
