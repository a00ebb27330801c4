package iam

import (
	"context"
	"strings"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/store"
	"github.com/iamdb/iamdb/policy"
)

var engines = map[string]string{ // engine → the kind it must be
	"postgres": KindInstance, "mysql": KindInstance, "mariadb": KindInstance,
	"aurora-postgresql": KindCluster, "aurora-mysql": KindCluster,
}

// ARN returns the database's RDS ARN: arn:aws:rds:REGION:ACCT:db:ID or …:cluster:ID.
func (d Database) ARN() string {
	typ := "db"
	if d.Kind == KindCluster {
		typ = "cluster"
	}
	return "arn:aws:rds:" + d.Region + ":" + d.Account + ":" + typ + ":" + d.Identifier
}

// ConnectARN returns the rds-db:connect resource for a database user:
// arn:aws:rds-db:REGION:ACCT:dbuser:RESOURCEID/USER.
func (d Database) ConnectARN(dbUser string) string {
	return "arn:aws:rds-db:" + d.Region + ":" + d.Account + ":dbuser:" + d.ResourceID + "/" + dbUser
}

func checkDBIdentifier(id string) error {
	ok := len(id) >= 1 && len(id) <= 63 && isLetter(id[0]) && id[len(id)-1] != '-' && !strings.Contains(id, "--")
	for i := 0; i < len(id) && ok; i++ {
		c := id[i]
		ok = isLetter(c) || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return apiErr(CodeInvalidParameterValue, "The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.")
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// RegisterDatabase creates or updates a database by (account, region, kind, identifier);
// the resource ID is generated once and kept, as are the creation time and, on updates,
// nothing else: the spec replaces engine, endpoints, port and IAMAuth. It is for trusted
// configuration: there is no caller and no authorization.
func (s *Service) RegisterDatabase(ctx context.Context, spec DatabaseSpec) (Database, error) {
	if err := checkDBIdentifier(spec.Identifier); err != nil {
		return Database{}, err
	}
	kind, ok := engines[spec.Engine]
	if !ok {
		return Database{}, apiErr(CodeInvalidParameterValue, "Invalid DB engine: %s", spec.Engine)
	}
	if spec.Kind == "" {
		spec.Kind = kind
	}
	if spec.Kind != kind {
		return Database{}, apiErr(CodeInvalidParameterCombo, "The engine %s is for a DB %s, not a DB %s.", spec.Engine, kind, spec.Kind)
	}
	if len(spec.Endpoints) == 0 || spec.Port < 1 || spec.Port > 65535 {
		return Database{}, apiErr(CodeInvalidParameterValue, "A database needs at least one endpoint and a port between 1 and 65535.")
	}
	for _, e := range append(append([]string(nil), spec.Endpoints...), spec.ReaderEndpoint) {
		if strings.ContainsAny(e, "/:@ \t") && !strings.HasPrefix(e, "[") {
			return Database{}, apiErr(CodeInvalidParameterValue, "Invalid endpoint host name %q.", e)
		}
	}
	if spec.Region == "" {
		spec.Region = s.region
	}
	if spec.Account == "" {
		accts := s.Accounts()
		if len(accts) != 1 {
			return Database{}, apiErr(CodeInvalidParameterValue, "The database's account must be given when there is not exactly one account.")
		}
		spec.Account = accts[0]
	}
	if !arn.IsAccountID(spec.Account) {
		return Database{}, apiErr(CodeInvalidParameterValue, "The account ID %q must be 12 digits.", spec.Account)
	}
	var out Database
	err := s.update(ctx, func(tx store.Tx) error {
		if ok, err := getDoc(tx, kindAccount, spec.Account, &accountDoc{}); err != nil {
			return err
		} else if !ok {
			return apiErr(CodeInvalidParameterValue, "The account %s does not exist.", spec.Account)
		}
		key := dbKey(spec.Account, spec.Region, spec.Kind, spec.Identifier)
		var d dbDoc
		ok, err := getDoc(tx, kindDB, key, &d)
		if err != nil {
			return err
		}
		if !ok {
			prefix := "db-"
			if spec.Kind == KindCluster {
				prefix = "cluster-"
			}
			rid, err := randomString(s.rand, upperAlnum, 26)
			if err != nil {
				return err
			}
			d = dbDoc{ResourceID: prefix + rid, Created: s.now().UTC()}
		}
		d.Identifier, d.Kind, d.Engine = strings.ToLower(spec.Identifier), spec.Kind, spec.Engine
		d.Endpoints, d.ReaderEndpoint, d.Port = spec.Endpoints, spec.ReaderEndpoint, spec.Port
		d.Region, d.Account, d.IAMAuth = spec.Region, spec.Account, spec.IAMAuth
		out = d.database()
		return putDoc(tx, kindDB, key, &d)
	})
	return out, err
}

func (s *Service) describe(ctx context.Context, c *Caller, kind string, in DescribeDBInput) (DescribeDBOutput, error) {
	if err := needCaller(c); err != nil {
		return DescribeDBOutput{}, err
	}
	action, filterID, filterRID, notFound := "rds:DescribeDBInstances", "db-instance-id", "dbi-resource-id", CodeDBInstanceNotFound
	what := "DBInstance"
	if kind == KindCluster {
		action, filterID, filterRID, notFound = "rds:DescribeDBClusters", "db-cluster-id", "db-cluster-resource-id", CodeDBClusterNotFound
		what = "DBCluster"
	}
	max := in.MaxRecords
	if max == 0 {
		max = 100
	}
	if max < 20 || max > 100 {
		return DescribeDBOutput{}, apiErr(CodeInvalidParameterValue, "Invalid value %d for MaxRecords. Must be between 20 and 100", in.MaxRecords)
	}
	region := s.requestInfo(ctx).Region
	id := strings.ToLower(in.Identifier)
	resource := Database{Kind: kind, Region: region, Account: c.Account, Identifier: "*"}
	if id != "" {
		resource.Identifier = id
	}
	if err := s.authorize(ctx, c, action, resource.ARN(), nil); err != nil {
		return DescribeDBOutput{}, err
	}
	var all []Database
	for _, db := range s.snap.Load().dbs {
		if db.Kind != kind || db.Account != c.Account || db.Region != region || (id != "" && db.Identifier != id) {
			continue
		}
		keep := true
		for _, f := range in.Filters {
			match := false
			for _, v := range f.Values {
				switch f.Name {
				case filterID:
					match = match || strings.EqualFold(v, db.Identifier) || v == db.ARN()
				case filterRID:
					match = match || v == db.ResourceID
				case "engine":
					match = match || v == db.Engine
				default:
					return DescribeDBOutput{}, apiErr(CodeInvalidParameterValue, "Unrecognized filter name: %s", f.Name)
				}
			}
			keep = keep && match
		}
		if keep {
			all = append(all, db)
		}
	}
	if id != "" && len(all) == 0 {
		return DescribeDBOutput{}, apiErr(notFound, "%s %s not found.", what, in.Identifier)
	}
	key := func(d *Database) string { return d.Identifier }
	dbs, _, marker, err := sortedPage(all, key, in.Marker, max)
	if err != nil {
		return DescribeDBOutput{}, err
	}
	return DescribeDBOutput{Databases: dbs, Marker: marker}, nil
}

// DescribeDBInstances lists the caller's account's DB instances in the request's region
// (rds:DescribeDBInstances on the instance's ARN, or …:db:* without an identifier).
func (s *Service) DescribeDBInstances(ctx context.Context, c *Caller, in DescribeDBInput) (DescribeDBOutput, error) {
	return s.describe(ctx, c, KindInstance, in)
}

// DescribeDBClusters lists the caller's account's DB clusters in the request's region.
func (s *Service) DescribeDBClusters(ctx context.Context, c *Caller, in DescribeDBInput) (DescribeDBOutput, error) {
	return s.describe(ctx, c, KindCluster, in)
}

func (s *Service) modify(ctx context.Context, c *Caller, kind string, in ModifyDBInput) (Database, error) {
	if err := needCaller(c); err != nil {
		return Database{}, err
	}
	action, code, what := "rds:ModifyDBInstance", CodeDBInstanceNotFound, "DBInstance"
	if kind == KindCluster {
		action, code, what = "rds:ModifyDBCluster", CodeDBClusterNotFound, "DBCluster"
	}
	if in.Identifier == "" {
		return Database{}, apiErr(CodeInvalidParameterValue, "The parameter %sIdentifier must be provided.", what)
	}
	region := s.requestInfo(ctx).Region
	res := Database{Kind: kind, Region: region, Account: c.Account, Identifier: strings.ToLower(in.Identifier)}
	if err := s.authorize(ctx, c, action, res.ARN(), nil); err != nil {
		return Database{}, err
	}
	var out Database
	err := s.update(ctx, func(tx store.Tx) error {
		key := dbKey(c.Account, region, kind, in.Identifier)
		var d dbDoc
		ok, err := getDoc(tx, kindDB, key, &d)
		if err != nil {
			return err
		}
		if !ok {
			return apiErr(code, "%s %s not found.", what, in.Identifier)
		}
		if in.EnableIAMDatabaseAuthentication != nil {
			d.IAMAuth = *in.EnableIAMDatabaseAuthentication
		}
		out = d.database()
		return putDoc(tx, kindDB, key, &d)
	})
	return out, err
}

// ModifyDBInstance changes a DB instance: only EnableIAMDatabaseAuthentication, which
// takes effect at once whatever ApplyImmediately says.
func (s *Service) ModifyDBInstance(ctx context.Context, c *Caller, in ModifyDBInput) (Database, error) {
	return s.modify(ctx, c, KindInstance, in)
}

// ModifyDBCluster changes a DB cluster: only EnableIAMDatabaseAuthentication.
func (s *Service) ModifyDBCluster(ctx context.Context, c *Caller, in ModifyDBInput) (Database, error) {
	return s.modify(ctx, c, KindCluster, in)
}

// DatabaseByEndpoint finds a database by one of its endpoint host names (writer or reader,
// case-insensitive) and port, from the snapshot.
func (s *Service) DatabaseByEndpoint(host string, port int) (Database, bool) {
	snap := s.snap.Load()
	if i, ok := snap.byEndpoint[endpointKey(host, port)]; ok {
		return snap.dbs[i], true
	}
	native := s.nativePorts.Load()
	if native == nil {
		return Database{}, false
	}
	for _, rid := range (*native)[port] {
		for _, db := range snap.dbs {
			if db.ResourceID != rid {
				continue
			}
			if _, ok := snap.byEndpoint[endpointKey(host, db.Port)]; ok {
				db.Port = port
				return db, true
			}
		}
	}
	return Database{}, false
}

// SetNativePorts records, by resource ID, the ports on which registered databases' own
// servers take IAM logins in native mode (iamdb serve's [[native]] tables): from then
// on DatabaseByEndpoint finds such a database on those ports too, under its endpoint
// names, with Port set to the native port — so that VerifyDBAuthToken (iamdb doctor)
// judges tokens signed for them. The registration itself is unchanged and the ports are
// not stored: each process sets its own at start. nil forgets them.
func (s *Service) SetNativePorts(byResourceID map[string][]int) {
	if len(byResourceID) == 0 {
		s.nativePorts.Store(nil)
		return
	}
	m := map[int][]string{}
	for rid, ports := range byResourceID {
		for _, p := range ports {
			m[p] = append(m[p], rid)
		}
	}
	s.nativePorts.Store(&m)
}

// Databases returns every registered database, from the snapshot.
func (s *Service) Databases() []Database {
	return append([]Database(nil), s.snap.Load().dbs...)
}

// reasonIAMAuthDisabled is the Decision reason of AuthorizeConnect for a database whose
// IAM authentication is off.
const reasonIAMAuthDisabled = "IAM database authentication is not enabled for the database"

// AuthorizeConnect evaluates rds-db:connect for c on
// arn:aws:rds-db:REGION:ACCT:dbuser:RESOURCEID/dbUser with the request context of info
// (and c's principal keys, tags and session keys). The gateways call it after verifying a
// token; c is the token.Key's Principal. A database with IAM authentication disabled
// refuses every caller (an implicit deny with its own reason). err is non-nil only when the
// request cannot be evaluated (no caller). It reads only the snapshot's data carried by c.
// Every call notes the use of c's key (GetAccessKeyLastUsed: service "rds-db", the
// database's region) and of rds-db:connect (the access advisor); an allowed one notes a
// login as dbUser on db (iamdb access unused).
func (s *Service) AuthorizeConnect(ctx context.Context, c *Caller, db Database, dbUser string, info RequestInfo) (policy.Decision, error) {
	return s.authorizeConnect(c, db, dbUser, info, true)
}

// CheckConnect is AuthorizeConnect for a question about a login rather than a login
// (VerifyDBAuthToken): it notes no use.
func (s *Service) CheckConnect(ctx context.Context, c *Caller, db Database, dbUser string, info RequestInfo) (policy.Decision, error) {
	return s.authorizeConnect(c, db, dbUser, info, false)
}

func (s *Service) authorizeConnect(c *Caller, db Database, dbUser string, info RequestInfo, login bool) (policy.Decision, error) {
	if c == nil {
		return policy.Decision{}, apiErr(CodeInvalidClientTokenID, "The security token included in the request is invalid.")
	}
	if !db.IAMAuth {
		return policy.Decision{Reason: reasonIAMAuthDisabled}, nil
	}
	if info.Region == "" {
		info.Region = db.Region
	}
	now := s.now()
	if login {
		s.noteUse(c, "rds-db:connect", info.Region, now)
	}
	resource := db.ConnectARN(dbUser)
	d := s.evaluate(c, "rds-db:connect", resource, db.Account, info, now, nil)
	if login && d.Allowed() {
		s.noteLogin(c, resource, info.Region, now)
	}
	return d, nil
}
