package awsquery

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/token"
)

// The RDS API (version 2014-10-31): the part of it that IAM database authentication needs,
// and iamdb's VerifyDBAuthToken extension.

type (
	dbInstancesResult struct {
		Marker      string `xml:",omitempty"`
		DBInstances struct {
			DBInstance []xDBInstance
		}
	}
	dbClustersResult struct {
		Marker     string `xml:",omitempty"`
		DBClusters struct {
			DBCluster []xDBCluster
		}
	}
	dbInstanceResult struct{ DBInstance xDBInstance }
	dbClusterResult  struct{ DBCluster xDBCluster }
	verifyResult     struct {
		Valid             bool
		Reason            string `xml:",omitempty"`
		PrincipalArn      string `xml:",omitempty"`
		Decision          string `xml:",omitempty"`
		DecidingPolicy    string `xml:",omitempty"`
		DecidingStatement string `xml:",omitempty"`
	}
)

func rdsOps() map[string]handler {
	return map[string]handler{
		"DescribeDBInstances": listed(describeBy("DBInstanceIdentifier"), (*iam.Service).DescribeDBInstances, func(out iam.DescribeDBOutput) any {
			r := dbInstancesResult{Marker: out.Marker}
			r.DBInstances.DBInstance = convertAll(out.Databases, toDBInstance)
			return r
		}),
		"DescribeDBClusters": shaped(describeBy("DBClusterIdentifier"), (*iam.Service).DescribeDBClusters, func(c *call, out iam.DescribeDBOutput) any {
			r := dbClustersResult{Marker: out.Marker}
			r.DBClusters.DBCluster = convertAll(out.Databases, c.toDBCluster)
			return r
		}),
		"ModifyDBInstance": listed(modifyBy("DBInstanceIdentifier"), (*iam.Service).ModifyDBInstance, func(db iam.Database) any {
			return dbInstanceResult{toDBInstance(&db)}
		}),
		"ModifyDBCluster": shaped(modifyBy("DBClusterIdentifier"), (*iam.Service).ModifyDBCluster, func(c *call, db iam.Database) any {
			return dbClusterResult{c.toDBCluster(&db)}
		}),
		"VerifyDBAuthToken": verifyDBAuthToken,
	}
}

// describeBy decodes the input of a Describe action on databases identified by idKey.
func describeBy(idKey string) func(*call) (iam.DescribeDBInput, error) {
	return func(c *call) (iam.DescribeDBInput, error) { return c.describeInput(idKey) }
}

// modifyBy decodes the input of a Modify action on the database idKey identifies.
func modifyBy(idKey string) func(*call) (iam.ModifyDBInput, error) {
	return func(c *call) (iam.ModifyDBInput, error) { return c.modifyInput(idKey) }
}

func (c *call) describeInput(idKey string) (iam.DescribeDBInput, error) {
	n, err := c.maxItems("MaxRecords", 20, 100)
	if err != nil {
		return iam.DescribeDBInput{}, err
	}
	fs, err := c.filters()
	if err != nil {
		return iam.DescribeDBInput{}, err
	}
	return iam.DescribeDBInput{Identifier: c.f.str(idKey), Filters: fs, Marker: c.f.str("Marker"), MaxRecords: n}, nil
}

