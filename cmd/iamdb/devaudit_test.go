package main

// The audit trail after the seeds: aws cloudtrail lookup-events (the AWS CLI v2) and
// boto3's paginator find the seeds' IAM calls and their database logins, through the
// gateways and natively, allowed and refused, and no event holds a secret.

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// lookedUp is one event of lookup-events' output, with its record decoded.
type lookedUp struct {
	EventName, EventSource, Username, AccessKeyId, CloudTrailEvent string
	record                                                         struct {
		ErrorCode           string         `json:"errorCode"`
		RequestParameters   map[string]any `json:"requestParameters"`
		AdditionalEventData map[string]any `json:"additionalEventData"`
		UserIdentity        struct {
			Type, ARN string
		} `json:"userIdentity"`
		RecipientAccountID string `json:"recipientAccountId"`
	}
}

// lookup runs aws cloudtrail lookup-events with one attribute as the dev admin; the CLI
// follows NextToken itself.
func (d *devInstance) lookup(t *testing.T, tools *clientTools, key, value string) []lookedUp {
	t.Helper()
	var out struct{ Events []lookedUp }
	d.aws(t, tools, d.admin).runJSON(&out, "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey="+key+",AttributeValue="+value)
	for i := range out.Events {
		if err := json.Unmarshal([]byte(out.Events[i].CloudTrailEvent), &out.Events[i].record); err != nil {
			t.Fatalf("lookup-events %s=%s: CloudTrailEvent: %v", key, value, err)
		}
	}
	return out.Events
}

// findLogin returns the first connect event of mode ("gateway" or "native") and engine
// whose errorCode is errorCode, or nil.
func findLogin(evs []lookedUp, mode, engine, errorCode string) *lookedUp {
	for i, e := range evs {
		a := e.record.AdditionalEventData
		if e.EventSource == "rds-db.amazonaws.com" && e.EventName == "connect" && a["mode"] == mode && a["engine"] == engine && e.record.ErrorCode == errorCode {
			return &evs[i]
		}
	}
	return nil
}

func testDevAuditSeeds(t *testing.T, d *devInstance, tools *clientTools, appKey string, secrets []string) {
	// The access advisor: app's key was last used to log in to the database.
	var used struct {
		UserName          string
		AccessKeyLastUsed struct{ ServiceName, Region, LastUsedDate string }
	}
	d.aws(t, tools, d.admin).runJSON(&used, "iam", "get-access-key-last-used", "--access-key-id", appKey)
	if used.UserName != "app" || used.AccessKeyLastUsed.ServiceName != "rds-db" || used.AccessKeyLastUsed.Region != d.region || used.AccessKeyLastUsed.LastUsedDate == "" {
		t.Errorf("aws iam get-access-key-last-used for app's key = %+v, want rds-db in %s (its last use: a database login)", used, d.region)
	}

	// Seed 000's policy, made with the AWS CLI by the admin.
	policies := d.lookup(t, tools, "EventName", "CreatePolicy")
	if !slices.ContainsFunc(policies, func(e lookedUp) bool {
		return e.Username == "admin" && e.EventSource == "iam.amazonaws.com" && e.record.RequestParameters["policyName"] == "connect-iam-user"
	}) {
		t.Errorf("lookup-events EventName=CreatePolicy: no CreatePolicy of connect-iam-user by admin in %d events", len(policies))
	}

	// Seed 000's logins as app: through the gateway and natively, with who and where.
	app := d.lookup(t, tools, "Username", "app")
	for _, mode := range []string{"gateway", "native"} {
		if d.pgNative == 0 && mode == "native" {
			continue
		}
		e := findLogin(app, mode, "postgres", "")
		if e == nil {
			t.Errorf("lookup-events Username=app: no allowed %s PostgreSQL login among %d events", mode, len(app))
			continue
		}
		a := e.record.AdditionalEventData
		if a["databaseUser"] != devIAMUser || !strings.HasPrefix(a["resourceId"].(string), "cluster-") || e.record.UserIdentity.Type != "IAMUser" ||
			e.record.RecipientAccountID != d.account {
			t.Errorf("the %s login event of app: %s", mode, e.CloudTrailEvent)
		}
		if mode == "gateway" && a["backendSessionId"] == nil {
			t.Errorf("the gateway login event of app has no backendSessionId: %s", e.CloudTrailEvent)
		}
	}
	// Refused: seed 000 as "denied" (an explicit Deny), in both modes.
	denied := d.lookup(t, tools, "Username", "denied")
	for _, mode := range []string{"gateway", "native"} {
		if d.pgNative == 0 && mode == "native" {
			continue
		}
		e := findLogin(denied, mode, "postgres", "AccessDenied")
		if e == nil || e.record.AdditionalEventData["reason"] != "explicit-deny" {
			t.Errorf("lookup-events Username=denied: no %s login refused with explicit-deny among %d events", mode, len(denied))
		}
	}
	// Seed 002 natively.
	if d.myNative != 0 {
		if findLogin(d.lookup(t, tools, "Username", "mysql-native-app"), "native", "mysql", "") == nil {
			t.Error("lookup-events Username=mysql-native-app: no native MariaDB login")
		}
	}

	// boto3's paginator sees the same database logins, newest first, in pages of 5.
	all := d.lookup(t, tools, "EventSource", "rds-db.amazonaws.com")
	py := findClientTools(t)
	needTool(t, py.python != "", "boto3", "apt-get install -y python3-boto3")
	env := toolEnv(t, d.region, "AWS_ENDPOINT_URL="+d.authURL, "AWS_ACCESS_KEY_ID="+d.admin.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+d.admin.SecretAccessKey)
	out, errOut, err := runTool(t.TempDir(), env, py.python, "-c", `
import boto3, json, os, sys
ct = boto3.client("cloudtrail", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
pages = ct.get_paginator("lookup_events").paginate(
    LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "rds-db.amazonaws.com"}],
    PaginationConfig={"PageSize": 5})
ids, times, sizes = [], [], []
for p in pages:
    sizes.append(len(p["Events"]))
    for e in p["Events"]:
        ids.append(e["EventId"]); times.append(e["EventTime"].timestamp())
print(json.dumps({"ids": ids, "sorted": times == sorted(times, reverse=True), "sizes": sizes}))
`)
	if err != nil {
		t.Fatalf("boto3 lookup_events paginator: %v\n%s", err, errOut)
	}
	var got struct {
		IDs    []string
		Sorted bool
		Sizes  []int
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("boto3 script: %v in %q", err, out)
	}
	if len(got.IDs) < len(all) || !got.Sorted || len(got.Sizes) < 2 || got.Sizes[0] != 5 {
		t.Errorf("boto3 paginator: %d events in pages %v (newest first: %v), want at least the CLI's %d in pages of 5", len(got.IDs), got.Sizes, got.Sorted, len(all))
	}

	// No event holds a secret: not the logins', nor the admin's calls (CreateAccessKey for
	// every user of the seeds, AssumeRole's credentials).
	for _, e := range append(all, d.lookup(t, tools, "Username", "admin")...) {
		for _, s := range secrets {
			if s != "" && strings.Contains(e.CloudTrailEvent, s) {
				t.Errorf("a secret (%.6s…) appears in an audit event: %.200s", s, e.CloudTrailEvent)
			}
		}
	}
}
