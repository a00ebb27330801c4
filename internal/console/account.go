package console

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// The account settings page: the account's password policy and its credential report,
// both read and changed through the API as the signed-in person.

func init() {
	pageSets = append(pageSets, registerAccount)
	funcs["derefInt"] = func(p *int32) int32 {
		if p == nil {
			return 0
		}
		return *p
	}
	funcs["derefBool"] = func(p *bool) bool { return p != nil && *p }
}

func registerAccount(c *Console) {
	c.page("GET "+Prefix+"account", c.account)
	c.page("GET "+Prefix+"account/credential-report.csv", c.credentialReportCSV)
	c.page("POST "+Prefix+"account/password-policy", c.updatePasswordPolicy)
	c.page("POST "+Prefix+"account/password-policy/delete", c.deletePasswordPolicy)
}

// accountPath is the console path of the account page.
const accountPath = Prefix + "account"

// Bounds of a credential report the page shows (the download is the API's answer as it
// is).
const (
	maxReportBytes = 1 << 20
	maxReportRows  = 10000
)

// accountData is the account page: each section carries its own error, so that a person
// who may read only one of them sees that one.
type accountData struct {
	Policy    *iamtypes.PasswordPolicy // nil: no policy (if PolicyErr is nil)
	PolicyErr *APIError

	Report    *credReport
	ReportErr *APIError
}

// credReport is a credential report as the page shows it.
type credReport struct {
	Generated time.Time
	Rows      []credRow
	Truncated bool // more than maxReportRows rows: the page shows the first ones
}

// credRow is one line of the credential report: the columns AWS documents that the page
// shows, as the report writes them ("true", "N/A", "no_information", ISO 8601 times).
type credRow struct {
	User, ARN                        string
	PasswordEnabled                  string
	PasswordLastUsed                 string
	PasswordLastChanged              string
	MFAActive                        string
	Key1Active, Key1LastUsed         string
	Key2Active, Key2LastUsed         string
	Key1LastRotated, Key2LastRotated string
}

// account shows the password policy (iam:GetAccountPasswordPolicy) and the credential
// report (iam:GenerateCredentialReport, iam:GetCredentialReport). A person who may read
// neither gets 403 with both errors.
func (c *Console) account(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := apiCtx(r)
	api := s.clients.iam
	d := &accountData{}
	if out, err := api.GetAccountPasswordPolicy(ctx, &awsiam.GetAccountPasswordPolicyInput{}); err == nil {
		d.Policy = out.PasswordPolicy
	} else if !isCode(err, "NoSuchEntity") {
		d.PolicyErr = sectionErr(err)
	}
	d.Report, d.ReportErr = c.credentialReport(r, s)

	status := http.StatusOK
	if denied(d.PolicyErr) && denied(d.ReportErr) {
		status = http.StatusForbidden
	}
	c.render(w, r, s, status, "account", &view{Title: "Account settings", Nav: "account", Data: d})
}

// denied reports whether e is an AccessDenied error.
func denied(e *APIError) bool { return e != nil && e.Code == "AccessDenied" }

// fetchReport asks for a credential report (GenerateCredentialReport, which reuses one
// under four hours old) and reads it (GetCredentialReport). A person who may not
// generate a report still reads the last one if they may; if they may not either, the
// error is GenerateCredentialReport's.
func fetchReport(r *http.Request, s *session) (*awsiam.GetCredentialReportOutput, error) {
	ctx := apiCtx(r)
	_, genErr := s.clients.iam.GenerateCredentialReport(ctx, &awsiam.GenerateCredentialReportInput{})
	out, err := s.clients.iam.GetCredentialReport(ctx, &awsiam.GetCredentialReportInput{})
	if err != nil && genErr != nil {
		return nil, genErr
	}
	return out, err
}

// credentialReport returns the credential report as the page shows it, or the section's
// error.
func (c *Console) credentialReport(r *http.Request, s *session) (*credReport, *APIError) {
	out, err := fetchReport(r, s)
	if err != nil {
		return nil, sectionErr(err)
	}
	rows, truncated, err := parseCredentialReport(out.Content, maxReportBytes, maxReportRows)
	if err != nil {
		return nil, &APIError{Code: "InvalidReport", Message: "The credential report could not be read: " + err.Error(), Status: http.StatusBadGateway}
	}
	return &credReport{Generated: aws.ToTime(out.GeneratedTime), Rows: rows, Truncated: truncated}, nil
}

