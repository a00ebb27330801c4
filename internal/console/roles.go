package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func init() {
	pageSets = append(pageSets, registerRoles)
	funcs["seconds"] = func(p *int32) string {
		if p == nil {
			return ""
		}
		return (time.Duration(*p) * time.Second).String()
	}
}

// registerRoles registers the role pages;
// registerHolders registers deletion and the policy actions.
func registerRoles(c *Console) {
	c.page("GET "+Prefix+"roles", c.roles)
	c.page("POST "+Prefix+"roles", c.createRole)
	c.page("GET "+Prefix+"roles/{name}", c.rolePage)
	c.page("POST "+Prefix+"roles/{name}/trust", c.updateTrust)
	c.page("GET "+Prefix+"roles/{name}/inline/{policy}", c.roleInlinePage)
	c.page("POST "+Prefix+"roles/{name}/inline", c.putRolePolicy)
}

// trustTemplate is the trust policy a new role starts with: the account's principals (as
// their own policies allow) may assume it.
const trustTemplate = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::%s:root"},
      "Action": "sts:AssumeRole"
    }
  ]
}`

// rolesData is the roles page.
type rolesData struct {
	Roles  []iamtypes.Role
	More   bool
	Create *createForm
}

func trustEditor(doc string, pc *policyCheck, save string) *editor {
	return &editor{ID: "trust-document", Label: "Trust policy", Doc: doc, Check: pc, Save: save}
}

// createRoleForm is the roles page's create form with the trust policy doc.
func createRoleForm(doc string, pc *policyCheck) *createForm {
	return &createForm{Noun: "role", Label: "Role", Action: Prefix + "roles", NameMax: 64,
		Note:   "Who may assume the role. The template lets this account's principals assume it when their own policies allow sts:AssumeRole on it.",
		Editor: trustEditor(doc, pc, "Create role")}
}

// roles lists the account's roles (iam:ListRoles) with a form to create one.
func (c *Console) roles(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderRoles(w, r, s, http.StatusOK, &rolesData{Create: createRoleForm(fmt.Sprintf(trustTemplate, s.account), nil)})
}

func (c *Console) renderRoles(w http.ResponseWriter, r *http.Request, s *session, status int, d *rolesData) {
	out, err := s.clients.iam.ListRoles(apiCtx(r), &awsiam.ListRolesInput{MaxItems: aws.Int32(1000)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Roles, d.More = out.Roles, out.IsTruncated
	c.render(w, r, s, status, "roles", &view{Title: "Roles", Nav: "roles", Data: d})
}

// createRole validates the trust policy and creates the role (iam:CreateRole).
func (c *Console) createRole(w http.ResponseWriter, r *http.Request, s *session) {
	doc, pc, ok := formDocument(r, trustDoc)
	f := readCreateForm(r, createRoleForm(doc, pc))
	d := &rolesData{Create: f}
	if ok {
		in := &awsiam.CreateRoleInput{RoleName: aws.String(f.Name), AssumeRolePolicyDocument: aws.String(doc)}
		if f.Path != "" {
			in.Path = aws.String(f.Path)
		}
		if f.Desc != "" {
			in.Description = aws.String(f.Desc)
		}
		_, err := s.clients.iam.CreateRole(apiCtx(r), in)
		if err == nil {
			c.done(w, r, s, rolePath(f.Name), "Role "+f.Name+" created.")
			return
		}
		if !c.formError(w, r, s, err, pc) {
			return
		}
	}
	c.renderRoles(w, r, s, editorStatus(pc), d)
}

func rolePath(name string) string { return roleHolder.path(name) }

// roleData is a role's page.
type roleData struct {
	Role     *iamtypes.Role
	Trust    string // the trust policy, indented
	Attached []iamtypes.AttachedPolicy
	Inline   []string
	Policies []iamtypes.Policy // what may be attached, if the person may list policies
	Trusted  *editor
	// The inline policy shown (its name and document) or, after a failed put, the one
	// being written.
	InlineName string
	InlineDoc  string
	Put        *editor
}

// loadRole reads a role: iam:GetRole, iam:ListAttachedRolePolicies, iam:ListRolePolicies,
// and iam:ListPolicies for the attach form if the person may.
func (c *Console) loadRole(r *http.Request, s *session, name string) (*roleData, error) {
	ctx := apiCtx(r)
	g, err := s.clients.iam.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return nil, err
	}
	d := &roleData{Role: g.Role, Trust: docText(g.Role.AssumeRolePolicyDocument)}
	if d.Attached, err = roleHolder.listAttached(ctx, s.clients.iam, name); err != nil {
		return nil, err
	}
	if d.Inline, err = roleHolder.listInline(ctx, s.clients.iam, name); err != nil {
		return nil, err
	}
	if p, err := s.clients.iam.ListPolicies(ctx, &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeAll, MaxItems: aws.Int32(1000)}); err == nil {
		d.Policies = p.Policies
	}
	d.Trusted = trustEditor(d.Trust, nil, "Update trust policy")
	d.Put = &editor{ID: "inline-document", Label: "Policy document", Doc: fmt.Sprintf(examplePolicy, s.account), Save: "Save inline policy"}
	return d, nil
}

func (c *Console) renderRole(w http.ResponseWriter, r *http.Request, s *session, status int, d *roleData) {
	c.render(w, r, s, status, "role", &view{Title: "Role " + aws.ToString(d.Role.RoleName), Nav: "roles", Data: d})
}

// rolePage shows a role.
func (c *Console) rolePage(w http.ResponseWriter, r *http.Request, s *session) {
	d, err := c.loadRole(r, s, r.PathValue("name"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.renderRole(w, r, s, http.StatusOK, d)
}

// roleInlinePage shows a role with one of its inline policies (iam:GetRolePolicy) in the
// put form.
func (c *Console) roleInlinePage(w http.ResponseWriter, r *http.Request, s *session) {
	name, pol := r.PathValue("name"), r.PathValue("policy")
	d, err := c.loadRole(r, s, name)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	doc, err := roleHolder.getInline(apiCtx(r), s.clients.iam, name, pol)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.InlineName = pol
	d.InlineDoc = docText(doc)
	d.Put.Doc = d.InlineDoc
	c.renderRole(w, r, s, http.StatusOK, d)
}

// updateTrust validates the trust policy and replaces the role's
// (iam:UpdateAssumeRolePolicy).
func (c *Console) updateTrust(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	doc, pc, ok := formDocument(r, trustDoc)
	if ok {
		_, err := s.clients.iam.UpdateAssumeRolePolicy(apiCtx(r), &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(doc)})
		if err == nil {
			c.done(w, r, s, rolePath(name), "The trust policy of "+name+" was updated.")
			return
		}
		if !c.formError(w, r, s, err, pc) {
			return
		}
	}
	d, err := c.loadRole(r, s, name)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Trusted.Doc, d.Trusted.Check = doc, pc
	c.renderRole(w, r, s, editorStatus(pc), d)
}

// putRolePolicy validates the document and adds or replaces an inline policy of the role
// (iam:PutRolePolicy). It is the put form's handler for roles; users and groups have
// their own pages.
func (c *Console) putRolePolicy(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	pol := strings.TrimSpace(r.PostFormValue("policy"))
	doc, pc, ok := formDocument(r, roleInlineDoc)
	if ok {
		_, err := s.clients.iam.PutRolePolicy(apiCtx(r), &awsiam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pol), PolicyDocument: aws.String(doc)})
		if err == nil {
			c.done(w, r, s, rolePath(name)+"/inline/"+url.PathEscape(pol), "Inline policy "+pol+" saved.")
			return
		}
		if !c.formError(w, r, s, err, pc) {
			return
		}
	}
	d, err := c.loadRole(r, s, name)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.InlineName, d.Put.Doc, d.Put.Check = pol, doc, pc
	c.renderRole(w, r, s, editorStatus(pc), d)
}