// modifyInput reads a Modify* request. iamdb changes nothing but IAM database
// authentication: any other modification is refused rather than silently ignored.
func (c *call) modifyInput(idKey string) (iam.ModifyDBInput, error) {
	var extra []string
	for k := range c.f.m {
		switch k {
		case "Action", "Version", idKey, "EnableIAMDatabaseAuthentication", "ApplyImmediately":
		default:
			if !strings.HasPrefix(k, "X-Amz-") {
				extra = append(extra, k)
			}
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return iam.ModifyDBInput{}, &queryError{400, "InvalidParameterCombination", fmt.Sprintf(
			"iamdb can modify only EnableIAMDatabaseAuthentication; not supported: %s", clip(strings.Join(extra, ", ")))}
	}
	enable, err := c.f.boolean("EnableIAMDatabaseAuthentication")
	if err != nil {
		return iam.ModifyDBInput{}, err
	}
	now, err := c.boolParam("ApplyImmediately")
	if err != nil {
		return iam.ModifyDBInput{}, err
	}
	return iam.ModifyDBInput{Identifier: c.f.str(idKey), EnableIAMDatabaseAuthentication: enable, ApplyImmediately: now}, nil
}

func dbARN(db *iam.Database, kind string) string {
	return "arn:aws:rds:" + db.Region + ":" + db.Account + ":" + kind + ":" + db.Identifier
}

func toDBInstance(db *iam.Database) xDBInstance {
	x := xDBInstance{
		DBInstanceIdentifier: db.Identifier, Engine: db.Engine, DBInstanceStatus: db.Status,
		InstanceCreateTime: isoTime(db.CreateTime), DbiResourceID: db.ResourceID, DBInstanceArn: dbARN(db, "db"),
		IAMDatabaseAuthenticationEnabled: db.IAMAuth, StorageEncrypted: true,
	}
	if len(db.Endpoints) > 0 {
		x.Endpoint = &xEndpoint{Address: db.Endpoints[0], Port: db.Port}
	}
	return x
}

func (c *call) toDBCluster(db *iam.Database) xDBCluster {
	x := xDBCluster{
		DBClusterIdentifier: db.Identifier, Status: db.Status, ReaderEndpoint: db.ReaderEndpoint, Engine: db.Engine,
		Port: db.Port, StorageEncrypted: true, DbClusterResourceID: db.ResourceID, DBClusterArn: dbARN(db, "cluster"),
		IAMDatabaseAuthenticationEnabled: db.IAMAuth, ClusterCreateTime: isoTime(db.CreateTime),
	}
	if len(db.Endpoints) > 0 {
		x.Endpoint = db.Endpoints[0]
	}
	return x
}

// verifyDBAuthToken is iamdb's extension Action=VerifyDBAuthToken (Version 2014-10-31): it
// verifies an RDS auth token for DBUser exactly as the gateways would and evaluates
// rds-db:connect. Parameters: Token, DBUser, optional Hostname and Port (else the token's),
// optional SourceIp (for aws:SourceIp). The caller needs rds-db:VerifyAuthToken on the
// database user's ARN, unless the token is signed with its own access key.
func verifyDBAuthToken(c *call) (any, error) {
	tok, user := c.f.str("Token"), c.f.str("DBUser")
	if tok == "" {
		return nil, missingParameter("Token")
	}
	if user == "" {
		return nil, missingParameter("DBUser")
	}
	if len(tok) > token.DefaultMaxLen {
		return verifyResult{Valid: false, Reason: token.Reason(token.ErrOversized)}, nil
	}
	host, port := c.f.str("Hostname"), 0
	if p, ok := c.f.get("Port"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, invalidValue("Port", "must be a port number")
		}
		port = n
	}
	if host == "" || port == 0 {
		th, tp, ok := tokenHostPort(tok)
		if !ok {
			return verifyResult{Valid: false, Reason: token.Reason(token.ErrMalformed)}, nil
		}
		if host == "" {
			host = th
		}
		if port == 0 {
			port = tp
		}
	}
	var srcIP netip.Addr
	if s, ok := c.f.get("SourceIp"); ok {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, invalidValue("SourceIp", "must be an IP address")
		}
		srcIP = a
	}

	db, found := c.s.svc.DatabaseByEndpoint(host, port)
	resource := "*"
	if found {
		resource = "arn:aws:rds-db:" + db.Region + ":" + db.Account + ":dbuser:" + db.ResourceID + "/" + user
	}
	// A caller allowed only on some databases must not learn which endpoints exist: without
	// a database the permission is checked on "*". A caller may always ask about a token
	// signed with its own access key: the answer is what connecting would tell it, with
	// the reason (iamdb doctor asks this way); the signature is verified below as usual.
	self := found && c.caller != nil && c.caller.AccessKeyID != "" && tokenAccessKeyID(tok) == c.caller.AccessKeyID
	if !self {
		if err := c.s.svc.Authorize(c.ctx, c.caller, "rds-db:VerifyAuthToken", resource, nil); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, &queryError{404, "DBInstanceNotFound", fmt.Sprintf("No database has the endpoint %s", clip(net.JoinHostPort(host, strconv.Itoa(port))))}
	}
	endpoints := append([]string(nil), db.Endpoints...)
	if db.ReaderEndpoint != "" {
		endpoints = append(endpoints, db.ReaderEndpoint)
	}
	v, err := token.NewVerifier(token.Config[*iam.Caller]{Region: db.Region, Endpoints: endpoints, Port: db.Port,
		Keys: token.KeyLookupFunc[*iam.Caller](c.s.svc.LookupKey), Now: c.s.now, KeyCache: c.s.signer.Keys})
	if err != nil {
		return nil, fmt.Errorf("awsquery: verifier for %s: %w", db.Identifier, err)
	}
	res, err := v.Verify(c.ctx, tok, user)
	if err != nil {
		reason := token.Reason(err)
		if reason == "error" {
			return nil, err // the key lookup failed: an internal error
		}
		return verifyResult{Valid: false, Reason: reason}, nil
	}
	p := res.Principal
	if p == nil {
		return nil, errors.New("awsquery: verified token without an iam caller")
	}
	d, err := c.s.svc.CheckConnect(c.ctx, p, db, user,
		iam.RequestInfo{SourceIP: srcIP, SecureTransport: true, Region: db.Region})
	if err != nil {
		return nil, err
	}
	return verifyResult{Valid: true, Reason: d.Reason, PrincipalArn: p.ARN, Decision: d.Effect.String(),
		DecidingPolicy: d.Policy, DecidingStatement: d.Statement}, nil
}

// tokenAccessKeyID returns the access key ID of a token's X-Amz-Credential, "" if it has
// none. It only reads: the token is verified later.
func tokenAccessKeyID(tok string) string {
	const param = "X-Amz-Credential="
	i := strings.Index(tok, param)
	if i < 0 || i > 0 && tok[i-1] != '?' && tok[i-1] != '&' {
		return ""
	}
	v := tok[i+len(param):]
	if j := strings.IndexByte(v, '&'); j >= 0 {
		v = v[:j]
	}
	if j := strings.Index(v, "%2F"); j >= 0 {
		return v[:j]
	}
	if j := strings.IndexByte(v, '/'); j >= 0 {
		return v[:j]
	}
	return ""
}

// tokenHostPort returns the host and port a token was made for: "host:port/?…" or
// "host:port?…", IPv6 hosts in brackets.
func tokenHostPort(tok string) (string, int, bool) {
	end := strings.IndexAny(tok, "/?")
	if end < 0 {
		return "", 0, false
	}
	h, p, err := net.SplitHostPort(tok[:end])
	if err != nil || h == "" {
		return "", 0, false
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, false
	}
	return h, n, true
}
