package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
)

// signinForm is the sign-in page's state: what was typed (never the passwords) and which
// step the person is at.
type signinForm struct {
	Account, User, Next string
	Token               string // the sign-in form's CSRF token
	NeedMFA, NeedNew    bool
	Message             string
	Problem             bool // Message says what went wrong, not what to do next
}

// signinPage shows the sign-in form, with a fresh form token in a cookie beside it.
func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if s := c.sessions.get(cookieValue(r, sessionCookie), c.cfg.Now(), c.cfg.IdleTimeout); s != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	f := &signinForm{Account: r.URL.Query().Get("account"), Next: safeNext(r.URL.Query().Get("next"))}
	c.showSignin(w, r, http.StatusOK, f)
}

func (c *Console) showSignin(w http.ResponseWriter, r *http.Request, status int, f *signinForm) {
	f.Token = newToken()
	setCookie(w, r, signinCookie, f.Token, 3600)
	c.render(w, r, nil, status, "signin", &view{Title: "Sign in", Data: f})
}

// maxNext bounds a post-sign-in destination.
const maxNext = 2048

// safeNext keeps a post-sign-in destination inside the console: a path under Prefix
// with no dot segment in any spelling a browser or http.Redirect resolves ("..",
// "%2e%2e", …), no escaped slash or backslash, no control character, nothing url.Parse
// refuses.
func safeNext(next string) string {
	if len(next) > maxNext || !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, Prefix+"signin") || strings.HasPrefix(next, Prefix+"signout") {
		return Prefix
	}
	for i := 0; i < len(next); i++ {
		if b := next[i]; b < 0x20 || b == 0x7f || b == '\\' {
			return Prefix
		}
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return Prefix
	}
	p, _, _ := strings.Cut(next, "?")
	p, _, _ = strings.Cut(p, "#")
	lower := strings.ToLower(p)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return Prefix
	}
	for _, seg := range strings.Split(strings.ReplaceAll(lower, "%2e", "."), "/") {
		if seg == "." || seg == ".." {
			return Prefix
		}
	}
	return next
}

// signin checks the form: account (ID or alias), user name, password and, when asked
// for, the MFA code and a new password. Each attempt is a ConsoleLogin audit event.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	f := &signinForm{
		Account: strings.TrimSpace(r.PostFormValue("account")), User: strings.TrimSpace(r.PostFormValue("user")),
		Next: safeNext(r.PostFormValue("next")),
	}
	if !sameToken(r.PostFormValue("token"), cookieValue(r, signinCookie)) {
		f.Message, f.Problem = "The sign-in form expired. Try again.", true
		c.showSignin(w, r, http.StatusForbidden, f)
		return
	}
	in := iam.ConsoleSignInInput{
		Account: f.Account, UserName: f.User, Password: r.PostFormValue("password"),
		MFACode: strings.TrimSpace(r.PostFormValue("mfa")), NewPassword: r.PostFormValue("newpassword"),
		Duration: c.cfg.MaxAge,
	}
	if in.NewPassword != "" && in.NewPassword != r.PostFormValue("newpassword2") {
		f.NeedNew, f.NeedMFA = true, in.MFACode != ""
		f.Message, f.Problem = "The new passwords do not match.", true
		c.showSignin(w, r, http.StatusOK, f)
		return
	}
	select {
	case c.signins <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	cs, err := c.cfg.IAM.ConsoleSignIn(r.Context(), in)
	<-c.signins
	if err != nil {
		var se *iam.SignInError
		if !errors.As(err, &se) {
			c.fail(w, r, nil, err)
			return
		}
		switch se.Reason {
		case iam.SignInMFARequired:
			f.NeedMFA = true
		case iam.SignInMFAFailed:
			f.NeedMFA = true
			c.recordSignIn(r, in.Account, in.UserName, false, true, "Failed authentication")
		case iam.SignInNewPassword, iam.SignInPasswordRejected:
			f.NeedNew, f.NeedMFA = true, in.MFACode != ""
		default:
			c.recordSignIn(r, in.Account, in.UserName, false, false, "Failed authentication")
			user := hiddenUser // often a password typed into the wrong field
			if u, found := c.cfg.IAM.UserForSignIn(in.Account, in.UserName); found {
				user = u.UserName
			}
			c.log.Info("console sign-in refused", "account", audit.Clip(in.Account, maxLogged), "user", user, "source", r.RemoteAddr, "reason", se.Reason)
		}
		f.Message = se.Message
		f.Problem = se.Reason != iam.SignInMFARequired && se.Reason != iam.SignInNewPassword
		c.showSignin(w, r, http.StatusOK, f)
		return
	}
	now := c.cfg.Now()
	s := &session{
		id: newToken(), csrf: newToken(), account: cs.Account, user: cs.UserName, userARN: cs.UserARN, mfa: cs.MFA,
		creds: aws.Credentials{AccessKeyID: cs.AccessKeyID, SecretAccessKey: cs.SecretAccessKey, SessionToken: cs.SessionToken,
			CanExpire: true, Expires: cs.Expiration},
		expires: now.Add(c.cfg.MaxAge), lastSeen: now, // the credentials end then too
	}
	s.clients = c.newClients(s.creds)
	c.Sweep()
	c.sessions.add(s)
	c.recordSignIn(r, cs.Account, cs.UserName, true, cs.MFA, "")
	c.log.Info("console sign-in", "account", cs.Account, "user", cs.UserName, "mfa", cs.MFA, "source", r.RemoteAddr)
	setCookie(w, r, signinCookie, "", -1)
	setCookie(w, r, sessionCookie, s.id, 0)
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

// signout ends the session.
func (c *Console) signout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.remove(s.id)
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"signin?account="+s.account, http.StatusSeeOther)
}

