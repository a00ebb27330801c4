package iam

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/store"
)

// The IAM access advisor: GenerateServiceLastAccessedDetails and
// GetServiceLastAccessedDetails, from the usage tracker's per-principal, per-action
// records (usage.go). A job is computed at once and kept in the store.

// Granularities of GenerateServiceLastAccessedDetails.
const (
	GranularityService = "SERVICE_LEVEL"
	GranularityAction  = "ACTION_LEVEL"
)

// kindAdvisorJob holds the advisor's jobs: key ACCT/JOBID.
const kindAdvisorJob = "advisorjob"

// maxAdvisorJobs bounds the jobs kept per account: the oldest go first.
const maxAdvisorJobs = 1000

// advisorServices are the services iamdb serves, as the access advisor names them.
var advisorServices = []struct{ namespace, name string }{
	{"cloudtrail", "AWS CloudTrail"},
	{"iam", "AWS Identity and Access Management"},
	{"rds", "Amazon RDS"},
	{"rds-db", "Amazon RDS IAM Authentication"},
	{"sts", "AWS Security Token Service"},
}

// extraActions are actions served without condition keys of their own (so not in
// actionKeys) that a policy may still allow.
var extraActions = []string{"sts:getcalleridentity", "sts:getsessiontoken", "cloudtrail:lookupevents"}

// TrackedActionLastAccessed is an action's last use in a job's answer.
type TrackedActionLastAccessed struct {
	ActionName         string // as the request spelt it, without the service prefix
	LastAccessedEntity string
	LastAccessedTime   time.Time
	LastAccessedRegion string
}

// ServiceLastAccessed is one service in a job's answer. LastAuthenticated is zero when no
// entity used the service (and the fields after it are then empty).
type ServiceLastAccessed struct {
	ServiceName                string
	ServiceNamespace           string
	LastAuthenticated          time.Time
	LastAuthenticatedEntity    string
	LastAuthenticatedRegion    string
	TotalAuthenticatedEntities int
	TrackedActions             []TrackedActionLastAccessed // ACTION_LEVEL jobs only
}

// ServiceLastAccessedDetails is GetServiceLastAccessedDetails' result.
type ServiceLastAccessedDetails struct {
	JobStatus         string // always COMPLETED: jobs are computed at once
	JobType           string // the granularity
	JobCreationDate   time.Time
	JobCompletionDate time.Time
	Services          []ServiceLastAccessed
	IsTruncated       bool
	Marker            string
}

// GetServiceLastAccessedInput is GetServiceLastAccessedDetails' input.
type GetServiceLastAccessedInput struct {
	JobID    string
	MaxItems int // 1–1000; 100 if zero
	Marker   string
}

type advisorJobDoc struct {
	ID       string                `json:"id"`
	Type     string                `json:"type"`
	Created  time.Time             `json:"created"`
	Done     time.Time             `json:"done"`
	Services []ServiceLastAccessed `json:"services"`
}

// advisorSubject is what a job looks at: the policy documents that decide which services
// are listed and the principals whose use counts.
type advisorSubject struct {
	docs       []string
	principals []string // principalKey values
}