// errReportTooLarge is parseCredentialReport's error for a report over its byte bound.
var errReportTooLarge = errors.New("console: credential report too large")

// parseCredentialReport reads a credential report's CSV: a header line naming the
// columns (found by name, so that their order does not matter), then a line per user. It
// reads at most maxBytes bytes (more is an error) and returns at most maxRows rows
// (truncated reports that there were more).
func parseCredentialReport(b []byte, maxBytes, maxRows int) (rows []credRow, truncated bool, err error) {
	if len(b) > maxBytes {
		return nil, false, errReportTooLarge
	}
	cr := csv.NewReader(bytes.NewReader(b))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, false, errors.New("console: credential report without a header")
	}
	if err != nil {
		return nil, false, err
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	if _, ok := col["user"]; !ok {
		return nil, false, errors.New("console: credential report without a user column")
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		if len(rows) == maxRows {
			return rows, true, nil
		}
		f := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		rows = append(rows, credRow{
			User: f("user"), ARN: f("arn"),
			PasswordEnabled: f("password_enabled"), PasswordLastUsed: f("password_last_used"), PasswordLastChanged: f("password_last_changed"),
			MFAActive:  f("mfa_active"),
			Key1Active: f("access_key_1_active"), Key1LastUsed: f("access_key_1_last_used_date"), Key1LastRotated: f("access_key_1_last_rotated"),
			Key2Active: f("access_key_2_active"), Key2LastUsed: f("access_key_2_last_used_date"), Key2LastRotated: f("access_key_2_last_rotated"),
		})
	}
}

// credentialReportCSV serves the credential report's CSV as a download.
func (c *Console) credentialReportCSV(w http.ResponseWriter, r *http.Request, s *session) {
	out, err := fetchReport(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	name := "credential-report-" + s.account + "-" + aws.ToTime(out.GeneratedTime).UTC().Format("20060102T150405Z") + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(out.Content)
}

// formInt32 reads an optional whole-number field: nil if empty (or 0 when zeroIsNil).
func formInt32(r *http.Request, field, label string, zeroIsNil bool) (*int32, error) {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return nil, &APIError{Code: "InvalidInput", Message: label + " must be a whole number.", Status: http.StatusBadRequest}
	}
	if n == 0 && zeroIsNil {
		return nil, nil
	}
	return aws.Int32(int32(n)), nil
}

// updatePasswordPolicy sets the account's password policy from the form
// (iam:UpdateAccountPasswordPolicy). The API validates the numbers; its error is shown.
func (c *Console) updatePasswordPolicy(w http.ResponseWriter, r *http.Request, s *session) {
	in := &awsiam.UpdateAccountPasswordPolicyInput{
		RequireSymbols:             r.PostFormValue("symbols") != "",
		RequireNumbers:             r.PostFormValue("numbers") != "",
		RequireUppercaseCharacters: r.PostFormValue("upper") != "",
		RequireLowercaseCharacters: r.PostFormValue("lower") != "",
		AllowUsersToChangePassword: r.PostFormValue("allowchange") != "",
		HardExpiry:                 aws.Bool(r.PostFormValue("hardexpiry") != ""),
	}
	var err error
	if in.MinimumPasswordLength, err = formInt32(r, "minlength", "The minimum length", false); err == nil {
		if in.MaxPasswordAge, err = formInt32(r, "maxage", "The maximum age", true); err == nil {
			in.PasswordReusePrevention, err = formInt32(r, "reuse", "The reuse prevention", true)
		}
	}
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	_, err = s.clients.iam.UpdateAccountPasswordPolicy(apiCtx(r), in)
	c.finish(w, r, s, err, accountPath, "Password policy updated.")
}

// deletePasswordPolicy removes the account's password policy
// (iam:DeleteAccountPasswordPolicy): AWS's default applies again.
func (c *Console) deletePasswordPolicy(w http.ResponseWriter, r *http.Request, s *session) {
	_, err := s.clients.iam.DeleteAccountPasswordPolicy(apiCtx(r), &awsiam.DeleteAccountPasswordPolicyInput{})
	c.finish(w, r, s, err, accountPath, "Password policy deleted: AWS's default applies.")
}
