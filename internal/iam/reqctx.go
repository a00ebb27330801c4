package iam

import (
	"context"
	"strings"

	"github.com/iamdb/iamdb/policy"
)

// Request holds what the condition keys of one request are built from, beyond the keys
// every request has (principal, time, transport, source address, region: see Authorize).
// Enforcement and both simulators build the request context from it through fill, so a
// Deny on any key means the same in SimulatePrincipalPolicy as at the API. Which keys an
// action sets is decided by actionKeys, written from AWS's Service Authorization
// Reference; a field an action does not list is ignored for it.
type Request struct {
	// ResourceTags are the tags of the entity the action is on (user, role, customer
	// managed policy, instance profile): aws:ResourceTag/key, and the older
	// iam:ResourceTag/key for users and roles. Set when the entity exists.
	ResourceTags []Tag
	// RequestTags are the tags the request sets: aws:RequestTag/key, and their keys in
	// aws:TagKeys.
	RequestTags []Tag
	// TagKeys are the tag keys a request names without values (Untag*): aws:TagKeys.
	TagKeys []string
	// PolicyARN is the managed policy attached or detached: iam:PolicyARN.
	PolicyARN string
	// PermissionsBoundary is iam:PermissionsBoundary: the boundary a create or
	// Put*PermissionsBoundary request sets, or else the boundary the target user or role
	// has now.
	PermissionsBoundary string
	// PassedToService and AssociatedResourceARN are iam:PassedToService and
	// iam:AssociatedResourceArn of iam:PassRole.
	PassedToService       string
	AssociatedResourceARN string
	// RoleSessionName, ExternalID, SourceIdentity and TransitiveTagKeys are the sts: keys
	// of the AssumeRole family.
	RoleSessionName   string
	ExternalID        string
	SourceIdentity    string
	TransitiveTagKeys []string
	// Federated are the keys of a web identity (aws:FederatedProvider, <issuer>:sub,
	// :aud, :amr), for AssumeRoleWithWebIdentity.
	Federated []ContextKey
}

// ContextKey is one request-context key with its values.
type ContextKey struct {
	Key    string
	Values []policy.Value
}

// keySet is a set of the action-specific condition keys.
type keySet uint16

const (
	keyResourceTag    keySet = 1 << iota
	keyIAMResourceTag        // iam:ResourceTag/*: the older key of users' and roles' tags
	keyRequestTag            // aws:RequestTag/* and the keys in aws:TagKeys
	keyTagKeys               // aws:TagKeys from Request.TagKeys (Untag*)
	keyPolicyARN
	keyPermissionsBoundary
	keyPassedToService
	keyAssociatedResource
	keyRoleSessionName
	keyExternalID
	keySTSSourceIdentity
	keyTransitiveTagKeys
	keyFederated
)

// Groups of keys shared by many actions.
const (
	onTagged  = keyResourceTag                     // an action on a policy, instance profile or OIDC provider
	onEntity  = keyResourceTag | keyIAMResourceTag // an action on a user or a role
	tagging   = keyRequestTag                      // the request sets tags
	boundedOn = onEntity | keyPermissionsBoundary
	assume    = onEntity | keyRequestTag | keyRoleSessionName | keyExternalID | keySTSSourceIdentity | keyTransitiveTagKeys | keyFederated
)

