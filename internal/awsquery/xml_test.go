package awsquery

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/sigv4"
	"github.com/iamdb/iamdb/token"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var goldenTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

const goldenRID = "c0ffee00-1234-4abc-8def-0123456789ab"

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	got = append(bytes.TrimSpace(got), '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// lines puts each tag of a compact XML response on its own line (">\n<" for "><"), so that
// golden files are readable and still byte-exact.
func lines(b []byte) []byte { return bytes.ReplaceAll(b, []byte("><"), []byte(">\n<")) }

const trustDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestGoldenResponses(t *testing.T) {
	t.Parallel()
	role := iam.Role{RoleName: "pgdemo-oltp-rw-role", RoleID: "AROAEXAMPLEEXAMPLE01", ARN: "arn:aws:iam::123456789012:role/pgdemo-oltp-rw-role",
		Path: "/", AssumeRolePolicyDocument: trustDoc, MaxSessionDuration: 3600, CreateDate: goldenTime,
		Tags: []iam.Tag{{Key: "team", Value: "db & co"}}, RoleLastUsed: iam.RoleLastUsed{LastUsedDate: goldenTime.Add(time.Hour), Region: "ap-northeast-1"}}
	db := iam.Database{Identifier: "aurorapgsqlv1", Kind: iam.KindCluster, Engine: "aurora-postgresql",
		Endpoints: []string{"aurorapgsqlv1.cluster-abc.ap-northeast-1.rds.amazonaws.com"}, ReaderEndpoint: "aurorapgsqlv1.cluster-ro-abc.ap-northeast-1.rds.amazonaws.com",
		Port: 5432, Region: "ap-northeast-1", Account: "123456789012", ResourceID: "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ", IAMAuth: true, Status: "available", CreateTime: goldenTime}
	inst := db
	inst.Identifier, inst.Kind, inst.Engine, inst.ResourceID, inst.ReaderEndpoint = "pg1", iam.KindInstance, "postgres", "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ", ""
	inst.Endpoints = []string{"pg1.abc.ap-northeast-1.rds.amazonaws.com"}
	c := &call{}
	tests := []struct {
		file, ns, action string
		result           any
	}{
		{"iam_get_role.xml", nsIAM, "GetRole", roleResult{toRole(&role, true)}},
		{"iam_list_users.xml", nsIAM, "ListUsers", usersPage{listOf([]xUser{{Path: "/", UserName: "alice", UserID: "AIDAEXAMPLEEXAMPLE01",
			Arn: "arn:aws:iam::123456789012:user/alice", CreateDate: isoTime(goldenTime)}}), page{true, "bWFya2Vy"}}},
		{"iam_list_roles_empty.xml", nsIAM, "ListRoles", rolesPage{listOf[xRole](nil), page{}}},
		{"iam_get_policy_version.xml", nsIAM, "GetPolicyVersion", versionResult{toPolicyVersion(&iam.PolicyVersion{
			Document:  "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"rds-db:connect\", \"Resource\": \"*\"}]\n}",
			VersionID: "v1", IsDefaultVersion: true, CreateDate: goldenTime})}},
		{"iam_delete_user.xml", nsIAM, "DeleteUser", nil},
		{"sts_assume_role.xml", nsSTS, "AssumeRole", assumeRoleResult{
			Credentials: toCredentials(&iam.Credentials{AccessKeyID: "ASIAEXAMPLEEXAMPLE01", SecretAccessKey: "secret/EXAMPLE+key",
				SessionToken: "c2Vzc2lvbg==", Expiration: goldenTime.Add(time.Hour)}),
			AssumedRoleUser: xAssumedRoleUser{AssumedRoleID: "AROAEXAMPLEEXAMPLE01:app", Arn: "arn:aws:sts::123456789012:assumed-role/pgdemo-oltp-rw-role/app"},
		}},
		{"sts_assume_role_with_web_identity.xml", nsSTS, "AssumeRoleWithWebIdentity", webIdentityResult{
			Credentials: toCredentials(&iam.Credentials{AccessKeyID: "ASIAEXAMPLEEXAMPLE02", SecretAccessKey: "secret/EXAMPLE+key",
				SessionToken: "c2Vzc2lvbg==", Expiration: goldenTime.Add(time.Hour)}),
			SubjectFromWebIdentityToken: "system:serviceaccount:prod:app",
			AssumedRoleUser:             xAssumedRoleUser{AssumedRoleID: "AROAEXAMPLEEXAMPLE01:pod", Arn: "arn:aws:sts::123456789012:assumed-role/irsa/pod"},
			PackedPolicySize:            3,
			Provider:                    "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/CLUSTER1",
			Audience:                    "sts.amazonaws.com",
		}},
		{"sts_get_caller_identity.xml", nsSTS, "GetCallerIdentity", callerIdentityResult{"AIDAEXAMPLEEXAMPLE01", "123456789012", "arn:aws:iam::123456789012:user/alice"}},
		{"rds_describe_db_clusters.xml", nsRDS, "DescribeDBClusters", func() any {
			r := dbClustersResult{}
			r.DBClusters.DBCluster = []xDBCluster{c.toDBCluster(&db)}
			return r
		}()},
		{"rds_describe_db_instances.xml", nsRDS, "DescribeDBInstances", func() any {
			r := dbInstancesResult{Marker: "next"}
			r.DBInstances.DBInstance = []xDBInstance{toDBInstance(&inst)}
			return r
		}()},
		{"rds_verify_db_auth_token.xml", nsRDS, "VerifyDBAuthToken", verifyResult{Valid: true, PrincipalArn: "arn:aws:iam::123456789012:user/alice",
			Decision: "allowed", DecidingPolicy: "iam_rds_connect", DecidingStatement: "Statement[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := writeResponse(&buf, tt.ns, tt.action, tt.result, goldenRID); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, lines(buf.Bytes()))
		})
	}
}

func TestPolicyDocEncoding(t *testing.T) {
	t.Parallel()
	doc := "{\n \"a\": \"b c+d/é\"}"
	enc := policyDoc(doc)
	if strings.ContainsAny(enc, " +\n") {
		t.Errorf("policyDoc(%q) = %q: spaces, pluses or newlines left", doc, enc)
	}
	if got, err := url.QueryUnescape(enc); err != nil || got != doc {
		t.Errorf("QueryUnescape(policyDoc(%q)) = %q, %v", doc, got, err)
	}
	if got, err := url.PathUnescape(enc); err != nil || got != doc {
		t.Errorf("PathUnescape(policyDoc(%q)) = %q, %v", doc, got, err)
	}
}

// TestErrorMapping is the table of wire errors: every failure the server can meet, with the
// status, code and type the client sees.
func TestErrorMapping(t *testing.T) {
	t.Parallel()
	s := &Server{}
	now := goldenTime
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("X-Amz-Date", "20240506T065000Z")
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"domain not found", &iam.Error{Code: "NoSuchEntity", Message: "The user with name x cannot be found."}, 404, "NoSuchEntity"},
		{"domain conflict", &iam.Error{Code: "EntityAlreadyExists", Message: "exists"}, 409, "EntityAlreadyExists"},
		{"domain denied", &iam.Error{Code: "AccessDenied", Message: "denied"}, 403, "AccessDenied"},
		{"domain malformed policy", &iam.Error{Code: "MalformedPolicyDocument", Message: "bad"}, 400, "MalformedPolicyDocument"},
		{"domain without status", &iam.Error{Code: "ValidationError", Message: "bad"}, 400, "ValidationError"},
		{"wrapped domain error", fmt.Errorf("x: %w", &iam.Error{Code: "LimitExceeded", Message: "m"}), 409, "LimitExceeded"},
		{"internal", errors.New("store: disk on fire at /var/lib/iamdb"), 500, "InternalFailure"},
		{"form", &queryError{400, "MalformedQueryString", "m"}, 400, "MalformedQueryString"},
		{"no auth", authError(sigv4.ErrMissingAuth, nil, r, now, 5*time.Minute), 403, "MissingAuthenticationToken"},
		{"bad signature", authError(sigv4.ErrSignatureMismatch, nil, r, now, 5*time.Minute), 403, "SignatureDoesNotMatch"},
		{"payload hash", authError(sigv4.ErrPayloadHash, nil, r, now, 5*time.Minute), 403, "SignatureDoesNotMatch"},
		{"stale", authError(sigv4.ErrExpired, nil, r, now, 5*time.Minute), 403, "SignatureDoesNotMatch"},
		{"future", authError(sigv4.ErrNotYetValid, nil, r, now, 5*time.Minute), 403, "SignatureDoesNotMatch"},
		{"malformed auth", authError(fmt.Errorf("%w: x", sigv4.ErrMalformedAuth), nil, r, now, 5*time.Minute), 400, "IncompleteSignature"},
		{"algorithm", authError(sigv4.ErrAlgorithm, nil, r, now, 5*time.Minute), 400, "IncompleteSignature"},
		{"scope", authError(sigv4.ErrCredentialScope, nil, r, now, 5*time.Minute), 400, "IncompleteSignature"},
		{"host not signed", authError(sigv4.ErrHostNotSigned, nil, r, now, 5*time.Minute), 400, "IncompleteSignature"},
		{"unknown key", authError(sigv4.ErrSecretLookup, token.ErrUnknownKey, r, now, 5*time.Minute), 403, "InvalidClientTokenId"},
		{"bad session token", authError(sigv4.ErrSecretLookup, token.ErrInvalidSessionToken, r, now, 5*time.Minute), 403, "InvalidClientTokenId"},
		{"inactive key", authError(sigv4.ErrSecretLookup, token.ErrInactiveKey, r, now, 5*time.Minute), 403, "InvalidClientTokenId"},
		{"expired session", authError(sigv4.ErrSecretLookup, token.ErrSessionExpired, r, now, 5*time.Minute), 400, "ExpiredToken"},
		{"lookup failure", authError(sigv4.ErrSecretLookup, context.DeadlineExceeded, r, now, 5*time.Minute), 500, "InternalFailure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			qe := s.toQueryError(tt.err, "InternalFailure")
			if qe.status != tt.status || qe.code != tt.code {
				t.Errorf("toQueryError(%v) = %d %s, want %d %s", tt.err, qe.status, qe.code, tt.status, tt.code)
			}
			if tt.status == 500 && strings.Contains(qe.message, "disk") {
				t.Errorf("internal detail leaked: %q", qe.message)
			}
		})
	}
	stale := authError(sigv4.ErrExpired, nil, r, now, 5*time.Minute).(*queryError)
	if want := "Signature expired: 20240506T065000Z is now earlier than 20240506T070309Z (20240506T070809Z - 5 min.)"; stale.message != want {
		t.Errorf("stale message = %q, want %q", stale.message, want)
	}
}

func TestGoldenErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		file, ns string
		qe       *queryError
	}{
		{"iam_error_no_such_entity.xml", nsIAM, &queryError{404, "NoSuchEntity", "The user with name nobody cannot be found."}},
		{"sts_error_signature.xml", nsSTS, errBadSig},
		{"rds_error_internal.xml", nsRDS, &queryError{500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."}},
	} {
		var buf bytes.Buffer
		if err := writeError(&buf, tt.ns, tt.qe, goldenRID); err != nil {
			t.Fatal(err)
		}
		golden(t, tt.file, lines(buf.Bytes()))
	}
}

// TestServeProtocolErrors covers the failures found before any domain call, through
// ServeHTTP, on raw HTTP.
func TestServeProtocolErrors(t *testing.T) {
	t.Parallel()
	s, err := New(Config{IAM: &iam.Service{}, MaxBodyBytes: 1024, Now: func() time.Time { return goldenTime }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, target, ctype, body string
		status                            int
		code                              string
	}{
		{"garbage form", "POST", "/", "application/x-www-form-urlencoded", "Action=%zz", 400, "MalformedQueryString"},
		{"repeated", "POST", "/", "application/x-www-form-urlencoded", "Action=GetUser&Action=GetUser", 400, "MalformedQueryString"},
		{"oversized", "POST", "/", "application/x-www-form-urlencoded", "Action=GetUser&X=" + strings.Repeat("a", 2000), 413, "RequestEntityTooLarge"},
		{"json", "POST", "/", "application/json", "{}", 415, "UnsupportedMediaType"},
		{"put", "PUT", "/", "", "", 405, "InvalidAction"},
		{"path", "POST", "/x", "application/x-www-form-urlencoded", "Action=GetUser", 404, "InvalidAction"},
		{"no action", "POST", "/", "application/x-www-form-urlencoded", "Version=2010-05-08", 400, "MissingAction"},
		{"no version", "POST", "/", "application/x-www-form-urlencoded", "Action=GetUser", 400, "MissingParameter"},
		{"bad version", "POST", "/", "application/x-www-form-urlencoded", "Action=GetUser&Version=2099-01-01", 400, "InvalidAction"},
		{"unsigned", "POST", "/", "application/x-www-form-urlencoded", "Action=GetUser&Version=2010-05-08", 403, "MissingAuthenticationToken"},
		{"unsigned get", "GET", "/?Action=GetCallerIdentity&Version=2011-06-15", "", "", 403, "MissingAuthenticationToken"},
		{"web identity without parameters", "POST", "/", "application/x-www-form-urlencoded", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15", 400, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != tt.status || !strings.Contains(body, "<Code>"+tt.code+"</Code>") {
				t.Errorf("%s %s %q = %d %s, want %d %s", tt.method, tt.target, tt.body, w.Code, body, tt.status, tt.code)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/xml" {
				t.Errorf("Content-Type = %q", ct)
			}
			if rid := w.Header().Get("X-Amzn-Requestid"); len(rid) != 36 || !strings.Contains(body, "<RequestId>"+rid+"</RequestId>") {
				t.Errorf("request id %q not in %s", rid, body)
			}
		})
	}
	// A chunked oversized body (no Content-Length) is cut at the bound too.
	r := httptest.NewRequest("POST", "/", strings.NewReader("Action=GetUser&X="+strings.Repeat("a", 2000)))
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversized body: status %d", w.Code)
	}
}
