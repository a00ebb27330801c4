package iam

import (
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
)

// Config configures a Service.
type Config struct {
	// Store holds the authority's documents. Required. The Service does not close it.
	Store store.Store
	// MasterKey is 32 bytes. Keys derived from it encrypt access key secrets at rest and seal
	// session tokens; every replica sharing Store needs the same one. Required.
	MasterKey []byte
	// PreviousMasterKeys are master keys of before a rotation (RotateMasterKey): session
	// tokens sealed under them are still accepted until they expire. New tokens and all
	// secrets use MasterKey.
	PreviousMasterKeys [][]byte
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
	// Rand is the source of IDs, access keys, secrets and nonces. If nil, crypto/rand.
	Rand io.Reader
	// DefaultRegion is the region of requests whose RequestInfo names none and of
	// databases registered without one. If empty, "us-east-1".
	DefaultRegion string
	// UsageFlushInterval is how often "last used" records of access keys and roles, and the
	// access advisor's per principal and action or database user, are written to the
	// store. If zero, one minute. Close flushes what is pending.
	UsageFlushInterval time.Duration
	// WebIdentityKeys fetches OIDC providers' signing keys for AssumeRoleWithWebIdentity.
	// If nil, an oidc.KeyCache with its defaults: https:// issuers only, verified with the
	// system's roots. Tests and iamdb dev pass one with AllowInsecureLoopback.
	WebIdentityKeys WebIdentityKeySource
	// WebIdentitySkew is the clock skew tolerated for a web identity token's exp, nbf and
	// iat. If zero, one minute.
	WebIdentitySkew time.Duration
	// Logger receives what the Service notices on its own, outside any call: a snapshot
	// rebuild that fails, or that finds access keys the master key cannot decrypt. If nil,
	// nothing is logged.
	Logger *slog.Logger
}

// RequestInfo describes the request a call serves, for the request context of
// authorization (aws:SourceIp, aws:SecureTransport, aws:RequestedRegion) and for "last used"
// records. The HTTP layer attaches it to the context with WithRequestInfo.
type RequestInfo struct {
	SourceIP        netip.Addr
	SecureTransport bool
	// Region is the region the request was signed for. If empty, Config.DefaultRegion.
	Region string
}

// Caller is an authenticated principal: an IAM user (long-term key or GetSessionToken
// session), a role session, or an account's root. LookupKey returns it as token.Key's
// Principal. A Caller is shared and read-only: do not modify it.
type Caller struct {
	Account string
	// ARN is the user's ARN, the assumed-role ARN
	// (arn:aws:sts::ACCT:assumed-role/ROLE/SESSION) or arn:aws:iam::ACCT:root.
	ARN string
	// UserID is aws:userid: AIDA… for users, AROA…:SESSION for role sessions, the account
	// ID for root.
	UserID string
	// Type is CallerUser, CallerAssumedRole or CallerRoot.
	Type string
	// AccessKeyID is the key the caller signed with ("" for internal callers).
	AccessKeyID string
	// Principal is the caller as the policy engine sees it.
	Principal policy.Principal
	// Tags are the principal tags (aws:PrincipalTag/*): the user's tags, or the role's tags
	// overridden by the session's tags.
	Tags map[string]string
	// Session is the session of temporary credentials, nil for long-term keys.
	Session *Session

	name     string           // user or role name
	roleKey  string           // entityKey of the role, for role sessions
	advisor  string           // the access advisor's key of the principal (principalKey)
	identity []*policy.Policy // compiled identity policies
	boundary *policy.Policy   // permissions boundary, if any
	sessionP []*policy.Policy // session policies, if any
	tagCtx   []tagKV          // Tags as request-context keys
	broken   bool             // a policy could not be compiled: deny everything
}

// Values of Caller.Type.
const (
	CallerUser        = "User"
	CallerAssumedRole = "AssumedRole"
	CallerRoot        = "Root"
)

