package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamdb/iamdb/arn"
)

func init() { pageSets = append(pageSets, registerSimulator) }

func registerSimulator(c *Console) {
	c.page("GET "+Prefix+"simulator", c.simulator)
	c.page("POST "+Prefix+"simulator", c.simulator)
}

// simForm is the simulator's question.
type simForm struct {
	Principal, Database, DBUser, SourceIP string
	MFA                                   bool
}

// simData is the simulator page: the choices, the question and, after a POST, the answer.
type simData struct {
	Principals []string // user and role ARNs the session may list
	Databases  []dbInfo
	Form       simForm
	Problems   []string
	Result     *simResult
}

// simResult is the simulator's answer.
type simResult struct {
	Decision  string // allowed, implicitDeny, explicitDeny
	Resource  string
	DB        *dbInfo
	Matched   []matchedStatement
	FixPolicy string // for an implicit deny: the policy to attach
	FixTo     string // … to this principal
	FixCLI    string // … with this command
}

// matchedStatement is a deciding statement, with its text when the session may read it.
type matchedStatement struct {
	PolicyID, PolicyType string
	Statements           []string // the deciding statement, or the candidates when it cannot be told
	Exact                bool     // Statements holds exactly the deciding statement
	Note                 string   // why the text is missing or not exact
}

// Allowed, ExplicitDeny are for the template.
func (r *simResult) Allowed() bool {
	return r.Decision == string(iamtypes.PolicyEvaluationDecisionTypeAllowed)
}
func (r *simResult) ExplicitDeny() bool {
	return r.Decision == string(iamtypes.PolicyEvaluationDecisionTypeExplicitDeny)
}

// simulator asks iam:SimulatePrincipalPolicy whether a principal may rds-db:connect as a
// database user, and explains the answer.
func (c *Console) simulator(w http.ResponseWriter, r *http.Request, s *session) {
	data := &simData{}
	// The choices are a convenience: a session that may not list them types the ARN.
	if out, err := s.clients.iam.ListUsers(apiCtx(r), &awsiam.ListUsersInput{MaxItems: aws.Int32(1000)}); err == nil {
		for _, u := range out.Users {
			data.Principals = append(data.Principals, aws.ToString(u.Arn))
		}
	}
	if out, err := s.clients.iam.ListRoles(apiCtx(r), &awsiam.ListRolesInput{MaxItems: aws.Int32(1000)}); err == nil {
		for _, ro := range out.Roles {
			data.Principals = append(data.Principals, aws.ToString(ro.Arn))
		}
	}
	dbs, _, err := c.listDatabases(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	data.Databases = dbs
	if r.Method != http.MethodPost {
		data.Form.Principal = s.userARN
		c.render(w, r, s, http.StatusOK, "simulator", &view{Title: "Simulator", Nav: "simulator", Data: data})
		return
	}
	f := simForm{Principal: strings.TrimSpace(r.PostFormValue("principal")), Database: r.PostFormValue("database"),
		DBUser: r.PostFormValue("dbuser"), SourceIP: strings.TrimSpace(r.PostFormValue("sourceip")), MFA: r.PostFormValue("mfa") != ""}
	data.Form = f
	var db *dbInfo
	for i := range dbs {
		if dbs[i].Value() == f.Database {
			db = &dbs[i]
		}
	}
	if a, err := arn.Parse(f.Principal); err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "user/") && !strings.HasPrefix(a.Resource, "role/") {
		data.Problems = append(data.Problems, "Principal: not a user or role ARN (arn:aws:iam::ACCOUNT:user/NAME or …:role/NAME).")
	}
	if db == nil {
		data.Problems = append(data.Problems, "Database: choose one of the list.")
	} else if err := checkDBUser(db, f.DBUser); err != nil {
		data.Problems = append(data.Problems, "Database user: "+err.Error()+".")
	}
	var ip netip.Addr
	if f.SourceIP != "" {
		if ip, err = netip.ParseAddr(f.SourceIP); err != nil {
			data.Problems = append(data.Problems, "Source IP: not an IP address.")
		}
	}
	if len(data.Problems) > 0 {
		c.render(w, r, s, http.StatusBadRequest, "simulator", &view{Title: "Simulator", Nav: "simulator", Data: data})
		return
	}
	entries := []iamtypes.ContextEntry{
		{ContextKeyName: aws.String("aws:SecureTransport"), ContextKeyType: iamtypes.ContextKeyTypeEnumBoolean, ContextKeyValues: []string{"true"}},
		{ContextKeyName: aws.String("aws:MultiFactorAuthPresent"), ContextKeyType: iamtypes.ContextKeyTypeEnumBoolean, ContextKeyValues: []string{strconv.FormatBool(f.MFA)}},
	}
	if ip.IsValid() {
		entries = append(entries, iamtypes.ContextEntry{ContextKeyName: aws.String("aws:SourceIp"), ContextKeyType: iamtypes.ContextKeyTypeEnumIp, ContextKeyValues: []string{ip.String()}})
	}
	resource := db.ConnectARN(f.DBUser)
	out, err := s.clients.iam.SimulatePrincipalPolicy(apiCtx(r), &awsiam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String(f.Principal), ActionNames: []string{"rds-db:connect"},
		ResourceArns: []string{resource}, ContextEntries: entries,
	})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if len(out.EvaluationResults) == 0 {
		c.fail(w, r, s, &APIError{Code: "InternalFailure", Message: "The simulator returned no result.", Status: http.StatusBadGateway})
		return
	}
	er := out.EvaluationResults[0]
	res := &simResult{Decision: string(er.EvalDecision), Resource: resource, DB: db}
	for _, st := range er.MatchedStatements {
		res.Matched = append(res.Matched, c.explainStatement(r, s, f.Principal, st, res.Decision, resource, entries))
	}
	if res.Decision == string(iamtypes.PolicyEvaluationDecisionTypeImplicitDeny) {
		res.FixPolicy, res.FixTo = connectPolicy(resource), f.Principal
		res.FixCLI = attachCommand(f.Principal, f.DBUser, res.FixPolicy, consoleOrigin(r))
	}
	data.Result = res
	c.render(w, r, s, http.StatusOK, "simulator", &view{Title: "Simulator", Nav: "simulator", Data: data})
}

