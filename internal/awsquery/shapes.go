package awsquery

// The XML shapes of the responses, named and nested as in the AWS API references and checked
// against aws-sdk-go-v2's deserializers (service/{iam,sts,rds}/deserializers.go) and
// botocore's models. Element names are AWS's; Go names follow them where they are struct tags
// anyway. Timestamps are strings already formatted by isoTime; policy documents strings
// already URL-encoded by policyDoc.

// ---- IAM ----

type xTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xPermissionsBoundary struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
}

type xUser struct {
	Path                string                `xml:"Path"`
	UserName            string                `xml:"UserName"`
	UserID              string                `xml:"UserId"`
	Arn                 string                `xml:"Arn"`
	CreateDate          string                `xml:"CreateDate"`
	PasswordLastUsed    string                `xml:"PasswordLastUsed,omitempty"`
	PermissionsBoundary *xPermissionsBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags                *list[xTag]           `xml:"Tags,omitempty"`
}

type xGroup struct {
	Path       string `xml:"Path"`
	GroupName  string `xml:"GroupName"`
	GroupID    string `xml:"GroupId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

type xRoleLastUsed struct {
	LastUsedDate string `xml:"LastUsedDate,omitempty"`
	Region       string `xml:"Region,omitempty"`
}

type xRole struct {
	Path                     string                `xml:"Path"`
	RoleName                 string                `xml:"RoleName"`
	RoleID                   string                `xml:"RoleId"`
	Arn                      string                `xml:"Arn"`
	CreateDate               string                `xml:"CreateDate"`
	AssumeRolePolicyDocument string                `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string                `xml:"Description,omitempty"`
	MaxSessionDuration       int                   `xml:"MaxSessionDuration,omitempty"`
	PermissionsBoundary      *xPermissionsBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags                     *list[xTag]           `xml:"Tags,omitempty"`
	RoleLastUsed             *xRoleLastUsed        `xml:"RoleLastUsed,omitempty"`
}

type xPolicy struct {
	PolicyName                    string      `xml:"PolicyName"`
	PolicyID                      string      `xml:"PolicyId"`
	Arn                           string      `xml:"Arn"`
	Path                          string      `xml:"Path"`
	DefaultVersionID              string      `xml:"DefaultVersionId"`
	AttachmentCount               int         `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int         `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool        `xml:"IsAttachable"`
	Description                   string      `xml:"Description,omitempty"`
	CreateDate                    string      `xml:"CreateDate"`
	UpdateDate                    string      `xml:"UpdateDate"`
	Tags                          *list[xTag] `xml:"Tags,omitempty"`
}

type xPolicyVersion struct {
	Document         string `xml:"Document,omitempty"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

type xAttachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type xPolicyGroup struct {
	GroupName string `xml:"GroupName"`
	GroupID   string `xml:"GroupId"`
}

type xPolicyUser struct {
	UserName string `xml:"UserName"`
	UserID   string `xml:"UserId"`
}

type xPolicyRole struct {
	RoleName string `xml:"RoleName"`
	RoleID   string `xml:"RoleId"`
}

type xAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	CreateDate      string `xml:"CreateDate"`
}

type xAccessKeyMetadata struct {
	UserName    string `xml:"UserName"`
	AccessKeyID string `xml:"AccessKeyId"`
	Status      string `xml:"Status"`
	CreateDate  string `xml:"CreateDate"`
}

type xAccessKeyLastUsed struct {
	LastUsedDate string `xml:"LastUsedDate,omitempty"`
	ServiceName  string `xml:"ServiceName"`
	Region       string `xml:"Region"`
}

type xInstanceProfile struct {
	Path                string      `xml:"Path"`
	InstanceProfileName string      `xml:"InstanceProfileName"`
	InstanceProfileID   string      `xml:"InstanceProfileId"`
	Arn                 string      `xml:"Arn"`
	CreateDate          string      `xml:"CreateDate"`
	Roles               list[xRole] `xml:"Roles"`
	Tags                *list[xTag] `xml:"Tags,omitempty"`
}

type xPosition struct {
	Line   int `xml:"Line"`
	Column int `xml:"Column"`
}

type xStatement struct {
	SourcePolicyID   string     `xml:"SourcePolicyId,omitempty"`
	SourcePolicyType string     `xml:"SourcePolicyType,omitempty"`
	StartPosition    *xPosition `xml:"StartPosition,omitempty"`
	EndPosition      *xPosition `xml:"EndPosition,omitempty"`
}

type xEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xEntries struct {
	Entry []xEntry `xml:"entry"`
}

type xEvaluationResult struct {
	EvalActionName       string             `xml:"EvalActionName"`
	EvalResourceName     string             `xml:"EvalResourceName,omitempty"`
	EvalDecision         string             `xml:"EvalDecision"`
	MatchedStatements    list[xStatement]   `xml:"MatchedStatements"`
	MissingContextValues list[string]       `xml:"MissingContextValues"`
	EvalDecisionDetails  *xEntries          `xml:"EvalDecisionDetails,omitempty"`
	PermissionsBoundary  *xBoundaryDecision `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
}

