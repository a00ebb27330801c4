package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iamdb/iamdb/internal/policysim"
	"github.com/iamdb/iamdb/policy"
)

func init() {
	pageSets = append(pageSets, registerPolicies)
	funcs["jsonEditor"] = renderEditor
	funcs["docText"] = docText
	funcs["deref32"] = func(p *int32) int32 {
		if p == nil {
			return 0
		}
		return *p
	}
}

func registerPolicies(c *Console) {
	c.page("GET "+Prefix+"policies", c.policies)
	c.page("POST "+Prefix+"policies", c.createPolicy)
	c.page("GET "+Prefix+"policies/{arn...}", c.policyPage)
	c.page("POST "+Prefix+"policies/versions", c.createPolicyVersion)
	c.page("POST "+Prefix+"policies/default-version", c.setDefaultPolicyVersion)
	c.page("POST "+Prefix+"policies/delete-version", c.deletePolicyVersion)
	c.page("POST "+Prefix+"policies/delete", c.deletePolicy)
}

// maxDocument bounds the policy document a form may carry (IAM's own bound on the
// policyDocument parameter); the size quotas below it are checked by policy.Parse.
const maxDocument = 131072

// docKind is what a document in a form is: the kind policy.Parse checks it as and the size
// quota IAM applies to it, as "iamdb policy validate --kind" does.
type docKind struct {
	kind  policy.Kind
	limit int
}

var (
	managedDoc    = docKind{policy.KindIdentity, policy.MaxManagedPolicySize}
	roleInlineDoc = docKind{policy.KindIdentity, policy.MaxRoleInlineSize}
	trustDoc      = docKind{policy.KindTrust, policy.MaxTrustPolicySize}
)

// policyCheck is the outcome of validating a document: no problems means valid.
type policyCheck struct {
	Kind     string   // "identity-based policy", "role trust policy"
	Problems []string // what makes it invalid, in IAM's words
	Warnings []string // what is valid but probably not meant
	// Refused is the API's error when it refused a document the check passed (code:
	// message), Status its HTTP status.
	Refused string
	Status  int
}

// Valid reports whether the check found no problem.
func (pc *policyCheck) Valid() bool { return len(pc.Problems) == 0 }

// validatePolicy checks doc as "iamdb policy validate" does (policy.Parse with the kind
// and its quota, messages from policysim.Message), adding the line and column of a JSON
// syntax error and warnings for what IAM accepts but rarely is meant.
func validatePolicy(doc string, k docKind) *policyCheck {
	pc := &policyCheck{Kind: k.kind.String()}
	switch {
	case strings.TrimSpace(doc) == "":
		pc.Problems = []string{"MalformedPolicyDocument: the policy document is empty"}
		return pc
	case len(doc) > maxDocument:
		pc.Problems = []string{fmt.Sprintf("LimitExceeded: the policy document is longer than %d bytes", maxDocument)}
		return pc
	}
	p, err := policy.Parse([]byte(doc), policy.WithKind(k.kind), policy.WithMaxSize(k.limit))
	if err != nil {
		msg := policysim.Message(err)
		if errors.Is(err, policy.ErrMalformed) {
			if line, col, ok := syntaxPosition(doc); ok {
				msg += fmt.Sprintf(" (line %d, column %d)", line, col)
			}
		}
		pc.Problems = []string{msg}
		return pc
	}
	if p.Version() != policy.Version2012 {
		pc.Warnings = append(pc.Warnings, `Version is not "2012-10-17": policy variables such as ${aws:username} are not replaced`)
	}
	return pc
}

// syntaxPosition returns the line and column (1-based, in characters) of the first JSON
// syntax error in doc, if it has one.
func syntaxPosition(doc string) (line, col int, ok bool) {
	var v any
	var se *json.SyntaxError
	if err := json.Unmarshal([]byte(doc), &v); !errors.As(err, &se) {
		return 0, 0, false
	}
	off := int(se.Offset)
	if off < 0 || off > len(doc) {
		return 0, 0, false
	}
	before := doc[:off]
	line = 1 + strings.Count(before, "\n")
	col = utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
	return line, max(col, 1), true
}

