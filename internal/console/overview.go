package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/iamdb/iamdb/internal/audit"
)

func init() { pageSets = append(pageSets, registerOverview) }

func registerOverview(c *Console) {
	c.page("GET "+Prefix+"{$}", c.overview)
}

// maxCountPages bounds the API pages one count reads (of up to 1000 IAM items or 100
// databases each); beyond it a card says "N+".
const maxCountPages = 10

// card is one count on the overview. A part the person may not see says so instead of
// failing the page.
type card struct {
	Label, Link string
	N           int
	More        bool   // at least N
	Denied      bool   // AccessDenied: "not allowed"
	Problem     string // another error's code, or why there is no count
}

// overviewData is the overview page.
type overviewData struct {
	Cards []card
	// The audit trail's part: the chart and the recent refusals.
	AuditOff, AuditDenied bool
	AuditProblem          string
	Chart                 *loginChart
	Refusals              []eventRow
}

// overview is the console's first page: counts, logins of the last 24 hours, recent
// refusals. Every part is read as the signed-in person.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := apiCtx(r)
	d := &overviewData{Cards: []card{
		countCard("Databases", Prefix+"databases", func() (int, bool, error) { return c.countDatabases(ctx, s) }),
		countCard("Users", Prefix+"users", func() (int, bool, error) {
			return countIAM(func(m *string) (int, *string, error) {
				out, err := s.clients.iam.ListUsers(ctx, &awsiam.ListUsersInput{Marker: m, MaxItems: aws.Int32(1000)})
				if err != nil {
					return 0, nil, err
				}
				return len(out.Users), more(out.IsTruncated, out.Marker), nil
			})
		}),
		countCard("Roles", Prefix+"roles", func() (int, bool, error) {
			return countIAM(func(m *string) (int, *string, error) {
				out, err := s.clients.iam.ListRoles(ctx, &awsiam.ListRolesInput{Marker: m, MaxItems: aws.Int32(1000)})
				if err != nil {
					return 0, nil, err
				}
				return len(out.Roles), more(out.IsTruncated, out.Marker), nil
			})
		}),
		countCard("Customer managed policies", Prefix+"policies", func() (int, bool, error) {
			return countIAM(func(m *string) (int, *string, error) {
				out, err := s.clients.iam.ListPolicies(ctx, &awsiam.ListPoliciesInput{Marker: m, MaxItems: aws.Int32(1000), Scope: iamtypes.PolicyScopeTypeLocal})
				if err != nil {
					return 0, nil, err
				}
				return len(out.Policies), more(out.IsTruncated, out.Marker), nil
			})
		}),
		c.sessionsCard(r, s),
	}}
	switch err := c.authorize(r, s, "cloudtrail:LookupEvents", "*"); {
	case err != nil && isDenied(err):
		d.AuditDenied = true
	case err != nil:
		d.AuditProblem = asAPIError(err).Code
	case c.cfg.Audit == nil:
		d.AuditOff = true
	default:
		d.Chart, d.Refusals, err = c.loginsByHour(r, s)
		if err != nil {
			d.AuditProblem = asAPIError(err).Code
		}
	}
	c.render(w, r, s, http.StatusOK, "overview", &view{Title: "Overview", Nav: "overview", Data: d})
}

// countCard makes a card of count's answer.
func countCard(label, link string, count func() (int, bool, error)) card {
	cd := card{Label: label, Link: link}
	n, more, err := count()
	switch {
	case err != nil && isDenied(err):
		cd.Denied = true
	case err != nil:
		cd.Problem = asAPIError(err).Code
	default:
		cd.N, cd.More = n, more
	}
	return cd
}

// isDenied says whether err is an authorization refusal.
func isDenied(err error) bool {
	ae := asAPIError(err)
	return ae.Code == "AccessDenied" || ae.Code == "AccessDeniedException" || ae.Code == "UnauthorizedOperation"
}

// more is the marker of the next page, nil after the last.
func more(truncated bool, marker *string) *string {
	if !truncated || marker == nil || *marker == "" {
		return nil
	}
	return marker
}

// countIAM counts the items of a paginated list: page returns a page's count and the next
// marker. It reads at most maxCountPages pages; more says there were more.
func countIAM(page func(marker *string) (int, *string, error)) (n int, more bool, err error) {
	var marker *string
	for range maxCountPages {
		k, next, err := page(marker)
		if err != nil {
			return 0, false, err
		}
		n += k
		if next == nil {
			return n, false, nil
		}
		marker = next
	}
	return n, true, nil
}

// countDatabases counts the registered databases: instances and clusters.
func (c *Console) countDatabases(ctx context.Context, s *session) (int, bool, error) {
	ni, mi, err := countIAM(func(m *string) (int, *string, error) {
		out, err := s.clients.rds.DescribeDBInstances(ctx, &awsrds.DescribeDBInstancesInput{Marker: m, MaxRecords: aws.Int32(100)})
		if err != nil {
			return 0, nil, err
		}
		return len(out.DBInstances), more(true, out.Marker), nil
	})
	if err != nil {
		return 0, false, err
	}
	nc, mc, err := countIAM(func(m *string) (int, *string, error) {
		out, err := s.clients.rds.DescribeDBClusters(ctx, &awsrds.DescribeDBClustersInput{Marker: m, MaxRecords: aws.Int32(100)})
		if err != nil {
			return 0, nil, err
		}
		return len(out.DBClusters), more(true, out.Marker), nil
	})
	if err != nil {
		return 0, false, err
	}
	return ni + nc, mi || mc, nil
}