// Session is what a sealed session token carries.
type Session struct {
	AccessKeyID string // ASIA…
	// RoleARN and RoleID name the assumed role; both are empty for GetSessionToken
	// sessions, which name UserARN and UserID instead.
	RoleARN, RoleID string
	UserARN, UserID string
	Name            string // role session name
	Tags            map[string]string
	// TransitiveTagKeys are the session tag keys that pass to sessions this one assumes.
	TransitiveTagKeys []string
	SourceIdentity    string
	// Policy is the inline session policy, PolicyARNs the managed session policies.
	Policy     string
	PolicyARNs []string
	IssuedAt   time.Time
	Expiration time.Time
	// Chained says the session was created by a role session (role chaining).
	Chained bool
	// MFAAuthenticated says the session was issued with a valid MFA code (GetSessionToken
	// with SerialNumber and TokenCode), at MFAAuthTime: aws:MultiFactorAuthPresent and
	// aws:MultiFactorAuthAge.
	MFAAuthenticated bool
	MFAAuthTime      time.Time
	// Console says the session is a console sign-in's (ConsoleSignIn): a session of the
	// user that may call IAM without MFA, as the user signed in with a password.
	Console bool
	// FederatedProvider is the ARN of the OIDC provider whose token AssumeRoleWithWebIdentity
	// took: aws:FederatedProvider in the session's requests. Sessions it assumes in turn
	// (role chaining) do not carry it: their role was assumed with AssumeRole.
	FederatedProvider string
}

// Tag is an IAM tag.
type Tag struct {
	Key, Value string
}

// PermissionsBoundary is an entity's permissions boundary.
type PermissionsBoundary struct {
	// Type is always "PermissionsBoundaryPolicy".
	Type string
	ARN  string
}

// User is an IAM user.
type User struct {
	UserName   string
	UserID     string
	ARN        string
	Path       string
	CreateDate time.Time
	// PasswordLastUsed is the last console sign-in with the user's password (GetUser
	// only; zero: never, or no password).
	PasswordLastUsed    time.Time
	PermissionsBoundary *PermissionsBoundary
	Tags                []Tag
}

// Group is an IAM group.
type Group struct {
	GroupName  string
	GroupID    string
	ARN        string
	Path       string
	CreateDate time.Time
}

// RoleLastUsed says when a role was last used (assumed or its session used).
type RoleLastUsed struct {
	LastUsedDate time.Time // zero if never
	Region       string
}

// Role is an IAM role.
type Role struct {
	RoleName string
	RoleID   string
	ARN      string
	Path     string
	// AssumeRolePolicyDocument is the trust policy as it was given.
	AssumeRolePolicyDocument string
	Description              string
	MaxSessionDuration       int // seconds
	CreateDate               time.Time
	PermissionsBoundary      *PermissionsBoundary
	Tags                     []Tag
	RoleLastUsed             RoleLastUsed
}

// Policy is a managed policy.
type Policy struct {
	PolicyName                    string
	PolicyID                      string
	ARN                           string
	Path                          string
	DefaultVersionID              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string
	CreateDate                    time.Time
	UpdateDate                    time.Time
	Tags                          []Tag
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	// Document is the policy document as it was given.
	Document         string
	VersionID        string
	IsDefaultVersion bool
	CreateDate       time.Time
}

// AttachedPolicy names a managed policy attached to an entity.
type AttachedPolicy struct {
	PolicyName string
	PolicyARN  string
}

// InlinePolicy is an inline policy of a user, group or role.
type InlinePolicy struct {
	EntityName     string // the user, group or role
	PolicyName     string
	PolicyDocument string // as it was given
}

// Access key statuses.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
)

// AccessKey is a long-term access key. SecretAccessKey is set only by CreateAccessKey and
// Bootstrap, the only times it is ever returned.
type AccessKey struct {
	UserName        string
	AccessKeyID     string
	Status          string
	SecretAccessKey string
	CreateDate      time.Time
}

// AccessKeyLastUsed is GetAccessKeyLastUsed's result. Service and region are "N/A" when the
// key was never used, as in AWS.
type AccessKeyLastUsed struct {
	UserName     string
	LastUsedDate time.Time // zero if never
	ServiceName  string
	Region       string
}

// InstanceProfile is an instance profile and its role (at most one).
type InstanceProfile struct {
	InstanceProfileName string
	InstanceProfileID   string
	ARN                 string
	Path                string
	CreateDate          time.Time
	Roles               []Role
	Tags                []Tag
}

// OIDCProvider is an IAM OpenID Connect identity provider.
type OIDCProvider struct {
	ARN            string
	URL            string // as given, "https://…"
	ClientIDList   []string
	ThumbprintList []string
	CreateDate     time.Time
	Tags           []Tag
}