// attachCommand is the AWS CLI command that puts policy inline on principal.
func attachCommand(principal, dbUser, policy, authority string) string {
	a, err := arn.Parse(principal)
	if err != nil {
		return ""
	}
	kind, name, _ := strings.Cut(a.Resource, "/")
	name = name[strings.LastIndexByte(name, '/')+1:]
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(policy)); err != nil {
		return ""
	}
	policyName := "rds-db-connect-" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@_-", r) {
			return r
		}
		return '_'
	}, dbUser)
	if len(policyName) > 128 {
		policyName = policyName[:128]
	}
	return "aws iam put-" + kind + "-policy --endpoint-url " + shellQuote(authority) + " --" + kind + "-name " + shellQuote(name) +
		" --policy-name " + shellQuote(policyName) + " \\\n  --policy-document " + shellQuote(compact.String())
}

// explainStatement finds the text of a deciding statement: cut from its policy at the
// positions the simulator gave; without positions, the statement of the policy that alone
// decides the same (iam:SimulateCustomPolicy with one statement per policy); failing
// that, the policy's statements of the deciding effect.
func (c *Console) explainStatement(r *http.Request, s *session, principal string, st iamtypes.Statement, decision, resource string, entries []iamtypes.ContextEntry) matchedStatement {
	m := matchedStatement{PolicyID: aws.ToString(st.SourcePolicyId), PolicyType: string(st.SourcePolicyType)}
	doc, err := c.policyDocument(r, s, principal, m.PolicyID, m.PolicyType)
	if err != nil {
		m.Note = "The policy's text could not be read: " + asAPIError(err).Error()
		return m
	}
	if st.StartPosition != nil && st.EndPosition != nil {
		if t, ok := cutPosition(doc, st.StartPosition, st.EndPosition); ok {
			m.Statements, m.Exact = []string{prettyJSON(t)}, true
			return m
		}
	}
	stmts := splitStatements(doc)
	if len(stmts) == 0 {
		m.Statements, m.Note = []string{prettyJSON(doc)}, "The whole policy (its statements could not be told apart)."
		return m
	}
	if len(stmts) == 1 {
		m.Statements, m.Exact = []string{stmts[0].text}, true
		return m
	}
	in := &awsiam.SimulateCustomPolicyInput{ActionNames: []string{"rds-db:connect"}, ResourceArns: []string{resource}, ContextEntries: entries}
	if a, err := arn.Parse(principal); err == nil && strings.HasPrefix(a.Resource, "user/") {
		in.CallerArn = aws.String(principal)
	}
	for _, x := range stmts {
		in.PolicyInputList = append(in.PolicyInputList, `{"Version":"2012-10-17","Statement":[`+x.raw+`]}`)
	}
	if out, err := s.clients.iam.SimulateCustomPolicy(apiCtx(r), in); err == nil && len(out.EvaluationResults) > 0 &&
		string(out.EvaluationResults[0].EvalDecision) == decision {
		for _, ms := range out.EvaluationResults[0].MatchedStatements {
			n, ok := strings.CutPrefix(aws.ToString(ms.SourcePolicyId), "PolicyInputList.")
			if i, err := strconv.Atoi(n); ok && err == nil && i >= 1 && i <= len(stmts) {
				m.Statements, m.Exact = []string{stmts[i-1].text}, true
				return m
			}
		}
	}
	effect := "Allow"
	if decision == string(iamtypes.PolicyEvaluationDecisionTypeExplicitDeny) {
		effect = "Deny"
	}
	for _, x := range stmts {
		if strings.EqualFold(x.effect, effect) {
			m.Statements = append(m.Statements, x.text)
		}
	}
	m.Note = "One of these " + effect + " statements decides; the deciding one could not be singled out."
	return m
}