// docText is a policy document as IAM returns it (URL-encoded) made readable: decoded and
// indented. What is not JSON is returned decoded but otherwise as it is.
func docText(doc any) string {
	var s string
	switch d := doc.(type) {
	case string:
		s = d
	case *string:
		if d != nil {
			s = *d
		}
	}
	if t := strings.TrimSpace(s); t != "" && !strings.HasPrefix(t, "{") {
		if u, err := url.QueryUnescape(s); err == nil {
			s = u
		}
	}
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
		return s
	}
	return b.String()
}

// editor is one JSON policy editor in a form: the textarea, the outcome of the last check
// and the Save and Validate buttons. The form around it (action, CSRF, other fields) is the
// page's.
type editor struct {
	ID    string // the textarea's id, unique on the page
	Label string
	Doc   string
	Check *policyCheck // nil when the document was not checked
	Save  string       // the save button's label
}

var editorTemplate = template.Must(template.New("editor").Parse(`<label for="{{.ID}}">{{.Label}}</label>
<textarea class="json" id="{{.ID}}" name="document" rows="16" spellcheck="false" autocomplete="off" required{{if .Check}} aria-describedby="{{.ID}}-check"{{end}}>
{{.Doc}}</textarea>
{{with .Check}}<div id="{{$.ID}}-check">
{{if .Problems}}<div class="error" role="alert"><p><strong>The {{.Kind}} is not valid:</strong></p><ul>{{range .Problems}}<li>{{.}}</li>{{end}}</ul></div>
{{else if .Refused}}<div class="error" role="alert"><p><strong>Nothing was saved:</strong> {{.Refused}}</p></div>
{{else}}<p class="flash" role="status">The {{.Kind}} is valid.</p>{{end}}
{{if .Warnings}}<div class="warn"><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
</div>{{end}}
<div class="row"><button type="submit" name="op" value="save">{{.Save}}</button><button type="submit" class="secondary" name="op" value="validate">Validate</button></div>
`))

// createForm is a listing page's form to create a user, group, role or policy
// (partials.html "create-form"): a name and a path, and for roles and policies a
// description and a document.
type createForm struct {
	Noun    string // "user": the heading says "Create a user"
	Label   string // "User": the name's label says "User name"
	Action  string // the form's path
	NameMax int    // IAM's bound on the name's length

	Name, Path, Desc string  // what the form was sent with, when it is shown again
	Note             string  // a paragraph before the document
	Editor           *editor // the document; nil for none (and no description)
}

// readCreateForm reads a submitted create form's name, path and description into f.
func readCreateForm(r *http.Request, f *createForm) *createForm {
	f.Name = strings.TrimSpace(r.PostFormValue("name"))
	f.Path = strings.TrimSpace(r.PostFormValue("path"))
	f.Desc = strings.TrimSpace(r.PostFormValue("description"))
	return f
}