// PolicyEntity names a user, group or role that a policy is attached to.
type PolicyEntity struct {
	Name string
	ID   string
}

// CreateUserInput is CreateUser's input.
type CreateUserInput struct {
	UserName            string
	Path                string // if empty, "/"
	PermissionsBoundary string // a managed policy ARN, optional
	Tags                []Tag
}

// ListInput pages through a list. Marker is the Marker of the previous page's output;
// MaxItems is at most 1000, 100 if zero.
type ListInput struct {
	PathPrefix string // "/" if empty; ignored by lists that have no path
	Marker     string
	MaxItems   int
}

// ListUsersOutput is ListUsers' output. When IsTruncated, Marker fetches the next page.
type ListUsersOutput struct {
	Users       []User
	IsTruncated bool
	Marker      string
}

// CreateGroupInput is CreateGroup's input.
type CreateGroupInput struct {
	GroupName string
	Path      string
}

// GetGroupOutput is GetGroup's output: the group and a page of its members.
type GetGroupOutput struct {
	Group       Group
	Users       []User
	IsTruncated bool
	Marker      string
}

// ListGroupsOutput is ListGroups' and ListGroupsForUser's output.
type ListGroupsOutput struct {
	Groups      []Group
	IsTruncated bool
	Marker      string
}

// CreateRoleInput is CreateRole's input.
type CreateRoleInput struct {
	RoleName                 string
	Path                     string
	AssumeRolePolicyDocument string
	Description              string
	MaxSessionDuration       int // seconds, 3600–43200; 3600 if zero
	PermissionsBoundary      string
	Tags                     []Tag
}

// ListRolesOutput is ListRoles' output.
type ListRolesOutput struct {
	Roles       []Role
	IsTruncated bool
	Marker      string
}

// CreatePolicyInput is CreatePolicy's input.
type CreatePolicyInput struct {
	PolicyName     string
	Path           string
	PolicyDocument string
	Description    string
	Tags           []Tag
}

// Scopes of ListPolicies.
const (
	ScopeAll   = "All"
	ScopeAWS   = "AWS"
	ScopeLocal = "Local"
)

// Usage filters of ListPolicies and ListEntitiesForPolicy.
const (
	UsagePermissionsPolicy   = "PermissionsPolicy"
	UsagePermissionsBoundary = "PermissionsBoundary"
)

// ListPoliciesInput is ListPolicies' input.
type ListPoliciesInput struct {
	Scope             string // ScopeAll if empty
	OnlyAttached      bool
	PathPrefix        string
	PolicyUsageFilter string // "", UsagePermissionsPolicy or UsagePermissionsBoundary
	Marker            string
	MaxItems          int
}

// ListPoliciesOutput is ListPolicies' output.
type ListPoliciesOutput struct {
	Policies    []Policy
	IsTruncated bool
	Marker      string
}

// CreatePolicyVersionInput is CreatePolicyVersion's input.
type CreatePolicyVersionInput struct {
	PolicyARN      string
	PolicyDocument string
	SetAsDefault   bool
}

// ListPolicyVersionsOutput is ListPolicyVersions' output; versions come newest first.
type ListPolicyVersionsOutput struct {
	Versions    []PolicyVersion
	IsTruncated bool
	Marker      string
}

// ListAttachedPoliciesInput is the input of ListAttached{User,Group,Role}Policies.
type ListAttachedPoliciesInput struct {
	Name       string // the user, group or role
	PathPrefix string
	Marker     string
	MaxItems   int
}

// ListAttachedPoliciesOutput is the output of ListAttached{User,Group,Role}Policies.
type ListAttachedPoliciesOutput struct {
	AttachedPolicies []AttachedPolicy
	IsTruncated      bool
	Marker           string
}

// Entity filters of ListEntitiesForPolicy.
const (
	EntityUser  = "User"
	EntityGroup = "Group"
	EntityRole  = "Role"
)

// ListEntitiesForPolicyInput is ListEntitiesForPolicy's input.
type ListEntitiesForPolicyInput struct {
	PolicyARN         string
	EntityFilter      string // "", EntityUser, EntityGroup, EntityRole ("LocalManagedPolicy"/"AWSManagedPolicy" are refused)
	PathPrefix        string
	PolicyUsageFilter string
	Marker            string
	MaxItems          int
}