type xBoundaryDecision struct {
	AllowedByPermissionsBoundary bool `xml:"AllowedByPermissionsBoundary"`
}

// ---- STS ----

type xCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type xAssumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

// ---- RDS ----

type xRDSTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xRDSTagList struct {
	Tag []xRDSTag `xml:"Tag"`
}

type xEndpoint struct {
	Address      string `xml:"Address"`
	Port         int    `xml:"Port"`
	HostedZoneID string `xml:"HostedZoneId,omitempty"`
}

type xDBInstance struct {
	DBInstanceIdentifier             string       `xml:"DBInstanceIdentifier"`
	DBInstanceClass                  string       `xml:"DBInstanceClass,omitempty"`
	Engine                           string       `xml:"Engine"`
	EngineVersion                    string       `xml:"EngineVersion,omitempty"`
	DBInstanceStatus                 string       `xml:"DBInstanceStatus"`
	MasterUsername                   string       `xml:"MasterUsername,omitempty"`
	DBName                           string       `xml:"DBName,omitempty"`
	Endpoint                         *xEndpoint   `xml:"Endpoint,omitempty"`
	InstanceCreateTime               string       `xml:"InstanceCreateTime,omitempty"`
	AvailabilityZone                 string       `xml:"AvailabilityZone,omitempty"`
	DBClusterIdentifier              string       `xml:"DBClusterIdentifier,omitempty"`
	DbiResourceID                    string       `xml:"DbiResourceId"`
	DBInstanceArn                    string       `xml:"DBInstanceArn"`
	IAMDatabaseAuthenticationEnabled bool         `xml:"IAMDatabaseAuthenticationEnabled"`
	DbInstancePort                   int          `xml:"DbInstancePort"`
	StorageEncrypted                 bool         `xml:"StorageEncrypted"`
	PubliclyAccessible               bool         `xml:"PubliclyAccessible"`
	MultiAZ                          bool         `xml:"MultiAZ"`
	DeletionProtection               bool         `xml:"DeletionProtection"`
	TagList                          *xRDSTagList `xml:"TagList,omitempty"`
}

type xDBClusterMember struct {
	DBInstanceIdentifier string `xml:"DBInstanceIdentifier"`
	IsClusterWriter      bool   `xml:"IsClusterWriter"`
	PromotionTier        int    `xml:"PromotionTier"`
}

type xDBClusterMembers struct {
	Member []xDBClusterMember `xml:"DBClusterMember"`
}

type xDBCluster struct {
	DBClusterIdentifier              string            `xml:"DBClusterIdentifier"`
	DatabaseName                     string            `xml:"DatabaseName,omitempty"`
	Status                           string            `xml:"Status"`
	Endpoint                         string            `xml:"Endpoint,omitempty"`
	ReaderEndpoint                   string            `xml:"ReaderEndpoint,omitempty"`
	MultiAZ                          bool              `xml:"MultiAZ"`
	Engine                           string            `xml:"Engine"`
	EngineVersion                    string            `xml:"EngineVersion,omitempty"`
	Port                             int               `xml:"Port,omitempty"`
	MasterUsername                   string            `xml:"MasterUsername,omitempty"`
	DBClusterMembers                 xDBClusterMembers `xml:"DBClusterMembers"`
	HostedZoneID                     string            `xml:"HostedZoneId,omitempty"`
	StorageEncrypted                 bool              `xml:"StorageEncrypted"`
	DbClusterResourceID              string            `xml:"DbClusterResourceId"`
	DBClusterArn                     string            `xml:"DBClusterArn"`
	IAMDatabaseAuthenticationEnabled bool              `xml:"IAMDatabaseAuthenticationEnabled"`
	ClusterCreateTime                string            `xml:"ClusterCreateTime,omitempty"`
	DeletionProtection               bool              `xml:"DeletionProtection"`
	TagList                          *xRDSTagList      `xml:"TagList,omitempty"`
}
