package awsquery

import (
	"encoding/base64"

	"github.com/iamdb/iamdb/internal/iam"
)

// The access advisor and the credential report (IAM API), and iamdb's own
// ListUnusedAccess (iamdb access unused).

type (
	xTrackedAction struct {
		ActionName         string `xml:"ActionName"`
		LastAccessedEntity string `xml:"LastAccessedEntity,omitempty"`
		LastAccessedTime   string `xml:"LastAccessedTime,omitempty"`
		LastAccessedRegion string `xml:"LastAccessedRegion,omitempty"`
	}
	xServiceLastAccessed struct {
		ServiceName                string                `xml:"ServiceName"`
		ServiceNamespace           string                `xml:"ServiceNamespace"`
		LastAuthenticated          string                `xml:"LastAuthenticated,omitempty"`
		LastAuthenticatedEntity    string                `xml:"LastAuthenticatedEntity,omitempty"`
		LastAuthenticatedRegion    string                `xml:"LastAuthenticatedRegion,omitempty"`
		TotalAuthenticatedEntities *int                  `xml:"TotalAuthenticatedEntities,omitempty"`
		TrackedActionsLastAccessed *list[xTrackedAction] `xml:"TrackedActionsLastAccessed,omitempty"`
	}
	generateSLADResult struct {
		JobId string
	}
	getSLADResult struct {
		JobStatus            string
		JobType              string
		JobCreationDate      string
		JobCompletionDate    string
		ServicesLastAccessed list[xServiceLastAccessed]
		page
	}
	generateReportResult struct {
		State       string
		Description string `xml:",omitempty"`
	}
	xUnusedGrant struct {
		PrincipalArn string
		Resource     string
		Database     string `xml:",omitempty"`
		DBUser       string `xml:",omitempty"`
		LastUsed     string `xml:",omitempty"`
	}
	xUnusedPrincipal struct {
		Kind         string
		PrincipalArn string
		AccessKeyId  string `xml:",omitempty"`
		CreateDate   string
		LastUsed     string `xml:",omitempty"`
	}
	unusedResult struct {
		Since      string
		Grants     list[xUnusedGrant]
		Principals list[xUnusedPrincipal]
	}
	getReportResult struct {
		Content       string
		ReportFormat  string
		GeneratedTime string
	}
)

// iamAdvisorOps are the actions of the access advisor and the credential report.
func iamAdvisorOps() map[string]handler {
	return map[string]handler{
		"GenerateServiceLastAccessedDetails": func(c *call) (any, error) {
			id, err := c.s.svc.GenerateServiceLastAccessedDetails(c.ctx, c.caller, c.f.str("Arn"), c.f.str("Granularity"))
			if err != nil {
				return nil, err
			}
			return generateSLADResult{id}, nil
		},
		"GetServiceLastAccessedDetails": func(c *call) (any, error) {
			n, err := c.maxItems("MaxItems", 1, 1000)
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.GetServiceLastAccessedDetails(c.ctx, c.caller, iam.GetServiceLastAccessedInput{
				JobID: c.f.str("JobId"), MaxItems: n, Marker: c.f.str("Marker")})
			if err != nil {
				return nil, err
			}
			return getSLADResult{JobStatus: out.JobStatus, JobType: out.JobType, JobCreationDate: isoTime(out.JobCreationDate),
				JobCompletionDate: isoTime(out.JobCompletionDate), ServicesLastAccessed: listOf(convertAll(out.Services, toServiceLastAccessed)),
				page: page{out.IsTruncated, out.Marker}}, nil
		},
		"GenerateCredentialReport": func(c *call) (any, error) {
			out, err := c.s.svc.GenerateCredentialReport(c.ctx, c.caller)
			if err != nil {
				return nil, err
			}
			return generateReportResult{out.State, out.Description}, nil
		},
		// iamdb's own: iamdb access unused.
		"ListUnusedAccess": func(c *call) (any, error) {
			days, err := c.maxItems("Days", iam.MinUnusedDays, iam.MaxUnusedDays)
			if err != nil {
				return nil, err
			}
			out, err := c.s.svc.ListUnusedAccess(c.ctx, c.caller, days)
			if err != nil {
				return nil, err
			}
			r := unusedResult{Since: isoTime(out.Since)}
			for _, g := range out.Grants {
				r.Grants.Member = append(r.Grants.Member, xUnusedGrant{g.Principal, g.Resource, g.Database, g.DBUser, isoTime(g.LastUsed)})
			}
			for _, p := range out.Principals {
				r.Principals.Member = append(r.Principals.Member, xUnusedPrincipal{p.Kind, p.Principal, p.AccessKeyID, isoTime(p.Created), isoTime(p.LastUsed)})
			}
			return r, nil
		},
		"GetCredentialReport": func(c *call) (any, error) {
			r, err := c.s.svc.GetCredentialReport(c.ctx, c.caller)
			if err != nil {
				return nil, err
			}
			return getReportResult{base64.StdEncoding.EncodeToString(r.Content), r.ReportFormat, isoTime(r.GeneratedTime)}, nil
		},
	}
}

func toServiceLastAccessed(s *iam.ServiceLastAccessed) xServiceLastAccessed {
	n := s.TotalAuthenticatedEntities // 0 for a service no one used, as AWS answers
	x := xServiceLastAccessed{ServiceName: s.ServiceName, ServiceNamespace: s.ServiceNamespace, TotalAuthenticatedEntities: &n}
	if !s.LastAuthenticated.IsZero() {
		x.LastAuthenticated, x.LastAuthenticatedEntity, x.LastAuthenticatedRegion = isoTime(s.LastAuthenticated), s.LastAuthenticatedEntity, s.LastAuthenticatedRegion
	}
	tracked := make([]xTrackedAction, 0, len(s.TrackedActions))
	for _, a := range s.TrackedActions {
		tracked = append(tracked, xTrackedAction{ActionName: a.ActionName, LastAccessedEntity: a.LastAccessedEntity,
			LastAccessedTime: isoTime(a.LastAccessedTime), LastAccessedRegion: a.LastAccessedRegion})
	}
	x.TrackedActionsLastAccessed = optList(tracked)
	return x
}