// ListEntitiesForPolicyOutput is ListEntitiesForPolicy's output.
type ListEntitiesForPolicyOutput struct {
	PolicyGroups []PolicyEntity
	PolicyUsers  []PolicyEntity
	PolicyRoles  []PolicyEntity
	IsTruncated  bool
	Marker       string
}

// ListNamedInput pages through a list that belongs to one named entity (a user's inline
// policies, access keys or tags, a group's members, …).
type ListNamedInput struct {
	Name     string // the user, group, role or instance profile; for policies, the ARN
	Marker   string
	MaxItems int
}

// ListInlinePoliciesOutput is the output of List{User,Group,Role}Policies.
type ListInlinePoliciesOutput struct {
	PolicyNames []string
	IsTruncated bool
	Marker      string
}

// UpdateAccessKeyInput is UpdateAccessKey's input.
type UpdateAccessKeyInput struct {
	UserName    string // if empty, the caller
	AccessKeyID string
	Status      string // StatusActive or StatusInactive
}

// ListAccessKeysOutput is ListAccessKeys' output; SecretAccessKey is never set.
type ListAccessKeysOutput struct {
	AccessKeys  []AccessKey
	IsTruncated bool
	Marker      string
}

// CreateInstanceProfileInput is CreateInstanceProfile's input.
type CreateInstanceProfileInput struct {
	InstanceProfileName string
	Path                string
	Tags                []Tag
}

// ListInstanceProfilesOutput is the output of ListInstanceProfiles and
// ListInstanceProfilesForRole.
type ListInstanceProfilesOutput struct {
	InstanceProfiles []InstanceProfile
	IsTruncated      bool
	Marker           string
}

// ListTagsOutput is the output of List{User,Role,Policy}Tags.
type ListTagsOutput struct {
	Tags        []Tag
	IsTruncated bool
	Marker      string
}

// CreateOIDCProviderInput is CreateOpenIDConnectProvider's input.
type CreateOIDCProviderInput struct {
	URL            string
	ClientIDList   []string
	ThumbprintList []string
	Tags           []Tag
}

// ContextEntry is a condition key given to the policy simulator.
type ContextEntry struct {
	Key    string
	Type   string // string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, date, dateList, binary, binaryList
	Values []string
}

// SimulatePrincipalPolicyInput is SimulatePrincipalPolicy's input.
type SimulatePrincipalPolicyInput struct {
	PolicySourceARN string // a user, group or role ARN
	// PolicyInputList are extra identity policies to include, as documents.
	PolicyInputList []string
	ActionNames     []string
	ResourceARNs    []string // "*" if empty
	ContextEntries  []ContextEntry
	Marker          string
	MaxItems        int
}

// SimulateCustomPolicyInput is SimulateCustomPolicy's input.
type SimulateCustomPolicyInput struct {
	PolicyInputList                    []string
	PermissionsBoundaryPolicyInputList []string
	ActionNames                        []string
	ResourceARNs                       []string
	// CallerARN is the simulated caller (a user ARN); if empty, no principal keys are set.
	CallerARN      string
	ContextEntries []ContextEntry
	Marker         string
	MaxItems       int
}

// Policy source types of MatchedStatement.
const (
	SourceUser          = "user"
	SourceGroup         = "group"
	SourceRole          = "role"
	SourceAWSManaged    = "aws-managed"
	SourceUserManaged   = "user-managed"
	SourceInput         = "IAM Policy"
	SourceBoundary      = "PermissionsBoundaryPolicy"
	SourceSessionPolicy = "session"
)

// MatchedStatement names the statement that decided a simulated request.
type MatchedStatement struct {
	SourcePolicyID   string // the policy's name (inline name, ARN, or "PolicyInputList.N")
	SourcePolicyType string
	StatementID      string // the Sid, or Statement[i]
	// StartPosition and EndPosition are where the statement is in the policy's document
	// as stored (the author's text): just after its opening brace and just after its
	// closing brace. Zero when the document could not be scanned.
	StartPosition Position
	EndPosition   Position
}

// EvaluationResult is the simulator's decision for one (action, resource).
type EvaluationResult struct {
	EvalActionName    string
	EvalResourceName  string
	EvalDecision      string // "allowed", "explicitDeny" or "implicitDeny"
	MatchedStatements []MatchedStatement
	// MissingContextValues lists condition keys the policies use that the request did
	// not have (aws:… keys iamdb fills itself are never missing).
	MissingContextValues []string
}

