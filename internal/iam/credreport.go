package iam

import (
	"bytes"
	"context"
	"encoding/csv"
	"sort"
	"time"

	"github.com/iamdb/iamdb/internal/store"
)

// The credential report: GenerateCredentialReport and GetCredentialReport, one CSV per
// account kept in the store.

// kindCredReport holds each account's last credential report: key ACCT.
const kindCredReport = "credreport"

// credReportMaxAge is how long a report is reused by GenerateCredentialReport.
const credReportMaxAge = 4 * time.Hour

// CredentialReportHeader is the header line of the report, as AWS writes it.
const CredentialReportHeader = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed," +
	"password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date," +
	"access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated," +
	"access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active," +
	"cert_1_last_rotated,cert_2_active,cert_2_last_rotated"

// States of GenerateCredentialReport.
const (
	ReportStarted  = "STARTED"
	ReportComplete = "COMPLETE"
)

// CodeReportNotPresent is GetCredentialReport's error before any report was generated.
const CodeReportNotPresent = "ReportNotPresent"

// CredentialReport is GetCredentialReport's result.
type CredentialReport struct {
	Content       []byte // the CSV
	ReportFormat  string // "text/csv"
	GeneratedTime time.Time
}

// GenerateCredentialReportOutput is GenerateCredentialReport's result.
type GenerateCredentialReportOutput struct {
	State       string // ReportStarted (a new report) or ReportComplete (one under 4 hours old)
	Description string
}

type credReportDoc struct {
	Generated time.Time `json:"generated"`
	CSV       []byte    `json:"csv"`
}

// GenerateCredentialReport makes the account's credential report, unless one under 4
// hours old exists. The report is made at once: a following GetCredentialReport finds it.
// Authorized as iam:GenerateCredentialReport on "*".
func (s *Service) GenerateCredentialReport(ctx context.Context, c *Caller) (GenerateCredentialReportOutput, error) {
	if err := needCaller(c); err != nil {
		return GenerateCredentialReportOutput{}, err
	}
	if err := s.authorize(ctx, c, "iam:GenerateCredentialReport", "*", nil); err != nil {
		return GenerateCredentialReportOutput{}, err
	}
	var out GenerateCredentialReportOutput
	err := s.st.Update(ctx, func(tx store.Tx) error {
		now := s.now().UTC()
		var old credReportDoc
		if ok, err := getDoc(tx, kindCredReport, c.Account, &old); err != nil {
			return err
		} else if ok && now.Sub(old.Generated) < credReportMaxAge {
			out = GenerateCredentialReportOutput{State: ReportComplete}
			return nil
		}
		csv, err := s.credentialReport(tx, c.Account)
		if err != nil {
			return err
		}
		out = GenerateCredentialReportOutput{State: ReportStarted, Description: "No report exists. Starting a new report generation task"}
		return putDoc(tx, kindCredReport, c.Account, &credReportDoc{Generated: now, CSV: csv})
	})
	return out, err
}

// GetCredentialReport returns the account's last credential report, or ReportNotPresent.
// Authorized as iam:GetCredentialReport on "*".
func (s *Service) GetCredentialReport(ctx context.Context, c *Caller) (CredentialReport, error) {
	if err := needCaller(c); err != nil {
		return CredentialReport{}, err
	}
	if err := s.authorize(ctx, c, "iam:GetCredentialReport", "*", nil); err != nil {
		return CredentialReport{}, err
	}
	var d credReportDoc
	err := s.st.View(ctx, func(tx store.Tx) error {
		ok, err := getDoc(tx, kindCredReport, c.Account, &d)
		if err == nil && !ok {
			err = apiErr(CodeReportNotPresent, "Credential report not present. Call GenerateCredentialReport first.")
		}
		return err
	})
	if err != nil {
		return CredentialReport{}, err
	}
	return CredentialReport{Content: d.CSV, ReportFormat: "text/csv", GeneratedTime: d.Generated}, nil
}

// reportTime is a time as the report writes it: ISO 8601 with +00:00.
func reportTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// keyLastUsed returns an access key's last use: stored, or pending if later.
func (s *Service) keyLastUsed(tx store.Tx, akid string) (lastUsedDoc, error) {
	var lu lastUsedDoc
	if _, err := getDoc(tx, kindLastUsed, lastUsedKeyKey(akid), &lu); err != nil {
		return lu, err
	}
	if p, ok := pending(&s.usage.keys, akid); ok && p.Date.After(lu.Date) {
		lu = p
	}
	return lu, nil
}

// credentialReport writes the CSV of acct: the root row, then each user by name.
func (s *Service) credentialReport(tx store.Tx, acct string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(CredentialReportHeader + "\n")
	w := csv.NewWriter(&buf)
	var ad accountDoc
	if _, err := getDoc(tx, kindAccount, acct, &ad); err != nil {
		return nil, err
	}
	noKey := []string{"false", "N/A", "N/A", "N/A", "N/A"}
	root := []string{"<root_account>", rootARN(acct), reportTime(ad.Created), "not_supported", "no_information", "not_supported", "not_supported", "false"}
	root = append(append(append(root, noKey...), noKey...), "false", "N/A", "false", "N/A")
	if err := w.Write(root); err != nil {
		return nil, err
	}
	its, err := listAll(tx, kindUser, accountPrefix(acct))
	if err != nil {
		return nil, err
	}
	users := make([]*userDoc, 0, len(its))
	for _, d := range decoded[userDoc](its) {
		users = append(users, d)
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	pol, err := loadPasswordPolicy(tx, acct)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		row := []string{u.Name, userARN(acct, u.Path, u.Name), reportTime(u.Created), "false", "N/A", "N/A", "N/A", "false"}
		var l loginDoc
		if ok, err := getDoc(tx, kindLogin, entityKey(acct, u.Name), &l); err != nil {
			return nil, err
		} else if ok {
			row[3], row[4], row[5] = "true", "no_information", reportTime(l.Set)
			if !l.Used.IsZero() {
				row[4] = reportTime(l.Used)
			}
			if pol != nil && pol.MaxAge > 0 {
				row[6] = reportTime(l.Set.Add(time.Duration(pol.MaxAge) * 24 * time.Hour))
			}
		}
		if ds, err := userDevices(tx, acct, u.Name); err != nil {
			return nil, err
		} else if len(ds) > 0 {
			row[7] = "true"
		}
		var keys []*keyDoc
		for _, akid := range u.Keys {
			k, ok, err := loadKey(tx, akid)
			if err != nil {
				return nil, err
			}
			if ok {
				keys = append(keys, k)
			}
		}
		sort.SliceStable(keys, func(i, j int) bool { return keys[i].Created.Before(keys[j].Created) })
		for i := range 2 {
			if i >= len(keys) {
				row = append(row, noKey...)
				continue
			}
			k := keys[i]
			lu, err := s.keyLastUsed(tx, k.ID)
			if err != nil {
				return nil, err
			}
			cols := []string{boolText(k.Status == StatusActive), reportTime(k.Created), "N/A", "N/A", "N/A"}
			if !lu.Date.IsZero() {
				cols[2], cols[3], cols[4] = reportTime(lu.Date), orNA(lu.Region), orNA(lu.Service)
			}
			row = append(row, cols...)
		}
		row = append(row, "false", "N/A", "false", "N/A")
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}
