package console

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// A user's credentials: console password, MFA devices, access keys, and "my security
// credentials". Secrets (a new access key's secret, a virtual MFA device's seed) are
// shown once, on the answer to the POST that made them: never in a redirect, a flash, a
// URL or a log.

// registerCredentials is called by registerUsers: the paths are under a user's page.
func registerCredentials(c *Console) {
	c.page("GET "+Prefix+"me", c.me)
	c.page("POST "+Prefix+"users/{name}/password", c.createLoginProfile)
	c.page("POST "+Prefix+"users/{name}/password/update", c.updateLoginProfile)
	c.page("POST "+Prefix+"users/{name}/password/delete", c.deleteLoginProfile)
	c.page("POST "+Prefix+"users/{name}/password/change", c.changePassword)
	c.page("POST "+Prefix+"users/{name}/mfa", c.createVirtualMFA)
	c.page("POST "+Prefix+"users/{name}/mfa/enable", c.enableMFA)
	c.page("POST "+Prefix+"users/{name}/mfa/deactivate", c.deactivateMFA)
	c.page("POST "+Prefix+"users/{name}/keys", c.createAccessKey)
	c.page("POST "+Prefix+"users/{name}/keys/{id}/status", c.updateAccessKey)
	c.page("POST "+Prefix+"users/{name}/keys/{id}/delete", c.deleteAccessKey)
}

// me is "my security credentials": the signed-in user's own page.
func (c *Console) me(w http.ResponseWriter, r *http.Request, s *session) {
	http.Redirect(w, r, userPath(s.user), http.StatusSeeOther)
}

// createLoginProfile gives the user a console password (iam:CreateLoginProfile).
func (c *Console) createLoginProfile(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	in := &awsiam.CreateLoginProfileInput{UserName: aws.String(name), Password: aws.String(r.PostFormValue("password")), PasswordResetRequired: r.PostFormValue("reset") != ""}
	_, err := s.clients.iam.CreateLoginProfile(apiCtx(r), in)
	c.finish(w, r, s, err, userPath(name), "Console password created.")
}

// updateLoginProfile sets a new console password (iam:UpdateLoginProfile).
func (c *Console) updateLoginProfile(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	in := &awsiam.UpdateLoginProfileInput{UserName: aws.String(name), PasswordResetRequired: aws.Bool(r.PostFormValue("reset") != "")}
	if p := r.PostFormValue("password"); p != "" {
		in.Password = aws.String(p)
	}
	_, err := s.clients.iam.UpdateLoginProfile(apiCtx(r), in)
	c.finish(w, r, s, err, userPath(name), "Console password updated.")
}

// deleteLoginProfile removes the console password (iam:DeleteLoginProfile).
func (c *Console) deleteLoginProfile(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	_, err := s.clients.iam.DeleteLoginProfile(apiCtx(r), &awsiam.DeleteLoginProfileInput{UserName: aws.String(name)})
	c.finish(w, r, s, err, userPath(name), "Console password deleted.")
}

// changePassword changes the signed-in user's own password (iam:ChangePassword).
func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	if !strings.EqualFold(name, s.user) {
		c.fail(w, r, s, &APIError{Code: "InvalidInput", Message: "You can change only your own password here.", Status: http.StatusBadRequest})
		return
	}
	newPass := r.PostFormValue("new")
	if newPass != r.PostFormValue("new2") {
		c.fail(w, r, s, &APIError{Code: "InvalidInput", Message: "The new passwords do not match.", Status: http.StatusBadRequest})
		return
	}
	_, err := s.clients.iam.ChangePassword(apiCtx(r), &awsiam.ChangePasswordInput{OldPassword: aws.String(r.PostFormValue("old")), NewPassword: aws.String(newPass)})
	c.finish(w, r, s, err, userPath(name), "Your password was changed.")
}

// mfaData is the page that assigns a virtual MFA device: the seed and QR code once (on
// the answer to its creation), then the form for two consecutive codes.
type mfaData struct {
	User, Serial string
	Seed         string       // empty after the first answer
	QR           template.URL // the QR code as a data: URI; empty after the first answer
	Err          *APIError
}

// maxSerial bounds an MFA serial number carried in a form (an ARN).
const maxSerial = 512

// createVirtualMFA creates a virtual MFA device (iam:CreateVirtualMFADevice) and shows its
// seed and QR code, once, with the form that enables it.
func (c *Console) createVirtualMFA(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	dev := strings.TrimSpace(r.PostFormValue("device"))
	if dev == "" {
		dev = name
	}
	out, err := s.clients.iam.CreateVirtualMFADevice(apiCtx(r), &awsiam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(dev)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d := out.VirtualMFADevice
	c.render(w, r, s, http.StatusOK, "mfa", &view{Title: "Assign a virtual MFA device", Nav: "users", Data: &mfaData{
		User: name, Serial: aws.ToString(d.SerialNumber),
		Seed: string(d.Base32StringSeed), QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(d.QRCodePNG)),
	}})
}

