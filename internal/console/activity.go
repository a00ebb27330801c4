package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
)

func init() { pageSets = append(pageSets, registerActivity) }

func registerActivity(c *Console) {
	c.page("GET "+Prefix+"activity", c.activity)
}

const (
	// activityPage is how many events the activity page shows at once.
	activityPage = 50
	// maxScan bounds the events one request reads from the audit trail: the filters the
	// journal has no attribute for are applied here, over its pages.
	maxScan = 5000
	// maxFilterValue bounds a filter's value (LookupEvents' attribute values are at
	// most 2000 characters; nothing the page filters on is longer than an ARN).
	maxFilterValue = 512
	// timeInput is the format of an <input type="datetime-local">, read as UTC.
	timeInput = "2006-01-02T15:04"
)

// ranges are the activity page's time ranges besides "custom".
var ranges = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour}

// activityFilter is the activity page's form, from the query string.
type activityFilter struct {
	Principal string // user name, ARN, principal ID or access key ID
	Database  string // identifier, resource ID or database name
	DBUser    string
	Outcome   string // "", "allowed", "refused" or "failed"
	Range     string // "1h", "24h", "7d" or "custom"
	From, To  string // the custom range, timeInput in UTC
	All       bool   // every event, not only database logins
	At        int64  // the end of a relative range, pinned by the paging links (Unix seconds)
	Cursor    cursor // where the page starts
}

// parseActivityFilter reads the activity page's query string. Unknown values are
// errors, never silently widened.
func parseActivityFilter(q url.Values) (activityFilter, error) {
	f := activityFilter{
		Principal: strings.TrimSpace(q.Get("principal")), Database: strings.TrimSpace(q.Get("database")),
		DBUser: strings.TrimSpace(q.Get("dbuser")), Outcome: q.Get("outcome"), Range: q.Get("range"),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), All: q.Get("all") == "1",
	}
	for _, v := range []string{f.Principal, f.Database, f.DBUser, f.From, f.To} {
		if len(v) > maxFilterValue {
			return f, errors.New("a filter is too long")
		}
	}
	switch f.Outcome {
	case "", "allowed", "refused", "failed":
	default:
		return f, errors.New("unknown outcome " + strconv.Quote(audit.Clip(f.Outcome, 20)))
	}
	if f.Range == "" {
		f.Range = "24h"
	}
	if _, ok := ranges[f.Range]; !ok && f.Range != "custom" {
		return f, errors.New("unknown time range " + strconv.Quote(audit.Clip(f.Range, 20)))
	}
	if at := q.Get("at"); at != "" {
		n, err := strconv.ParseInt(at, 10, 64)
		if err != nil || n <= 0 || n > 1<<40 {
			return f, errors.New("the page link is not valid")
		}
		f.At = n
	}
	if next := q.Get("next"); next != "" {
		cur, err := parseCursor(next)
		if err != nil {
			return f, err
		}
		f.Cursor = cur
	}
	return f, nil
}

// window is the filter's time range: a relative one ends at f.At (now when zero).
func (f *activityFilter) window(now time.Time) (start, end time.Time, err error) {
	if f.Range == "custom" {
		if f.From != "" {
			if start, err = time.ParseInLocation(timeInput, f.From, time.UTC); err != nil {
				return start, end, errors.New("the start time is not a date and time (YYYY-MM-DDTHH:MM)")
			}
		}
		if f.To != "" {
			if end, err = time.ParseInLocation(timeInput, f.To, time.UTC); err != nil {
				return start, end, errors.New("the end time is not a date and time (YYYY-MM-DDTHH:MM)")
			}
			end = end.Add(time.Minute - time.Second) // the whole minute
		}
		if !start.IsZero() && !end.IsZero() && start.After(end) {
			return start, end, errors.New("the start time is after the end time")
		}
		return start, end, nil
	}
	if f.At == 0 {
		f.At = now.Unix()
	}
	end = time.Unix(f.At, 0).UTC()
	return end.Add(-ranges[f.Range]), end, nil
}

// query is the journal query the filter starts from: the one attribute that narrows the
// most, the rest applied by keep.
func (f *activityFilter) query(account string, start, end time.Time) audit.Query {
	q := audit.Query{Account: account, Start: start, End: end}
	switch {
	case f.Principal != "" && isAccessKeyID(f.Principal):
		q.Attr, q.Value = audit.AttrAccessKeyID, f.Principal
	case f.Principal != "" && !strings.HasPrefix(f.Principal, "arn:") && !strings.Contains(f.Principal, ":"):
		q.Attr, q.Value = audit.AttrUsername, f.Principal
	case !f.All:
		q.Attr, q.Value = audit.AttrEventSource, audit.SourceRDSDB
	}
	return q
}