// GenerateServiceLastAccessedDetails computes, for the user, group, role or managed policy
// named by entityARN, when each service its policies allow was last used (by the entity;
// by the group's members; by the entities the policy is attached to), and returns the job
// ID to read it with. Authorized as iam:GenerateServiceLastAccessedDetails on entityARN.
func (s *Service) GenerateServiceLastAccessedDetails(ctx context.Context, c *Caller, entityARN, granularity string) (string, error) {
	if err := needCaller(c); err != nil {
		return "", err
	}
	switch granularity {
	case "":
		granularity = GranularityService
	case GranularityService, GranularityAction:
	default:
		return "", invalidInput("Granularity must be SERVICE_LEVEL or ACTION_LEVEL, not %q.", granularity)
	}
	p, err := arn.Parse(entityARN)
	typ, _, _ := strings.Cut(p.Resource, "/")
	if err != nil || p.Partition != "aws" || p.Service != "iam" || p.Region != "" || !strings.Contains(p.Resource, "/") ||
		(typ != "user" && typ != "group" && typ != "role" && typ != "policy") {
		return "", invalidInput("ARN %s is not valid for the access advisor: it must name a user, group, role or policy.", entityARN)
	}
	if err := s.authorize(ctx, c, "iam:GenerateServiceLastAccessedDetails", entityARN, nil); err != nil {
		return "", err
	}
	id, err := newJobID(s)
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	err = s.st.Update(ctx, func(tx store.Tx) error {
		subj, err := s.subjectOf(tx, c.Account, typ, p, entityARN)
		if err != nil {
			return err
		}
		recs, err := s.actionRecords(tx, subj.principals)
		if err != nil {
			return err
		}
		job := advisorJobDoc{ID: id, Type: granularity, Created: now, Done: s.now().UTC(),
			Services: servicesLastAccessed(subj.docs, recs, granularity == GranularityAction)}
		if err := pruneJobs(tx, c.Account); err != nil {
			return err
		}
		return putDoc(tx, kindAdvisorJob, c.Account+"/"+id, &job)
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// GetServiceLastAccessedDetails returns a page of a job's services. Authorized as
// iam:GetServiceLastAccessedDetails on "*".
func (s *Service) GetServiceLastAccessedDetails(ctx context.Context, c *Caller, in GetServiceLastAccessedInput) (ServiceLastAccessedDetails, error) {
	if err := needCaller(c); err != nil {
		return ServiceLastAccessedDetails{}, err
	}
	if len(in.JobID) != 36 {
		return ServiceLastAccessedDetails{}, invalidInput("The job ID %q is not valid: it must have 36 characters.", in.JobID)
	}
	max := in.MaxItems
	if max == 0 {
		max = 100
	}
	if max < 1 || max > 1000 {
		return ServiceLastAccessedDetails{}, validation("1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", in.MaxItems)
	}
	if err := s.authorize(ctx, c, "iam:GetServiceLastAccessedDetails", "*", nil); err != nil {
		return ServiceLastAccessedDetails{}, err
	}
	var job advisorJobDoc
	err := s.st.View(ctx, func(tx store.Tx) error {
		ok, err := getDoc(tx, kindAdvisorJob, c.Account+"/"+in.JobID, &job)
		if err == nil && !ok {
			err = noSuchEntity("The job with ID %s does not exist.", in.JobID)
		}
		return err
	})
	if err != nil {
		return ServiceLastAccessedDetails{}, err
	}
	start := 0
	if in.Marker != "" {
		n, err := strconv.Atoi(in.Marker)
		if err != nil || n <= 0 || n > len(job.Services) {
			return ServiceLastAccessedDetails{}, invalidInput("Invalid Marker.")
		}
		start = n
	}
	end := min(start+max, len(job.Services))
	out := ServiceLastAccessedDetails{JobStatus: "COMPLETED", JobType: job.Type, JobCreationDate: job.Created,
		JobCompletionDate: job.Done, Services: job.Services[start:end]}
	if end < len(job.Services) {
		out.IsTruncated, out.Marker = true, strconv.Itoa(end)
	}
	return out, nil
}

// newJobID returns a random UUID (version 4), 36 characters.
func newJobID(s *Service) (string, error) {
	h, err := randomString(s.rand, "0123456789abcdef", 32)
	if err != nil {
		return "", err
	}
	b := []byte(h)
	b[12] = '4'
	b[16] = "89ab"[strings.IndexByte("0123456789abcdef", b[16])%4]
	return string(b[:8]) + "-" + string(b[8:12]) + "-" + string(b[12:16]) + "-" + string(b[16:20]) + "-" + string(b[20:]), nil
}

// pruneJobs keeps at most maxAdvisorJobs-1 jobs of acct, deleting the oldest.
func pruneJobs(tx store.Tx, acct string) error {
	its, err := listAll(tx, kindAdvisorJob, accountPrefix(acct))
	if err != nil || len(its) < maxAdvisorJobs {
		return err
	}
	type aged struct {
		key string
		at  time.Time
	}
	all := make([]aged, 0, len(its))
	for _, it := range its {
		var d advisorJobDoc
		_ = json.Unmarshal(it.Value, &d) // a damaged job is the oldest
		all = append(all, aged{it.Key, d.Created})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	for _, a := range all[:len(all)-maxAdvisorJobs+1] {
		if err := tx.Delete(kindAdvisorJob, a.key); err != nil {
			return err
		}
	}
	return nil
}

// subjectOf resolves a job's entity in acct.
func (s *Service) subjectOf(tx store.Tx, acct, typ string, p arn.ARN, entityARN string) (advisorSubject, error) {
	var subj advisorSubject
	if typ == "policy" {
		ref, ok, err := lookupPolicy(tx, acct, entityARN)
		if err != nil {
			return subj, err
		}
		if !ok {
			return subj, noSuchPolicy(entityARN)
		}
		subj.docs = append(subj.docs, defaultDocument(&ref))
		its, err := listAll(tx, kindAttach, policyUsePrefix(ref.arn, acct))
		if err != nil {
			return subj, err
		}
		seen := map[string]bool{}
		for _, it := range its {
			kind, name, _ := strings.Cut(strings.TrimPrefix(it.Key, policyUsePrefix(ref.arn, acct)), " ")
			pks, err := principalsOf(tx, acct, kind, name)
			if err != nil {
				return subj, err
			}
			for _, pk := range pks {
				if !seen[pk] {
					seen[pk] = true
					subj.principals = append(subj.principals, pk)
				}
			}
		}
		return subj, nil
	}
	if p.AccountID != acct {
		return subj, noSuchEntity("The entity %s does not exist in this account.", entityARN)
	}
	ek := entityKindOf(typ)
	name := lastSegment(p.Resource)
	d, ok, err := ek.load(tx, acct, name)
	if err != nil {
		return subj, err
	}
	if !ok || ek.arn(acct, d.entityPath(), d.entityName()) != entityARN {
		return subj, ek.notFound(name)
	}
	docs, err := documentsOf(tx, acct, d.hold())
	if err != nil {
		return subj, err
	}
	subj.docs = docs
	if u, isUser := d.(*userDoc); isUser {
		for _, g := range u.Groups {
			var gd groupDoc
			if ok, err := getDoc(tx, kindGroup, entityKey(acct, g), &gd); err != nil {
				return subj, err
			} else if ok {
				more, err := documentsOf(tx, acct, &gd.holder)
				if err != nil {
					return subj, err
				}
				subj.docs = append(subj.docs, more...)
			}
		}
	}
	subj.principals, err = principalsOf(tx, acct, typ, name)
	return subj, err
}

// principalsOf returns the principal keys a user, role or group (its members) stands for.
func principalsOf(tx store.Tx, acct, kind, name string) ([]string, error) {
	switch kind {
	case "user":
		return []string{"user/" + entityKey(acct, name)}, nil
	case "role":
		return []string{"role/" + entityKey(acct, name)}, nil
	case "group":
		var gd groupDoc
		if _, err := getDoc(tx, kindGroup, entityKey(acct, name), &gd); err != nil {
			return nil, err
		}
		out := make([]string, 0, len(gd.Members))
		for _, m := range gd.Members {
			out = append(out, "user/"+entityKey(acct, m))
		}
		return out, nil
	}
	return nil, nil
}

// defaultDocument returns the default version's document of a managed policy.
func defaultDocument(ref *managedRef) string {
	def := ref.defaultVersion()
	for _, v := range ref.versions() {
		if v.ID == def {
			return v.Document
		}
	}
	return ""
}

// documentsOf returns the inline and attached policy documents of h.
func documentsOf(tx store.Tx, acct string, h *holder) ([]string, error) {
	var docs []string
	for _, name := range sortedKeys(h.Inline) {
		docs = append(docs, h.Inline[name])
	}
	for _, a := range h.Attached {
		ref, ok, err := lookupPolicy(tx, acct, a)
		if err != nil {
			return nil, err
		}
		if ok {
			docs = append(docs, defaultDocument(&ref))
		}
	}
	return docs, nil
}

// actionRecord is one principal's last use of one action.
type actionRecord struct {
	action string // lower case, service:action
	doc    lastUsedDoc
	pk     string
}

// advisorRecords returns the stored records of the principals under prefix
// (lastUsedActionPrefix or lastUsedLoginPrefix), merged with the pending ones: map key →
// record, the map key being principalKey + " " + what.
func (s *Service) advisorRecords(tx store.Tx, prefix string, principals []string) (map[string]lastUsedDoc, error) {
	m := &s.usage.actions
	if prefix == lastUsedLoginPrefix {
		m = &s.usage.logins
	}
	out := map[string]lastUsedDoc{}
	want := map[string]bool{}
	for _, pk := range principals {
		want[pk] = true
		its, err := listAll(tx, kindLastUsed, prefix+pk+" ")
		if err != nil {
			return nil, err
		}
		for _, it := range its {
			var d lastUsedDoc
			if json.Unmarshal(it.Value, &d) == nil {
				out[strings.TrimPrefix(it.Key, prefix)] = d
			}
		}
	}
	m.Range(func(k, _ any) bool {
		key := k.(string)
		pk, _, _ := strings.Cut(key, " ")
		if !want[pk] {
			return true
		}
		if d, ok := pending(m, key); ok && d.Date.After(out[key].Date) {
			out[key] = d
		}
		return true
	})
	return out, nil
}

// actionRecords lists the principals' action records.
func (s *Service) actionRecords(tx store.Tx, principals []string) ([]actionRecord, error) {
	m, err := s.advisorRecords(tx, lastUsedActionPrefix, principals)
	if err != nil {
		return nil, err
	}
	out := make([]actionRecord, 0, len(m))
	for k, d := range m {
		pk, action, _ := strings.Cut(k, " ")
		out = append(out, actionRecord{action: action, doc: d, pk: pk})
	}
	return out, nil
}

// servicesLastAccessed builds a job's answer: every service the documents allow, with the
// records' last use of it.
func servicesLastAccessed(docs []string, recs []actionRecord, actions bool) []ServiceLastAccessed {
	stmts := allowStatements(docs)
	var out []ServiceLastAccessed
	for _, svc := range advisorServices {
		if !serviceAllowed(stmts, svc.namespace) {
			continue
		}
		sl := ServiceLastAccessed{ServiceName: svc.name, ServiceNamespace: svc.namespace}
		entities := map[string]bool{}
		byAction := map[string]actionRecord{}
		for _, r := range recs {
			if serviceOf(r.action) != svc.namespace {
				continue
			}
			entities[r.pk] = true
			if r.doc.Date.After(sl.LastAuthenticated) {
				sl.LastAuthenticated, sl.LastAuthenticatedEntity, sl.LastAuthenticatedRegion = r.doc.Date, r.doc.Entity, r.doc.Region
			}
			if old, ok := byAction[r.action]; !ok || r.doc.Date.After(old.doc.Date) {
				byAction[r.action] = r
			}
		}
		sl.TotalAuthenticatedEntities = len(entities)
		if actions {
			for _, a := range sortedKeys(byAction) {
				r := byAction[a]
				name := r.doc.Name
				if i := strings.IndexByte(name, ':'); i >= 0 {
					name = name[i+1:]
				}
				sl.TrackedActions = append(sl.TrackedActions, TrackedActionLastAccessed{ActionName: name,
					LastAccessedEntity: r.doc.Entity, LastAccessedTime: r.doc.Date, LastAccessedRegion: r.doc.Region})
			}
		}
		out = append(out, sl)
	}
	return out
}

// allowStatement is the part of an Allow statement the advisor reads.
type allowStatement struct {
	actions, notActions, resources, notResources []string
}

// allowStatements returns the Allow statements of docs; documents that do not parse are
// skipped (they were validated when stored).
func allowStatements(docs []string) []allowStatement {
	var out []allowStatement
	for _, doc := range docs {
		var d struct {
			Statement json.RawMessage
		}
		if json.Unmarshal([]byte(doc), &d) != nil {
			continue
		}
		var raw []json.RawMessage
		if json.Unmarshal(d.Statement, &raw) != nil {
			raw = []json.RawMessage{d.Statement}
		}
		for _, r := range raw {
			var st struct {
				Effect                                   string
				Action, NotAction, Resource, NotResource json.RawMessage
			}
			if json.Unmarshal(r, &st) != nil || st.Effect != "Allow" {
				continue
			}
			out = append(out, allowStatement{actions: stringOrList(st.Action), notActions: stringOrList(st.NotAction),
				resources: stringOrList(st.Resource), notResources: stringOrList(st.NotResource)})
		}
	}
	return out
}

func stringOrList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

// knownActions returns the lower-case actions iamdb serves of a service.
func knownActions(namespace string) []string {
	var out []string
	for a := range actionKeys {
		if serviceOf(a) == namespace {
			out = append(out, a)
		}
	}
	for _, a := range extraActions {
		if serviceOf(a) == namespace {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// allows reports whether st allows action (lower case), whatever the resource.
func (st *allowStatement) allows(action string) bool {
	if len(st.notActions) > 0 {
		for _, p := range st.notActions {
			if globMatch(strings.ToLower(p), action) {
				return false
			}
		}
		return true
	}
	for _, p := range st.actions {
		if globMatch(strings.ToLower(p), action) {
			return true
		}
	}
	return false
}

// serviceAllowed reports whether an Allow statement allows an action of namespace.
func serviceAllowed(stmts []allowStatement, namespace string) bool {
	for _, a := range knownActions(namespace) {
		for i := range stmts {
			if stmts[i].allows(a) {
				return true
			}
		}
	}
	return false
}

// globMatch matches s against a pattern with IAM's wildcards * and ?.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
