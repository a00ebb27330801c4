package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/queryclient"
)

// What doctor asks the authority with the caller's own credentials, beyond the token's
// verdict, to name the cause of a refusal: the databases it may describe, the policies of
// its principal it may read, the authority's clock. Each question may be refused
// (AccessDenied): doctor then says what it could not look at.

// database is a registered database as DescribeDBClusters/-Instances show it.
type database struct {
	Kind       string // "cluster" or "instance"
	Identifier string
	ResourceID string
	ARN        string
	Endpoints  []string
	Port       int
	IAMAuth    bool
}

// Region is the region of db's ARN, "" if it has none.
func (db database) Region() string {
	parts := strings.SplitN(db.ARN, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[3]
}

// Account is the account of db's ARN.
func (db database) Account() string {
	parts := strings.SplitN(db.ARN, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// describeDatabases lists the databases the caller may describe (one page of each kind,
// at most 100).
func describeDatabases(ctx context.Context, creds *client.AWSCredentials, endpoint string) ([]database, error) {
	var cl struct {
		Clusters []struct {
			Identifier string `xml:"DBClusterIdentifier"`
			Endpoint   string `xml:"Endpoint"`
			Reader     string `xml:"ReaderEndpoint"`
			Port       int    `xml:"Port"`
			ResourceID string `xml:"DbClusterResourceId"`
			ARN        string `xml:"DBClusterArn"`
			IAMAuth    bool   `xml:"IAMDatabaseAuthenticationEnabled"`
		} `xml:"DescribeDBClustersResult>DBClusters>DBCluster"`
	}
	form := url.Values{"Action": {"DescribeDBClusters"}, "Version": {"2014-10-31"}, "MaxRecords": {"100"}}
	errC := queryclient.Call(ctx, creds, "rds", endpoint, form, &cl)
	var in struct {
		Instances []struct {
			Identifier string `xml:"DBInstanceIdentifier"`
			Address    string `xml:"Endpoint>Address"`
			Port       int    `xml:"Endpoint>Port"`
			ResourceID string `xml:"DbiResourceId"`
			ARN        string `xml:"DBInstanceArn"`
			IAMAuth    bool   `xml:"IAMDatabaseAuthenticationEnabled"`
		} `xml:"DescribeDBInstancesResult>DBInstances>DBInstance"`
	}
	form.Set("Action", "DescribeDBInstances")
	errI := queryclient.Call(ctx, creds, "rds", endpoint, form, &in)
	var dbs []database
	for _, c := range cl.Clusters {
		eps := []string{c.Endpoint}
		if c.Reader != "" {
			eps = append(eps, c.Reader)
		}
		dbs = append(dbs, database{"cluster", c.Identifier, c.ResourceID, c.ARN, eps, c.Port, c.IAMAuth})
	}
	for _, i := range in.Instances {
		dbs = append(dbs, database{"instance", i.Identifier, i.ResourceID, i.ARN, []string{i.Address}, i.Port, i.IAMAuth})
	}
	if errC != nil && errI != nil {
		return nil, errC
	}
	return dbs, nil
}

// policyDoc is one identity policy of a principal: its name and its document.
type policyDoc struct {
	Name     string
	Document string
}

// maxPolicies bounds the policies doctor reads of a principal.
const maxPolicies = 20

// principalPolicies reads the identity policies of principalARN (an IAM user, with its
// groups', or an assumed role's role) that the caller may read.
func principalPolicies(ctx context.Context, creds *client.AWSCredentials, endpoint, principalARN string) ([]policyDoc, error) {
	kind, name, ok := principalName(principalARN)
	if !ok {
		return nil, fmt.Errorf("%s is neither an IAM user nor an assumed role", principalARN)
	}
	call := func(out any, kv ...string) error {
		form := url.Values{"Version": {"2010-05-08"}}
		for i := 0; i+1 < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		return queryclient.Call(ctx, creds, "iam", endpoint, form, out)
	}
	var docs []policyDoc
	// owner reads the managed and inline policies of one user, group or role.
	owner := func(kind, name string) error {
		title := strings.ToUpper(kind[:1]) + kind[1:]
		var att struct {
			Result struct {
				ARNs []string `xml:"AttachedPolicies>member>PolicyArn"`
			} `xml:",any"`
		}
		if err := call(&att, "Action", "ListAttached"+title+"Policies", title+"Name", name); err != nil {
			return err
		}
		for _, arn := range att.Result.ARNs {
			if len(docs) >= maxPolicies {
				return nil
			}
			var p struct {
				Version string `xml:"GetPolicyResult>Policy>DefaultVersionId"`
			}
			if err := call(&p, "Action", "GetPolicy", "PolicyArn", arn); err != nil {
				return err
			}
			var v struct {
				Document string `xml:"GetPolicyVersionResult>PolicyVersion>Document"`
			}
			if err := call(&v, "Action", "GetPolicyVersion", "PolicyArn", arn, "VersionId", p.Version); err != nil {
				return err
			}
			docs = append(docs, policyDoc{arn, v.Document})
		}
		var inl struct {
			Result struct {
				Names []string `xml:"PolicyNames>member"`
			} `xml:",any"`
		}
		if err := call(&inl, "Action", "List"+title+"Policies", title+"Name", name); err != nil {
			return err
		}
		for _, pn := range inl.Result.Names {
			if len(docs) >= maxPolicies {
				return nil
			}
			var g struct {
				Result struct {
					Document string `xml:"PolicyDocument"`
				} `xml:",any"`
			}
			if err := call(&g, "Action", "Get"+title+"Policy", title+"Name", name, "PolicyName", pn); err != nil {
				return err
			}
			docs = append(docs, policyDoc{kind + " " + name + " inline policy " + pn, g.Result.Document})
		}
		return nil
	}
	if err := owner(kind, name); err != nil {
		return docs, err
	}
	if kind == "user" {
		var gs struct {
			Names []string `xml:"ListGroupsForUserResult>Groups>member>GroupName"`
		}
		if err := call(&gs, "Action", "ListGroupsForUser", "UserName", name); err != nil {
			return docs, err
		}
		for _, g := range gs.Names {
			if err := owner("group", g); err != nil {
				return docs, err
			}
		}
	}
	for i := range docs {
		if d, err := url.QueryUnescape(docs[i].Document); err == nil {
			docs[i].Document = d
		}
	}
	return docs, nil
}

// principalName returns the kind ("user" or "role") and name of an IAM user's ARN or an
// assumed role session's (its role).
func principalName(principalARN string) (kind, name string, ok bool) {
	parts := strings.SplitN(principalARN, ":", 6)
	if len(parts) != 6 {
		return "", "", false
	}
	res := parts[5]
	switch {
	case strings.HasPrefix(res, "user/"):
		return "user", res[strings.LastIndexByte(res, '/')+1:], true
	case strings.HasPrefix(res, "assumed-role/"):
		role, _, _ := strings.Cut(strings.TrimPrefix(res, "assumed-role/"), "/")
		return "role", role, role != ""
	}
	return "", "", false
}

// connectGrant is a resource an Allow statement grants rds-db:connect on.
type connectGrant struct {
	Policy, Statement, Resource string
}

// maxPolicyDoc bounds a policy document doctor parses (AWS: 6,144 characters managed,
// 10,240 inline for a user; iamdb's limits are no larger).
const maxPolicyDoc = 64 << 10

// connectGrants returns the resources doc's Allow statements grant rds-db:connect on.
func connectGrants(p policyDoc) ([]connectGrant, error) {
	if len(p.Document) > maxPolicyDoc {
		return nil, errors.New("policy document longer than 64 KiB")
	}
	var doc struct {
		Statement oneOrMany[struct {
			Sid      string
			Effect   string
			Action   oneOrMany[string]
			Resource oneOrMany[string]
		}]
	}
	if err := json.Unmarshal([]byte(p.Document), &doc); err != nil {
		return nil, err
	}
	var gs []connectGrant
	for i, st := range doc.Statement {
		if st.Effect != "Allow" || !actionMatches(st.Action, "rds-db:connect") {
			continue
		}
		label := st.Sid
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		for _, r := range st.Resource {
			gs = append(gs, connectGrant{p.Name, label, r})
		}
	}
	return gs, nil
}

// actionMatches reports whether one of the action patterns matches action (case
// insensitive, as IAM matches actions; * and ? wildcards).
func actionMatches(patterns []string, action string) bool {
	for _, p := range patterns {
		if arn.GlobFold(strings.ToLower(p), action) {
			return true
		}
	}
	return false
}

// oneOrMany is a JSON value that is one T or an array of them.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var many []T
		err := json.Unmarshal(b, &many)
		*o = many
		return err
	}
	var one T
	err := json.Unmarshal(b, &one)
	*o = oneOrMany[T]{one}
	return err
}

// authorityClock returns the authority's time (the Date header of its answer to a signed
// GetCallerIdentity, whatever the answer: a clock far off is refused, with a Date) and this
// machine's at the middle of the request.
func authorityClock(ctx context.Context, creds client.CredentialsProvider, endpoint string, now time.Time) (theirs, ours time.Time, err error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	start := time.Now()
	resp, _, err := queryclient.Send(&http.Client{}, req, body, creds, "sts", "us-east-1", now, 64<<10)
	if err != nil {
		return
	}
	ours = now.Add(time.Since(start) / 2)
	theirs, err = http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		err = errors.New("the authority's answer has no Date header")
	}
	return
}