// isAccessKeyID says whether s looks like an access key ID (AKIA…, ASIA…).
func isAccessKeyID(s string) bool {
	if len(s) < 16 || len(s) > 128 || !(strings.HasPrefix(s, "AKIA") || strings.HasPrefix(s, "ASIA")) {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// keep says whether e passes the filters.
func (f *activityFilter) keep(e *audit.Event) bool {
	login := isLogin(e)
	if !f.All && !login {
		return false
	}
	if f.Principal != "" {
		u := &e.UserIdentity
		if f.Principal != audit.Username(e) && f.Principal != u.ARN && f.Principal != u.PrincipalID && f.Principal != u.AccessKeyID {
			return false
		}
	}
	if f.Database != "" {
		if !login {
			return false
		}
		id, rid, name := loginDatabase(e)
		if !strings.EqualFold(f.Database, id) && f.Database != rid && f.Database != name {
			return false
		}
	}
	if f.DBUser != "" && (!login || f.DBUser != loginDBUser(e)) {
		return false
	}
	return f.Outcome == "" || f.Outcome == outcome(e)
}

// values is the filter as a query string (without a cursor), for links.
func (f *activityFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"principal": f.Principal, "database": f.Database, "dbuser": f.DBUser, "outcome": f.Outcome} {
		if s != "" {
			v.Set(k, s)
		}
	}
	v.Set("range", f.Range)
	if f.Range == "custom" {
		if f.From != "" {
			v.Set("from", f.From)
		}
		if f.To != "" {
			v.Set("to", f.To)
		}
	}
	if f.All {
		v.Set("all", "1")
	}
	return v
}

// cursor is a position on the activity page: Skip events into the journal page that
// Token starts (audit.Page.Next; "" for the newest). Journal tokens are positions, so
// the same token gives the same events again, and a page can end in the middle of one.
type cursor struct {
	Token string
	Skip  int
}

func (c cursor) String() string { return strconv.Itoa(c.Skip) + "." + c.Token }

// parseCursor reads a cursor; the journal checks the token itself.
func parseCursor(s string) (cursor, error) {
	bad := errors.New("the page link is not valid")
	if len(s) > 128 {
		return cursor{}, bad
	}
	n, tok, ok := strings.Cut(s, ".")
	if !ok || len(n) > 2 {
		return cursor{}, bad
	}
	skip, err := strconv.Atoi(n)
	if err != nil || skip < 0 || skip >= audit.MaxLookup {
		return cursor{}, bad
	}
	return cursor{Token: tok, Skip: skip}, nil
}

// scanResult is what scanEvents found.
type scanResult struct {
	Events  []audit.Event
	Next    *cursor // where to continue; nil after the last event
	Scanned int
	Bounded bool // stopped at maxScan events read, before want matched
}

// scanEvents reads q's events newest first from cur and keeps those keep accepts, until
// it has want of them, has read limit events, or there are no more.
func scanEvents(r *http.Request, rd audit.Reader, q audit.Query, cur cursor, want, limit int, keep func(*audit.Event) bool) (scanResult, error) {
	var res scanResult
	for {
		q.Next, q.Max = cur.Token, audit.MaxLookup
		p, err := rd.Lookup(r.Context(), q)
		if err != nil {
			return res, err
		}
		for i := min(cur.Skip, len(p.Events)); i < len(p.Events); i++ {
			res.Scanned++
			if keep(&p.Events[i]) {
				res.Events = append(res.Events, p.Events[i])
			}
			full, bounded := len(res.Events) >= want, res.Scanned >= limit
			if full || bounded {
				res.Bounded = bounded && !full
				switch {
				case i+1 < len(p.Events):
					res.Next = &cursor{Token: cur.Token, Skip: i + 1}
				case p.Next != "":
					res.Next = &cursor{Token: p.Next}
				}
				return res, nil
			}
		}
		if p.Next == "" {
			return res, nil
		}
		cur = cursor{Token: p.Next}
	}
}

// eventRow is an audit event as the activity page shows it.
type eventRow struct {
	Time      time.Time
	Outcome   string // allowed, refused or failed
	Event     string // source and name, for events that are not logins
	Login     bool
	Principal string // the user name, the ARN or the access key, whichever says most
	ARN       string
	Password  bool // a password (not IAM) login: no principal, Principal is "password login"
	DBUser    string
	Database  string
	DBName    string
	Engine    string
	SourceIP  string
	Reason    string
}

func rowOf(e *audit.Event) eventRow {
	u := &e.UserIdentity
	row := eventRow{
		Time: e.EventTime.Time, Outcome: outcome(e), Login: isLogin(e), ARN: u.ARN, SourceIP: e.SourceIPAddress,
		Event: strings.TrimSuffix(e.EventSource, ".amazonaws.com") + " " + e.EventName,
	}
	switch {
	case u.ARN != "":
		row.Principal = u.ARN
	case audit.Username(e) != "":
		row.Principal = audit.Username(e)
	case u.AccessKeyID != "":
		row.Principal = "unknown (key " + u.AccessKeyID + ")"
	case isPasswordLogin(e):
		row.Principal, row.Password = "password login", true
	default:
		row.Principal = "unknown"
	}
	if row.Login {
		row.DBUser = loginDBUser(e)
		id, rid, name := loginDatabase(e)
		row.Database, row.DBName = id, name
		if row.Database == "" {
			row.Database = rid
		}
		row.Engine = str(e.AdditionalEventData, "engine")
	}
	if row.Outcome != "allowed" {
		row.Reason = str(e.AdditionalEventData, "reason")
		if row.Reason == "" {
			row.Reason = e.ErrorMessage
		}
		if row.Reason == "" {
			row.Reason = e.ErrorCode
		}
	}
	return row
}

// isLogin says whether e is a database login (the gateway's or a native one: access.Record.Event).
func isLogin(e *audit.Event) bool {
	return e.EventSource == audit.SourceRDSDB && e.EventName == "connect"
}

// isPasswordLogin says whether e is a database login with the database's own password,
// not an IAM token: the gateway records iamLogin false (access.Record.Event). A login it
// refused before it knew (a bad user name, no TLS) has no iamLogin, and is no password
// login.
func isPasswordLogin(e *audit.Event) bool {
	iamLogin, ok := e.AdditionalEventData["iamLogin"].(bool)
	return isLogin(e) && ok && !iamLogin
}

func loginDBUser(e *audit.Event) string {
	if u := str(e.AdditionalEventData, "databaseUser"); u != "" {
		return u
	}
	return str(e.RequestParameters, "dbUser")
}

// loginDatabase returns a login's database identifier, resource ID and database name.
func loginDatabase(e *audit.Event) (id, resourceID, name string) {
	resourceID = str(e.AdditionalEventData, "resourceId")
	if resourceID == "" {
		resourceID = str(e.RequestParameters, "resourceId")
	}
	return str(e.AdditionalEventData, "dbIdentifier"), resourceID, str(e.RequestParameters, "databaseName")
}

// outcome is allowed, refused (access denied, a failed console sign-in) or failed
// (any other error).
func outcome(e *audit.Event) string {
	switch {
	case e.ErrorCode == "" && e.ErrorMessage == "":
		if str(e.ResponseElements, "ConsoleLogin") == "Failure" {
			return "refused"
		}
		return "allowed"
	case e.ErrorCode == "", strings.HasPrefix(e.ErrorCode, "AccessDenied"), e.ErrorCode == "UnauthorizedOperation":
		return "refused"
	}
	return "failed"
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// activityData is the activity page.
type activityData struct {
	Off      bool // no audit trail
	F        activityFilter
	Problem  string
	Rows     []eventRow
	Scanned  int
	Bounded  bool
	NextURL  string
	FirstURL string
	Start    time.Time
	End      time.Time
}

// activity shows the account's database logins (or every event) from the audit trail,
// newest first, filtered; cloudtrail:LookupEvents authorizes it.
func (c *Console) activity(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.authorize(r, s, "cloudtrail:LookupEvents", "*"); err != nil {
		c.fail(w, r, s, err)
		return
	}
	v := &view{Title: "Activity", Nav: "activity"}
	d := &activityData{}
	v.Data = d
	if c.cfg.Audit == nil {
		d.Off = true
		c.render(w, r, s, http.StatusOK, "activity", v)
		return
	}
	f, err := parseActivityFilter(r.URL.Query())
	d.F = f
	if err != nil {
		d.Problem = err.Error()
		c.render(w, r, s, http.StatusBadRequest, "activity", v)
		return
	}
	start, end, err := f.window(c.cfg.Now())
	d.F, d.Start, d.End = f, start, end
	if err != nil {
		d.Problem = err.Error()
		c.render(w, r, s, http.StatusBadRequest, "activity", v)
		return
	}
	res, err := scanEvents(r, c.cfg.Audit, f.query(s.account, start, end), f.Cursor, activityPage, maxScan, f.keep)
	if err != nil {
		if errors.Is(err, audit.ErrInvalidNextToken) || errors.Is(err, audit.ErrInvalidTimeRange) || errors.Is(err, audit.ErrInvalidLookupAttributes) {
			d.Problem = "The page link is not valid for these filters. Start again from the newest events."
			c.render(w, r, s, http.StatusBadRequest, "activity", v)
			return
		}
		c.fail(w, r, s, err)
		return
	}
	for i := range res.Events {
		d.Rows = append(d.Rows, rowOf(&res.Events[i]))
	}
	d.Scanned, d.Bounded = res.Scanned, res.Bounded
	base := f.values()
	if res.Next != nil {
		nv := f.values()
		if f.Range != "custom" {
			nv.Set("at", strconv.FormatInt(f.At, 10))
		}
		nv.Set("next", res.Next.String())
		d.NextURL = Prefix + "activity?" + nv.Encode()
	}
	if f.Cursor != (cursor{}) {
		d.FirstURL = Prefix + "activity?" + base.Encode()
	}
	c.render(w, r, s, http.StatusOK, "activity", v)
}
