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

func registerRoles(c *Console) {
	c.page("GET "+Prefix+"roles", c.roles)
	c.page("POST "+Prefix+"roles", c.createRole)
	c.page("GET "+Prefix+"roles/{name}", c.rolePage)
	c.page("POST "+Prefix+"roles/{name}/trust", c.updateTrust)
	c.page("POST "+Prefix+"roles/{name}/attach", c.attachRolePolicy)
	c.page("POST "+Prefix+"roles/{name}/detach", c.detachRolePolicy)
	c.page("GET "+Prefix+"roles/{name}/inline/{policy}", c.roleInlinePage)
	c.page("POST "+Prefix+"roles/{name}/inline", c.putRolePolicy)
	c.page("POST "+Prefix+"roles/{name}/inline/{policy}/delete", c.deleteRolePolicy)
	c.page("POST "+Prefix+"roles/{name}/delete", c.deleteRole)
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
	Name   string // the create form's fields
	Path   string
	Desc   string
	Editor *editor
}

func trustEditor(doc string, pc *policyCheck, save string) *editor {
	return &editor{ID: "trust-document", Label: "Trust policy", Doc: doc, Check: pc, Save: save}
}

// roles lists the account's roles (iam:ListRoles) with a form to create one.
func (c *Console) roles(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderRoles(w, r, s, http.StatusOK, &rolesData{Editor: trustEditor(fmt.Sprintf(trustTemplate, s.account), nil, "Create role")})
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
	d := &rolesData{
		Name: strings.TrimSpace(r.PostFormValue("name")),
		Path: strings.TrimSpace(r.PostFormValue("path")),
		Desc: strings.TrimSpace(r.PostFormValue("description")),
	}
	doc, pc, ok := formDocument(r, trustDoc)
	d.Editor = trustEditor(doc, pc, "Create role")
	if ok {
		in := &awsiam.CreateRoleInput{RoleName: aws.String(d.Name), AssumeRolePolicyDocument: aws.String(doc)}
		if d.Path != "" {
			in.Path = aws.String(d.Path)
		}
		if d.Desc != "" {
			in.Description = aws.String(d.Desc)
		}
		_, err := s.clients.iam.CreateRole(apiCtx(r), in)
		if err == nil {
			c.done(w, r, s, rolePath(d.Name), "Role "+d.Name+" created.")
			return
		}
		if !c.formError(w, r, s, err, pc) {
			return
		}
	}
	c.renderRoles(w, r, s, editorStatus(pc), d)
}

func rolePath(name string) string { return Prefix + "roles/" + url.PathEscape(name) }

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
	a, err := s.clients.iam.ListAttachedRolePolicies(ctx, &awsiam.ListAttachedRolePoliciesInput{RoleName: aws.String(name), MaxItems: aws.Int32(1000)})
	if err != nil {
		return nil, err
	}
	d.Attached = a.AttachedPolicies
	in, err := s.clients.iam.ListRolePolicies(ctx, &awsiam.ListRolePoliciesInput{RoleName: aws.String(name), MaxItems: aws.Int32(1000)})
	if err != nil {
		return nil, err
	}
	d.Inline = in.PolicyNames
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
	out, err := s.clients.iam.GetRolePolicy(apiCtx(r), &awsiam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pol)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.InlineName = pol
	d.InlineDoc = docText(out.PolicyDocument)
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

// deleteRolePolicy deletes an inline policy of the role (iam:DeleteRolePolicy).
func (c *Console) deleteRolePolicy(w http.ResponseWriter, r *http.Request, s *session) {
	name, pol := r.PathValue("name"), r.PathValue("policy")
	if _, err := s.clients.iam.DeleteRolePolicy(apiCtx(r), &awsiam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pol)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, rolePath(name), "Inline policy "+pol+" deleted.")
}

// attachRolePolicy attaches a managed policy (iam:AttachRolePolicy).
func (c *Console) attachRolePolicy(w http.ResponseWriter, r *http.Request, s *session) {
	name, arn := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("arn"))
	if _, err := s.clients.iam.AttachRolePolicy(apiCtx(r), &awsiam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arn)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, rolePath(name), "Policy "+arn+" attached.")
}

// detachRolePolicy detaches a managed policy (iam:DetachRolePolicy).
func (c *Console) detachRolePolicy(w http.ResponseWriter, r *http.Request, s *session) {
	name, arn := r.PathValue("name"), r.PostFormValue("arn")
	if _, err := s.clients.iam.DetachRolePolicy(apiCtx(r), &awsiam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arn)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, rolePath(name), "Policy "+arn+" detached.")
}

// deleteRole deletes the role (iam:DeleteRole); IAM refuses while policies are attached
// or inline policies remain.
func (c *Console) deleteRole(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	if _, err := s.clients.iam.DeleteRole(apiCtx(r), &awsiam.DeleteRoleInput{RoleName: aws.String(name)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, Prefix+"roles", "Role "+name+" deleted.")
}