// policyDocument reads a policy's document as the session: an inline policy of the
// principal (or of one of the user's groups), or a managed policy's default version.
func (c *Console) policyDocument(r *http.Request, s *session, principal, id, typ string) (string, error) {
	a, err := arn.Parse(principal)
	if err != nil {
		return "", err
	}
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	ctx := apiCtx(r)
	var doc string
	switch typ {
	case string(iamtypes.PolicySourceTypeUser):
		out, err := s.clients.iam.GetUserPolicy(ctx, &awsiam.GetUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String(id)})
		if err != nil {
			return "", err
		}
		doc = aws.ToString(out.PolicyDocument)
	case string(iamtypes.PolicySourceTypeRole):
		out, err := s.clients.iam.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(id)})
		if err != nil {
			return "", err
		}
		doc = aws.ToString(out.PolicyDocument)
	case string(iamtypes.PolicySourceTypeGroup):
		gs, err := s.clients.iam.ListGroupsForUser(ctx, &awsiam.ListGroupsForUserInput{UserName: aws.String(name)})
		if err != nil {
			return "", err
		}
		for _, g := range gs.Groups {
			out, err := s.clients.iam.GetGroupPolicy(ctx, &awsiam.GetGroupPolicyInput{GroupName: g.GroupName, PolicyName: aws.String(id)})
			if err == nil {
				doc = aws.ToString(out.PolicyDocument)
				break
			}
		}
		if doc == "" {
			return "", &APIError{Code: "NoSuchEntity", Message: "No group of the user has the policy " + id + ".", Status: http.StatusNotFound}
		}
	default: // managed: the ID is the policy's ARN
		p, err := s.clients.iam.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String(id)})
		if err != nil {
			return "", err
		}
		v, err := s.clients.iam.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(id), VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			return "", err
		}
		doc = aws.ToString(v.PolicyVersion.Document)
	}
	if strings.HasPrefix(doc, "%7B") || strings.HasPrefix(doc, "%7b") {
		if d, err := url.QueryUnescape(doc); err == nil {
			doc = d
		}
	}
	return doc, nil
}

// cutPosition returns the statement between a MatchedStatement's positions in doc: AWS's
// are 1-based lines and columns (in characters), each just after the statement's opening
// and closing brace, so the text runs from the character before start up to end. Positions
// that do not sit after a '{' and a '}' are refused.
func cutPosition(doc string, start, end *iamtypes.Position) (string, bool) {
	offset := func(p *iamtypes.Position) (int, bool) {
		line, col := int(p.Line), int(p.Column)
		if line < 1 || col < 1 {
			return 0, false
		}
		off := 0
		for l := 1; l < line; l++ {
			i := strings.IndexByte(doc[off:], '\n')
			if i < 0 {
				return 0, false
			}
			off += i + 1
		}
		for c := 1; c < col; c++ {
			if off >= len(doc) || doc[off] == '\n' {
				return 0, false
			}
			_, n := utf8.DecodeRuneInString(doc[off:])
			off += n
		}
		return off, true
	}
	a, ok1 := offset(start)
	b, ok2 := offset(end)
	if !ok1 || !ok2 || a < 1 || b <= a || doc[a-1] != '{' || doc[b-1] != '}' {
		return "", false
	}
	return doc[a-1 : b], true
}

// policyStatement is one statement of a policy document.
type policyStatement struct {
	raw, text, effect string
}

// splitStatements returns a document's statements (Statement is an object or an array),
// nil if it is not a policy document.
func splitStatements(doc string) []policyStatement {
	var p struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil || len(p.Statement) == 0 {
		return nil
	}
	var raws []json.RawMessage
	if p.Statement[0] == '[' {
		if err := json.Unmarshal(p.Statement, &raws); err != nil {
			return nil
		}
	} else {
		raws = []json.RawMessage{p.Statement}
	}
	var out []policyStatement
	for _, raw := range raws {
		var e struct{ Effect string }
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil
		}
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return nil
		}
		out = append(out, policyStatement{raw: string(raw), text: b.String(), effect: e.Effect})
	}
	return out
}