// maxLogged bounds what is logged or recorded of a sign-in form's account and user name
// (IAM's longest user name is 64 bytes, an alias 63).
const maxLogged = 128

// hiddenUser stands for the name of a user that does not exist in the trail and the log,
// as CloudTrail hides it: it is often a password typed into the user name field.
const hiddenUser = "HIDDEN_DUE_TO_SECURITY_REASONS"

// recordSignIn writes CloudTrail's ConsoleLogin event. A failure for a user that does not
// exist names no user, as CloudTrail hides it.
func (c *Console) recordSignIn(r *http.Request, account, user string, ok, mfa bool, failure string) {
	if c.cfg.Recorder == nil {
		return
	}
	account, user = audit.Clip(account, maxLogged), audit.Clip(user, maxLogged)
	id := audit.UserIdentity{Type: "IAMUser", AccountID: account, UserName: hiddenUser}
	acct := account
	if u, found := c.cfg.IAM.UserForSignIn(account, user); found {
		acct = u.Account
		id = audit.UserIdentity{Type: "IAMUser", PrincipalID: u.UserID, ARN: u.ARN, AccountID: u.Account, UserName: u.UserName}
	} else if ok {
		return // deleted in between: nothing to name
	}
	result, used := "Failure", "No"
	if ok {
		result = "Success"
	}
	if mfa {
		used = "Yes"
	}
	e := &audit.Event{
		UserIdentity: id, EventTime: audit.Time{Time: c.cfg.Now()}, EventSource: "signin.amazonaws.com",
		EventName: "ConsoleLogin", AWSRegion: c.cfg.Region, SourceIPAddress: remoteIP(r).String(),
		UserAgent:           audit.Clip(r.UserAgent(), 1024),
		ResponseElements:    map[string]any{"ConsoleLogin": result},
		AdditionalEventData: map[string]any{"LoginTo": Prefix, "MobileVersion": "No", "MFAUsed": used},
		EventType:           "AwsConsoleSignIn", ManagementEvent: true, RecipientAccountID: acct, EventCategory: "Management",
	}
	if failure != "" {
		e.ErrorMessage = failure
	}
	if err := c.cfg.Recorder.Record(context.WithoutCancel(r.Context()), e); err != nil {
		c.log.Error("console: recording a sign-in", "err", err)
	}
}