// actionKeys lists, for every action iamdb authorizes, the condition keys it evaluates
// beyond the global ones, as the Service Authorization Reference lists them for IAM, STS
// and RDS. An action missing here gets none: TestActionKeysCoverAPI keeps the table in
// step with the API. Groups carry no tags in AWS, so actions on a group have no
// aws:ResourceTag; databases carry none in iamdb.
var actionKeys = map[string]keySet{
	// Users and their access keys.
	"iam:createuser":                    tagging | keyPermissionsBoundary,
	"iam:getuser":                       onEntity,
	"iam:listusers":                     0,
	"iam:deleteuser":                    onEntity,
	"iam:taguser":                       onEntity | tagging,
	"iam:untaguser":                     onEntity | keyTagKeys,
	"iam:listusertags":                  onEntity,
	"iam:attachuserpolicy":              boundedOn | keyPolicyARN,
	"iam:detachuserpolicy":              boundedOn | keyPolicyARN,
	"iam:listattacheduserpolicies":      onEntity,
	"iam:putuserpolicy":                 boundedOn,
	"iam:getuserpolicy":                 onEntity,
	"iam:deleteuserpolicy":              boundedOn,
	"iam:listuserpolicies":              onEntity,
	"iam:putuserpermissionsboundary":    boundedOn,
	"iam:deleteuserpermissionsboundary": boundedOn,
	"iam:listgroupsforuser":             onEntity,
	"iam:createaccesskey":               onEntity,
	"iam:listaccesskeys":                onEntity,
	"iam:updateaccesskey":               onEntity,
	"iam:deleteaccesskey":               onEntity,
	"iam:getaccesskeylastused":          onEntity,

	// Console passwords and MFA devices.
	"iam:createloginprofile":          onEntity,
	"iam:getloginprofile":             onEntity,
	"iam:updateloginprofile":          onEntity,
	"iam:deleteloginprofile":          onEntity,
	"iam:changepassword":              onEntity,
	"iam:updateaccountpasswordpolicy": 0,
	"iam:getaccountpasswordpolicy":    0,
	"iam:deleteaccountpasswordpolicy": 0,
	"iam:createvirtualmfadevice":      tagging,
	"iam:tagmfadevice":                onTagged | tagging,
	"iam:enablemfadevice":             onEntity,
	"iam:resyncmfadevice":             onEntity,
	"iam:deactivatemfadevice":         onEntity,
	"iam:listmfadevices":              onEntity,
	"iam:listvirtualmfadevices":       0,
	"iam:deletevirtualmfadevice":      onTagged,

	// Groups (no tags in AWS).
	"iam:creategroup":               0,
	"iam:getgroup":                  0,
	"iam:listgroups":                0,
	"iam:deletegroup":               0,
	"iam:addusertogroup":            0,
	"iam:removeuserfromgroup":       0,
	"iam:attachgrouppolicy":         keyPolicyARN,
	"iam:detachgrouppolicy":         keyPolicyARN,
	"iam:listattachedgrouppolicies": 0,
	"iam:putgrouppolicy":            0,
	"iam:getgrouppolicy":            0,
	"iam:deletegrouppolicy":         0,
	"iam:listgrouppolicies":         0,

	// Roles.
	"iam:createrole":                    tagging | keyPermissionsBoundary,
	"iam:getrole":                       onEntity,
	"iam:listroles":                     0,
	"iam:deleterole":                    onEntity,
	"iam:updaterole":                    onEntity,
	"iam:updateassumerolepolicy":        onEntity,
	"iam:tagrole":                       onEntity | tagging,
	"iam:untagrole":                     onEntity | keyTagKeys,
	"iam:listroletags":                  onEntity,
	"iam:attachrolepolicy":              boundedOn | keyPolicyARN,
	"iam:detachrolepolicy":              boundedOn | keyPolicyARN,
	"iam:listattachedrolepolicies":      onEntity,
	"iam:putrolepolicy":                 boundedOn,
	"iam:getrolepolicy":                 onEntity,
	"iam:deleterolepolicy":              boundedOn,
	"iam:listrolepolicies":              onEntity,
	"iam:putrolepermissionsboundary":    boundedOn,
	"iam:deleterolepermissionsboundary": boundedOn,
	"iam:listinstanceprofilesforrole":   onEntity,
	"iam:passrole":                      onEntity | keyPassedToService | keyAssociatedResource,

	// Managed policies.
	"iam:createpolicy":            tagging,
	"iam:getpolicy":               onTagged,
	"iam:listpolicies":            0,
	"iam:deletepolicy":            onTagged,
	"iam:createpolicyversion":     onTagged,
	"iam:getpolicyversion":        onTagged,
	"iam:listpolicyversions":      onTagged,
	"iam:deletepolicyversion":     onTagged,
	"iam:setdefaultpolicyversion": onTagged,
	"iam:tagpolicy":               onTagged | tagging,
	"iam:untagpolicy":             onTagged | keyTagKeys,
	"iam:listpolicytags":          onTagged,
	"iam:listentitiesforpolicy":   onTagged,

	// Instance profiles.
	"iam:createinstanceprofile":         tagging,
	"iam:taginstanceprofile":            onTagged | tagging, // with CreateInstanceProfile's tags
	"iam:getinstanceprofile":            onTagged,
	"iam:listinstanceprofiles":          0,
	"iam:deleteinstanceprofile":         onTagged,
	"iam:addroletoinstanceprofile":      onTagged,
	"iam:removerolefrominstanceprofile": onTagged,

	// OpenID Connect providers.
	"iam:createopenidconnectprovider": tagging,
	"iam:tagopenidconnectprovider":    onTagged | tagging, // with CreateOpenIDConnectProvider's tags
	"iam:getopenidconnectprovider":    onTagged,
	"iam:listopenidconnectproviders":  0,
	"iam:deleteopenidconnectprovider": onTagged,

	// The policy simulator.
	"iam:simulateprincipalpolicy": 0,
	"iam:simulatecustompolicy":    0,

	// The access advisor and the credential report.
	"iam:generateservicelastaccesseddetails": 0,
	"iam:getservicelastaccesseddetails":      0,
	"iam:generatecredentialreport":           0,
	"iam:getcredentialreport":                0,

	// STS. GetCallerIdentity and GetSessionToken need no permission.
	"sts:assumerole":                assume,
	"sts:assumerolewithwebidentity": assume,
	"sts:tagsession":                assume,
	"sts:setsourceidentity":         assume,

	// RDS.
	"rds:describedbinstances": 0,
	"rds:describedbclusters":  0,
	"rds:modifydbinstance":    0,
	"rds:modifydbcluster":     0,
	"rds-db:connect":          0,
	"rds-db:verifyauthtoken":  0,
}