// sessionsCard counts the account's live sessions.
func (c *Console) sessionsCard(r *http.Request, s *session) card {
	cd := card{Label: "Live sessions", Link: Prefix + "sessions"}
	if err := c.authorize(r, s, "iamdb:ListGatewaySessions", "*"); err != nil {
		if isDenied(err) {
			cd.Denied = true
		} else {
			cd.Problem = asAPIError(err).Code
		}
		return cd
	}
	if c.cfg.LiveSessions == nil {
		cd.Problem = "no gateways"
		return cd
	}
	cd.N = len(accountSessions(c.cfg.LiveSessions(), s.account))
	return cd
}

// Chart geometry, in the SVG's user units.
const (
	chartW, chartH      = 720, 220
	chartLeft, chartTop = 36, 10
	chartBottom         = 190 // the x axis
	chartHours          = 24
	maxRefusals         = 10
)

// loginChart is the overview's chart: logins allowed and refused per hour, oldest first.
type loginChart struct {
	Hours            []hourBar
	Allowed, Refused int
	Bounded          bool // more logins than one request reads: the oldest hours are short
	Max              int  // the y axis' top
	Ticks            []tick
	W, H, Left       int
	LabelY, KeyY     int // the hour labels' and the key's text baselines
	BoxY             int // the key's boxes' top
}

// hourBar is one hour's two bars.
type hourBar struct {
	Start              time.Time
	Label              string // "15:00", on every third hour ("" otherwise)
	Allowed, Refused   int
	X, W, RefusedX     int // the bars' x and width
	AllowedY, AllowedH int
	RefusedY, RefusedH int
}

// tick is a y axis label.
type tick struct {
	Y, TextX, TextY int
	Label           string
}

// loginsByHour reads the account's database logins of the last 24 hours (at most
// maxScan of them, newest first) into a chart, and the latest refusals.
func (c *Console) loginsByHour(r *http.Request, s *session) (*loginChart, []eventRow, error) {
	now := c.cfg.Now().UTC()
	first := now.Truncate(time.Hour).Add(-(chartHours - 1) * time.Hour)
	q := audit.Query{Account: s.account, Attr: audit.AttrEventSource, Value: audit.SourceRDSDB, Start: first, End: now}
	ch := &loginChart{W: chartW, H: chartH, Left: chartLeft, LabelY: chartBottom + 16, BoxY: chartBottom + 20, KeyY: chartBottom + 29}
	for i := range chartHours {
		ch.Hours = append(ch.Hours, hourBar{Start: first.Add(time.Duration(i) * time.Hour)})
	}
	var refusals []eventRow
	res, err := scanEvents(r, c.cfg.Audit, q, cursor{}, maxScan, maxScan, func(e *audit.Event) bool {
		if !isLogin(e) {
			return false
		}
		i := int(e.EventTime.Sub(first) / time.Hour)
		if i < 0 || i >= chartHours {
			return false
		}
		if outcome(e) == "allowed" {
			ch.Hours[i].Allowed++
			ch.Allowed++
		} else {
			ch.Hours[i].Refused++
			ch.Refused++
			if len(refusals) < maxRefusals {
				refusals = append(refusals, rowOf(e))
			}
		}
		return false // counted here; nothing to keep
	})
	if err != nil {
		return nil, nil, err
	}
	ch.Bounded = res.Scanned >= maxScan
	ch.layout()
	return ch, refusals, nil
}

// layout places the bars: two per hour, heights scaled to the busiest hour.
func (ch *loginChart) layout() {
	top := 0
	for _, h := range ch.Hours {
		top = max(top, h.Allowed, h.Refused)
	}
	ch.Max = niceMax(top)
	plot := chartBottom - chartTop
	slot := (chartW - chartLeft) / chartHours
	w := (slot - 4) / 2
	for i := range ch.Hours {
		h := &ch.Hours[i]
		h.X, h.W = chartLeft+i*slot+2, w
		h.RefusedX = h.X + w
		h.AllowedH = h.Allowed * plot / ch.Max
		h.RefusedH = h.Refused * plot / ch.Max
		h.AllowedY, h.RefusedY = chartBottom-h.AllowedH, chartBottom-h.RefusedH
		if h.Start.Hour()%3 == 0 {
			h.Label = h.Start.Format("15:04")
		}
	}
	for _, v := range []int{0, ch.Max / 2, ch.Max} {
		if v == ch.Max/2 && ch.Max%2 != 0 {
			continue
		}
		y := chartBottom - v*plot/ch.Max
		ch.Ticks = append(ch.Ticks, tick{Y: y, TextX: chartLeft - 6, TextY: y + 4, Label: fmt.Sprint(v)})
	}
}

// niceMax is the y axis' top for a busiest hour of n: even up to 10, then 1, 2 or 5 times
// a power of ten.
func niceMax(n int) int {
	if n <= 10 {
		return max(2, n+n%2)
	}
	for step := 10; ; step *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*step >= n {
				return m * step
			}
		}
	}
}

// refusalLink is the activity page filtered to a refusal's principal, database and user.
func refusalLink(row eventRow) string {
	v := url.Values{"outcome": {"refused"}, "range": {"24h"}}
	if row.ARN != "" {
		v.Set("principal", row.ARN)
	}
	if row.DBUser != "" {
		v.Set("dbuser", row.DBUser)
	}
	if row.Database != "" {
		v.Set("database", row.Database)
	}
	return Prefix + "activity?" + v.Encode()
}

func init() { funcs["refusalLink"] = refusalLink }
