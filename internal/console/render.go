package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// Who is the signed-in person, as pages show it.
type Who struct {
	User, Account, ARN string
	MFA                bool
}

// view is what every page template gets.
type view struct {
	Title string
	Nav   string // the navigation entry to mark as current
	S     *Who   // the signed-in person, nil on the sign-in page
	CSRF  string
	Flash string
	Err   *APIError
	Data  any
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		d := time.Since(t).Round(time.Second)
		switch {
		case d < time.Minute:
			return fmt.Sprintf("%ds ago", int(d.Seconds()))
		case d < time.Hour:
			return fmt.Sprintf("%dm ago", int(d.Minutes()))
		case d < 48*time.Hour:
			return fmt.Sprintf("%dh ago", int(d.Hours()))
		}
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	},
	"deref": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
	"derefTime": func(p *time.Time) time.Time {
		if p == nil {
			return time.Time{}
		}
		return *p
	},
	"prettyJSON": prettyJSON,
	"join":       strings.Join,
}

// prettyJSON indents a JSON document (a URL-encoded one, as IAM returns policies, too);
// what is not JSON is returned as it is.
func prettyJSON(doc string) string {
	if strings.HasPrefix(doc, "%7B") || strings.HasPrefix(doc, "%7b") {
		if d, err := url.QueryUnescape(doc); err == nil {
			doc = d
		}
	}
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "", "  "); err != nil {
		return doc
	}
	return b.String()
}

// parseTemplates parses each page template with the layout and the shared blocks
// (partials.html: the parts pages of several kinds show alike).
func (c *Console) parseTemplates() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return fmt.Errorf("console: template %s: %w", n, err)
		}
		c.pages[base] = t
	}
	return nil
}

// render writes page name with v. s may be nil (the sign-in page).
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name string, v *view) {
	t := c.pages[name]
	if t == nil {
		panic("console: no template " + name)
	}
	if s != nil {
		v.S = &Who{User: s.user, Account: s.account, ARN: s.userARN, MFA: s.mfa}
		v.CSRF = s.csrf
		if v.Flash == "" {
			v.Flash = s.takeFlash()
		}
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		c.log.Error("console: rendering a page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail renders err as an error page: AWS's code and message, 403 for AccessDenied.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	ae := asAPIError(err)
	if ae.Status >= 500 {
		c.log.Error("console: request failed", "path", r.URL.Path, "err", err)
	}
	title := "Error"
	if ae.Code == "AccessDenied" || ae.Code == "AccessDeniedException" {
		title = "Access denied"
	}
	c.render(w, r, s, ae.Status, "error", &view{Title: title, Err: ae})
}

// done ends a successful POST: a one-time message and a redirect to to (303).
func (c *Console) done(w http.ResponseWriter, r *http.Request, s *session, to, msg string) {
	s.setFlash(msg)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// finish ends a POST that made one API call: the error page, or the redirect to to with
// msg.
func (c *Console) finish(w http.ResponseWriter, r *http.Request, s *session, err error, to, msg string) {
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, to, msg)
}