// keysOf returns the keys action evaluates (action in any case).
func keysOf(action string) keySet {
	return actionKeys[strings.ToLower(action)]
}

// fill sets in pc the keys of r that action evaluates. A nil r sets nothing.
func (r *Request) fill(pc *policy.Context, action string) {
	if r == nil {
		return
	}
	ks := keysOf(action)
	if ks&keyResourceTag != 0 {
		for _, t := range r.ResourceTags {
			pc.Set(policy.KeyResourceTagPrefix+t.Key, policy.String(t.Value))
			if ks&keyIAMResourceTag != 0 {
				pc.Set(keyIAMResourceTagPrefix+t.Key, policy.String(t.Value))
			}
		}
	}
	if ks&keyRequestTag != 0 {
		for _, t := range r.RequestTags {
			pc.Set(policy.KeyRequestTagPrefix+t.Key, policy.String(t.Value))
			pc.Add(policy.KeyTagKeys, policy.String(t.Key))
		}
	}
	if ks&keyTagKeys != 0 {
		for _, k := range r.TagKeys {
			pc.Add(policy.KeyTagKeys, policy.String(k))
		}
	}
	setIf := func(bit keySet, key, v string) {
		if ks&bit != 0 && v != "" {
			pc.Set(key, policy.String(v))
		}
	}
	setIf(keyPolicyARN, KeyPolicyARN, r.PolicyARN)
	setIf(keyPermissionsBoundary, KeyPermissionsBoundary, r.PermissionsBoundary)
	setIf(keyPassedToService, KeyPassedToService, r.PassedToService)
	setIf(keyAssociatedResource, KeyAssociatedResourceARN, r.AssociatedResourceARN)
	setIf(keyRoleSessionName, policy.KeySTSRoleSessionName, r.RoleSessionName)
	setIf(keyExternalID, policy.KeySTSExternalID, r.ExternalID)
	setIf(keySTSSourceIdentity, policy.KeySTSSourceIdentity, r.SourceIdentity)
	if ks&keyTransitiveTagKeys != 0 {
		for _, k := range r.TransitiveTagKeys {
			pc.Add(policy.KeySTSTransitiveTagKeys, policy.String(k))
		}
	}
	if ks&keyFederated != 0 {
		for _, f := range r.Federated {
			pc.Set(f.Key, f.Values...)
		}
	}
}

// IAM's own condition keys.
const (
	KeyPolicyARN             = "iam:policyarn"
	KeyPermissionsBoundary   = "iam:permissionsboundary"
	KeyPassedToService       = "iam:passedtoservice"
	KeyAssociatedResourceARN = "iam:associatedresourcearn"
	keyIAMResourceTagPrefix  = "iam:resourcetag/"
)

// tagsFromMap returns m as tags (session tags of the STS requests).
func tagsFromMap(m map[string]string) []Tag {
	if len(m) == 0 {
		return nil
	}
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{Key: k, Value: v})
	}
	return out
}

// entityRequest returns req (or a new Request) completed with what the loaded user,
// group or role d says: its tags and, unless req sets one, its permissions boundary.
// Nothing is added when d does not exist (ok false).
func entityRequest(req *Request, d entity, ok bool) *Request {
	if !ok {
		return req
	}
	r := Request{}
	if req != nil {
		r = *req
	}
	switch d := d.(type) {
	case *userDoc:
		r.ResourceTags = d.Tags
		if r.PermissionsBoundary == "" {
			r.PermissionsBoundary = d.Boundary
		}
	case *roleDoc:
		r.ResourceTags = d.Tags
		if r.PermissionsBoundary == "" {
			r.PermissionsBoundary = d.Boundary
		}
	}
	return &r
}

// authorizeCreate authorizes creating resource with req: action, and, when the request
// tags what it creates, tagAction with the same keys, as AWS requires (creating a tagged
// user needs iam:TagUser too), so that a Deny on tagging cannot be sidestepped by tagging
// at creation.
func (s *Service) authorizeCreate(ctx context.Context, c *Caller, action, tagAction, resource string, req *Request) error {
	if err := s.authorize(ctx, c, action, resource, req); err != nil {
		return err
	}
	if req != nil && len(req.RequestTags) > 0 {
		return s.authorize(ctx, c, tagAction, resource, req)
	}
	return nil
}

// Service principals of the workload credential endpoints: the services a role is passed
// to (iam:PassedToService) and whose trust the role's trust policy must grant.
const (
	ServiceEC2      = "ec2.amazonaws.com"       // instance profiles, IMDS
	ServiceECSTasks = "ecs-tasks.amazonaws.com" // container credentials
)

// tagList returns the principal's tags (a role's, as resource tags of sts:AssumeRole*).
func (p *principal) tagList() []Tag { return tagsFromMap(p.tags) }

// ActionKnown reports whether actionKeys lists action: whether iamdb knows which
// condition keys it evaluates.
func ActionKnown(action string) bool {
	_, ok := actionKeys[strings.ToLower(action)]
	return ok
}