// enableMFA assigns the virtual MFA device to the user after two consecutive codes
// (iam:EnableMFADevice). Wrong codes show the form again, without the seed.
func (c *Console) enableMFA(w http.ResponseWriter, r *http.Request, s *session) {
	name, serial := r.PathValue("name"), r.PostFormValue("serial")
	if serial == "" || len(serial) > maxSerial {
		c.fail(w, r, s, &APIError{Code: "InvalidInput", Message: "The MFA device's serial number is missing or too long.", Status: http.StatusBadRequest})
		return
	}
	_, err := s.clients.iam.EnableMFADevice(apiCtx(r), &awsiam.EnableMFADeviceInput{
		UserName: aws.String(name), SerialNumber: aws.String(serial),
		AuthenticationCode1: aws.String(strings.TrimSpace(r.PostFormValue("code1"))),
		AuthenticationCode2: aws.String(strings.TrimSpace(r.PostFormValue("code2"))),
	})
	if err != nil {
		ae := asAPIError(err)
		if ae.Code == "InvalidAuthenticationCode" {
			c.render(w, r, s, ae.Status, "mfa", &view{Title: "Assign a virtual MFA device", Nav: "users", Data: &mfaData{User: name, Serial: serial, Err: ae}})
			return
		}
		c.fail(w, r, s, err)
		return
	}
	c.done(w, r, s, userPath(name), "MFA device "+serial+" assigned.")
}

// deactivateMFA removes an MFA device from the user (iam:DeactivateMFADevice) and deletes
// a virtual one (iam:DeleteVirtualMFADevice), as AWS's console does.
func (c *Console) deactivateMFA(w http.ResponseWriter, r *http.Request, s *session) {
	name, serial := r.PathValue("name"), r.PostFormValue("serial")
	ctx := apiCtx(r)
	if _, err := s.clients.iam.DeactivateMFADevice(ctx, &awsiam.DeactivateMFADeviceInput{UserName: aws.String(name), SerialNumber: aws.String(serial)}); err != nil {
		c.fail(w, r, s, err)
		return
	}
	msg := "MFA device " + serial + " deactivated and deleted."
	if strings.Contains(serial, ":mfa/") {
		if _, err := s.clients.iam.DeleteVirtualMFADevice(ctx, &awsiam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)}); err != nil {
			ae := asAPIError(err)
			msg = "MFA device " + serial + " deactivated; deleting it failed: " + ae.Code + ": " + ae.Message
		}
	}
	c.done(w, r, s, userPath(name), msg)
}

// newKeyData is the answer to a new access key: its secret, shown this once.
type newKeyData struct {
	User string
	Key  iamtypes.AccessKey
}

// createAccessKey creates an access key (iam:CreateAccessKey) and shows its secret on this
// answer only: not a redirect, so that the secret is in no URL, flash or later page.
func (c *Console) createAccessKey(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	out, err := s.clients.iam.CreateAccessKey(apiCtx(r), &awsiam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "accesskey", &view{Title: "New access key", Nav: "users", Data: &newKeyData{User: name, Key: *out.AccessKey}})
}

// updateAccessKey makes an access key Active or Inactive (iam:UpdateAccessKey).
func (c *Console) updateAccessKey(w http.ResponseWriter, r *http.Request, s *session) {
	name, id := r.PathValue("name"), r.PathValue("id")
	status := iamtypes.StatusType(r.PostFormValue("status"))
	_, err := s.clients.iam.UpdateAccessKey(apiCtx(r), &awsiam.UpdateAccessKeyInput{UserName: aws.String(name), AccessKeyId: aws.String(id), Status: status})
	c.finish(w, r, s, err, userPath(name), "Access key "+id+" is now "+string(status)+".")
}

// deleteAccessKey deletes an access key (iam:DeleteAccessKey).
func (c *Console) deleteAccessKey(w http.ResponseWriter, r *http.Request, s *session) {
	name, id := r.PathValue("name"), r.PathValue("id")
	_, err := s.clients.iam.DeleteAccessKey(apiCtx(r), &awsiam.DeleteAccessKeyInput{UserName: aws.String(name), AccessKeyId: aws.String(id)})
	c.finish(w, r, s, err, userPath(name), "Access key "+id+" deleted.")
}
