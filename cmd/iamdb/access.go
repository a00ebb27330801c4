package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/internal/queryclient"
)

const accessUsage = `usage: iamdb access unused [--days N] [--format text|json]
                           [--endpoint URL] [--region R] [--profile NAME]

Asks the iamdb authority (--endpoint, default $AWS_ENDPOINT_URL), with the caller's AWS
credentials (as the AWS CLI finds them), what access went unused in the last N days
(default 90):

  grants      rds-db:connect grants (a user's or role's policy naming a database user on a
              database, or a wildcard) that allowed no login in that time
  principals  active access keys and roles, older than that, not used in that time

The caller needs iam:GetCredentialReport and iam:GetServiceLastAccessedDetails. Logins
count from the moment the authority (or a gateway or native verifier sharing its store)
recorded them; a grant whose last login is "never" allowed none since then.
`

// unusedAnswer is the authority's answer to ListUnusedAccess, and iamdb access unused's
// JSON output.
type unusedAnswer struct {
	Since  string `xml:"ListUnusedAccessResult>Since" json:"since"`
	Grants []struct {
		PrincipalArn string `xml:"PrincipalArn" json:"principal"`
		Resource     string `xml:"Resource" json:"resource"`
		Database     string `xml:"Database" json:"database,omitempty"`
		DBUser       string `xml:"DBUser" json:"dbUser,omitempty"`
		LastUsed     string `xml:"LastUsed" json:"lastLogin,omitempty"`
	} `xml:"ListUnusedAccessResult>Grants>member" json:"grants"`
	Principals []struct {
		Kind         string `xml:"Kind" json:"kind"`
		PrincipalArn string `xml:"PrincipalArn" json:"principal"`
		AccessKeyID  string `xml:"AccessKeyId" json:"accessKeyId,omitempty"`
		CreateDate   string `xml:"CreateDate" json:"created"`
		LastUsed     string `xml:"LastUsed" json:"lastUsed,omitempty"`
	} `xml:"ListUnusedAccessResult>Principals>member" json:"principals"`
}

func runAccess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(args, accessUsage, "access: ", stdout, stderr, map[string]subcommand{
		"unused": func(args []string) error { return runAccessUnused(ctx, args, stdout, stderr) },
	})
}

func runAccessUnused(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("iamdb access unused", accessUsage, stderr)
	days := fs.Int("days", 90, "the period, in days (1–3650)")
	format := fs.String("format", "text", "text or json")
	endpoint := fs.String("endpoint", os.Getenv("AWS_ENDPOINT_URL"), "the iamdb authority (default $AWS_ENDPOINT_URL)")
	region := fs.String("region", "", "the region to sign for (default: the AWS configuration's)")
	profile := fs.String("profile", "", "the AWS profile (default $AWS_PROFILE)")
	if done, err := parseArgs(fs, args); done {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("access unused: unexpected argument %q", fs.Arg(0))
	case *days < 1 || *days > 3650:
		return usagef("access unused: --days must be between 1 and 3650")
	case *format != "text" && *format != "json":
		return usagef("access unused: --format is text or json")
	case *endpoint == "":
		return usagef("access unused: no --endpoint or $AWS_ENDPOINT_URL: which iamdb authority?")
	}
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: *profile, Region: *region})
	if err != nil {
		return fmt.Errorf("access unused: credentials: %w", err)
	}
	var a unusedAnswer
	form := url.Values{"Action": {"ListUnusedAccess"}, "Version": {"2010-05-08"}, "Days": {strconv.Itoa(*days)}}
	if err := queryclient.Call(ctx, creds, "iam", *endpoint, form, &a); err != nil {
		return fmt.Errorf("access unused: %w", err)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(&a)
	}
	fmt.Fprintf(stdout, "unused since %s (%d days)\n\nrds-db:connect grants that allowed no login:\n", a.Since, *days)
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	if len(a.Grants) == 0 {
		fmt.Fprintln(tw, "  (none)")
	} else {
		fmt.Fprintln(tw, "  PRINCIPAL\tDATABASE\tDB USER\tLAST LOGIN\tRESOURCE")
	}
	for _, g := range a.Grants {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", g.PrincipalArn, orDash(g.Database), orDash(g.DBUser), orNever(g.LastUsed), g.Resource)
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\naccess keys and roles not used:")
	if len(a.Principals) == 0 {
		fmt.Fprintln(tw, "  (none)")
	} else {
		fmt.Fprintln(tw, "  KIND\tPRINCIPAL\tACCESS KEY\tCREATED\tLAST USED")
	}
	for _, p := range a.Principals {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", p.Kind, p.PrincipalArn, orDash(p.AccessKeyID), p.CreateDate, orNever(p.LastUsed))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orNever(s string) string {
	if s == "" {
		return "never"
	}
	return s
}