// renderEditor is the template function jsonEditor.
func renderEditor(e *editor) (template.HTML, error) {
	var b strings.Builder
	if err := editorTemplate.Execute(&b, e); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// formDocument reads the document of a submitted editor, validates it, and says whether
// the form only asked to validate. ok is whether the API may be called.
func formDocument(r *http.Request, k docKind) (doc string, pc *policyCheck, ok bool) {
	doc = r.PostFormValue("document")
	pc = validatePolicy(doc, k)
	return doc, pc, pc.Valid() && r.PostFormValue("op") != "validate"
}

// editorStatus is the status of a page re-rendered with its editor's check.
func editorStatus(pc *policyCheck) int {
	if pc.Status != 0 {
		return pc.Status
	}
	if pc.Valid() {
		return http.StatusOK
	}
	return http.StatusBadRequest
}

// formError decides how an API error of a form with an editor is shown: refusals of the
// request (bad document, name taken, quota, invalid name) are shown with the editor, so
// the document is kept;
// access denied, missing entities and internal errors are error pages. It returns false
// when it rendered the error page.
func (c *Console) formError(w http.ResponseWriter, r *http.Request, s *session, err error, pc *policyCheck) bool {
	ae := asAPIError(err)
	switch ae.Code {
	case "MalformedPolicyDocument", "LimitExceeded", "EntityAlreadyExists", "InvalidInput", "ValidationError":
		pc.Refused, pc.Status = ae.Code+": "+ae.Message, ae.Status
		return true
	}
	c.fail(w, r, s, err)
	return false
}

const examplePolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "rds-db:connect",
      "Resource": "arn:aws:rds-db:*:%s:dbuser:*/*"
    }
  ]
}`

// policiesData is the policies page.
type policiesData struct {
	Scope    string // Local, AWS or All
	Policies []iamtypes.Policy
	More     bool
	Create   *createForm
}

func policyScope(s string) string {
	switch s {
	case "All", "AWS":
		return s
	}
	return "Local"
}

// createPolicyForm is the policies page's create form with the document doc.
func createPolicyForm(doc string, pc *policyCheck) *createForm {
	return &createForm{Noun: "policy", Label: "Policy", Action: Prefix + "policies", NameMax: 128,
		Editor: &editor{ID: "policy-document", Label: "Policy document", Doc: doc, Check: pc, Save: "Create policy"}}
}

// policies lists managed policies (iam:ListPolicies; the account's own by default).
func (c *Console) policies(w http.ResponseWriter, r *http.Request, s *session) {
	d := &policiesData{Create: createPolicyForm(fmt.Sprintf(examplePolicy, s.account), nil)}
	c.renderPolicies(w, r, s, http.StatusOK, policyScope(r.URL.Query().Get("scope")), d)
}

func (c *Console) renderPolicies(w http.ResponseWriter, r *http.Request, s *session, status int, scope string, d *policiesData) {
	out, err := s.clients.iam.ListPolicies(apiCtx(r), &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeType(scope), MaxItems: aws.Int32(1000)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Scope, d.Policies, d.More = scope, out.Policies, out.IsTruncated
	c.render(w, r, s, status, "policies", &view{Title: "Policies", Nav: "policies", Data: d})
}

// createPolicy validates the document and creates a managed policy (iam:CreatePolicy).
func (c *Console) createPolicy(w http.ResponseWriter, r *http.Request, s *session) {
	doc, pc, ok := formDocument(r, managedDoc)
	f := readCreateForm(r, createPolicyForm(doc, pc))
	d := &policiesData{Create: f}
	if ok {
		in := &awsiam.CreatePolicyInput{PolicyName: aws.String(f.Name), PolicyDocument: aws.String(doc)}
		if f.Path != "" {
			in.Path = aws.String(f.Path)
		}
		if f.Desc != "" {
			in.Description = aws.String(f.Desc)
		}
		out, err := s.clients.iam.CreatePolicy(apiCtx(r), in)
		if err == nil {
			c.done(w, r, s, policyPath(aws.ToString(out.Policy.Arn)), "Policy "+f.Name+" created.")
			return
		}
		if !c.formError(w, r, s, err, pc) {
			return
		}
	}
	c.renderPolicies(w, r, s, editorStatus(pc), "Local", d)
}

// policyPath is the console path of a managed policy's page: the ARN's segments
// escaped, since a policy's path may hold "?", "#" or "%"; an ARN with a "." or ".."
// segment (IAM allows them in paths), which a browser and the ServeMux would resolve away,
// goes in the query instead.
func policyPath(arn string) string {
	segs := strings.Split(arn, "/")
	for i, s := range segs {
		if s == "." || s == ".." {
			return Prefix + "policies/?arn=" + url.QueryEscape(arn)
		}
		segs[i] = url.PathEscape(s)
	}
	return Prefix + "policies/" + strings.Join(segs, "/")
}

// pathSegment escapes a name for one segment of a console path. IAM's names may be "."
// or "..", which a browser resolves away (a form to delete an inline policy named ".."
// would post to its user's delete): those get a trailing space, which no route and no
// IAM name takes, so that their links and forms fail instead of reaching another page.
func pathSegment(name string) string {
	if name == "." || name == ".." {
		name += " "
	}
	return url.PathEscape(name)
}

func init() {
	funcs["policyHref"] = policyPath
	funcs["seg"] = pathSegment
}

// policyData is a managed policy's page.
type policyData struct {
	Policy   *iamtypes.Policy
	Document string // the default version's, indented
	Versions []iamtypes.PolicyVersion
	Groups   []iamtypes.PolicyGroup
	Users    []iamtypes.PolicyUser
	Roles    []iamtypes.PolicyRole
	Local    bool // the account's own policy, not AWS managed: it can be changed
	Editor   *editor
}

// policyARN is the policy a request is about: the path's rest, or ?arn= / the form's arn.
func policyARN(r *http.Request) string {
	if a := r.PathValue("arn"); a != "" {
		return a
	}
	return r.FormValue("arn")
}

// policyPage shows a managed policy: iam:GetPolicy, the default version's document
// (iam:GetPolicyVersion), its versions and where it is attached.
func (c *Console) policyPage(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := c.loadPolicy(r, s, policyARN(r))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Editor.Doc = d.Document
	c.renderPolicy(w, r, s, http.StatusOK, d)
}

func (c *Console) renderPolicy(w http.ResponseWriter, r *http.Request, s *session, status int, d *policyData) {
	c.render(w, r, s, status, "policy", &view{Title: "Policy " + aws.ToString(d.Policy.PolicyName), Nav: "policies", Data: d})
}

func (c *Console) loadPolicy(r *http.Request, s *session, arn string) (*policyData, error) {
	ctx := apiCtx(r)
	p, err := s.clients.iam.GetPolicy(ctx, &awsiam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	d := &policyData{Policy: p.Policy, Local: !strings.HasPrefix(arn, "arn:aws:iam::aws:")}
	v, err := s.clients.iam.GetPolicyVersion(ctx, &awsiam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
	if err != nil {
		return nil, err
	}
	d.Document = docText(v.PolicyVersion.Document)
	vs, err := s.clients.iam.ListPolicyVersions(ctx, &awsiam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	d.Versions = vs.Versions
	es, err := s.clients.iam.ListEntitiesForPolicy(ctx, &awsiam.ListEntitiesForPolicyInput{PolicyArn: aws.String(arn), MaxItems: aws.Int32(1000)})
	if err != nil {
		return nil, err
	}
	d.Groups, d.Users, d.Roles = es.PolicyGroups, es.PolicyUsers, es.PolicyRoles
	d.Editor = &editor{ID: "version-document", Label: "Policy document of the new version", Save: "Save as new default version"}
	return d, nil
}

// createPolicyVersion validates the document and makes it the policy's new default
// version (iam:CreatePolicyVersion with SetAsDefault).
func (c *Console) createPolicyVersion(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.PostFormValue("arn")
	doc, pc, ok := formDocument(r, managedDoc)
	if ok {
		_, err := s.clients.iam.CreatePolicyVersion(apiCtx(r), &awsiam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(doc), SetAsDefault: true})
		if err == nil {
			c.done(w, r, s, policyPath(arn), "A new default version of the policy was saved.")
			return
		}
		if !c.formError(w, r, s, err, pc) {
			return
		}
	}
	d, err := c.loadPolicy(r, s, arn)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Editor.Doc, d.Editor.Check = doc, pc
	c.renderPolicy(w, r, s, editorStatus(pc), d)
}

// setDefaultPolicyVersion makes a version the default (iam:SetDefaultPolicyVersion).
func (c *Console) setDefaultPolicyVersion(w http.ResponseWriter, r *http.Request, s *session) {
	arn, id := r.PostFormValue("arn"), r.PostFormValue("version")
	_, err := s.clients.iam.SetDefaultPolicyVersion(apiCtx(r), &awsiam.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(id)})
	c.finish(w, r, s, err, policyPath(arn), "Version "+id+" is now the default.")
}

// deletePolicyVersion deletes a version that is not the default (iam:DeletePolicyVersion).
func (c *Console) deletePolicyVersion(w http.ResponseWriter, r *http.Request, s *session) {
	arn, id := r.PostFormValue("arn"), r.PostFormValue("version")
	_, err := s.clients.iam.DeletePolicyVersion(apiCtx(r), &awsiam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String(id)})
	c.finish(w, r, s, err, policyPath(arn), "Version "+id+" deleted.")
}

// deletePolicy deletes a managed policy (iam:DeletePolicy); IAM refuses while it is
// attached or has versions besides the default.
func (c *Console) deletePolicy(w http.ResponseWriter, r *http.Request, s *session) {
	arn := r.PostFormValue("arn")
	_, err := s.clients.iam.DeletePolicy(apiCtx(r), &awsiam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	c.finish(w, r, s, err, Prefix+"policies", "Policy deleted.")
}