// SimulateOutput is the output of SimulatePrincipalPolicy and SimulateCustomPolicy.
type SimulateOutput struct {
	EvaluationResults []EvaluationResult
	IsTruncated       bool
	Marker            string
}

// CallerIdentity is GetCallerIdentity's output.
type CallerIdentity struct {
	UserID  string
	Account string
	ARN     string
}

// Credentials are temporary security credentials.
type Credentials struct {
	AccessKeyID     string // ASIA…
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// AssumeRoleInput is AssumeRole's input.
type AssumeRoleInput struct {
	RoleARN         string
	RoleSessionName string
	DurationSeconds int    // 900–43200; 3600 if zero
	Policy          string // inline session policy, optional
	PolicyARNs      []string
	Tags            []Tag
	// TransitiveTagKeys must be keys of Tags.
	TransitiveTagKeys []string
	ExternalID        string
	SourceIdentity    string
	// SerialNumber (a virtual MFA device's ARN) and TokenCode (its current code) give the
	// session MFA.
	SerialNumber string
	TokenCode    string
}

// AssumedRoleUser names the new session.
type AssumedRoleUser struct {
	ARN           string // arn:aws:sts::ACCT:assumed-role/ROLE/SESSION
	AssumedRoleID string // AROA…:SESSION
}

// AssumeRoleOutput is AssumeRole's output.
type AssumeRoleOutput struct {
	Credentials     Credentials
	AssumedRoleUser AssumedRoleUser
	// PackedPolicySize is the percentage of the session-token budget the session policies
	// and tags use.
	PackedPolicySize int
	SourceIdentity   string
}

// GetSessionTokenInput is GetSessionToken's input.
type GetSessionTokenInput struct {
	DurationSeconds int // 900–129600; 43200 if zero
	// SerialNumber and TokenCode (MFA) are refused: iamdb has no MFA devices.
	SerialNumber string
	TokenCode    string
}

// BootstrapInput is Bootstrap's input.
type BootstrapInput struct {
	AccountID     string
	AccountAlias  string
	AdminUserName string
}

// Kinds of databases.
const (
	KindInstance = "instance"
	KindCluster  = "cluster"
)

// Database is a registered database: an RDS DB instance or Aurora DB cluster as the RDS API
// and the gateways see it.
type Database struct {
	Identifier     string // lower case, as RDS stores it
	Kind           string // KindInstance or KindCluster
	Engine         string // postgres, aurora-postgresql, mysql, mariadb, aurora-mysql
	Endpoints      []string
	ReaderEndpoint string // clusters only
	Port           int
	Region         string
	Account        string
	// ResourceID is "db-" (instances) or "cluster-" (clusters) and 26 characters [A-Z0-9],
	// generated at registration and kept for the database's life.
	ResourceID string
	IAMAuth    bool
	Status     string // "available"
	CreateTime time.Time
}

// DatabaseSpec registers a database. Identifier, Kind, Engine, at least one endpoint and
// Port are required; Region defaults to Config.DefaultRegion; Account defaults to the only
// account when there is exactly one.
type DatabaseSpec struct {
	Identifier     string
	Kind           string
	Engine         string
	Endpoints      []string
	ReaderEndpoint string
	Port           int
	Region         string
	Account        string
	IAMAuth        bool
}

// Filter is an RDS Describe filter.
type Filter struct {
	Name   string // db-instance-id / db-cluster-id (identifier or ARN), engine, db-cluster-resource-id, dbi-resource-id
	Values []string
}

// DescribeDBInput is the input of DescribeDBInstances and DescribeDBClusters.
type DescribeDBInput struct {
	Identifier string // DBInstanceIdentifier / DBClusterIdentifier, optional
	Filters    []Filter
	Marker     string
	MaxRecords int // 20–100; 100 if zero
}

// DescribeDBOutput is the output of DescribeDBInstances and DescribeDBClusters.
type DescribeDBOutput struct {
	Databases []Database
	Marker    string
}

// ModifyDBInput is the input of ModifyDBInstance and ModifyDBCluster.
type ModifyDBInput struct {
	Identifier                      string
	EnableIAMDatabaseAuthentication *bool
	ApplyImmediately                bool
}
