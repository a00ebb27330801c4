package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func runPolicyCLI(args ...string) (stdout, stderr string, status int) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), exitStatus(err, io.Discard)
}

// cliCase is one run of the CLI: how it must exit and what its output must contain.
type cliCase struct {
	name       string
	args       []string
	wantStatus int
	wantOut    string // stdout contains it
	wantErr    string // stderr contains it
}

// runPolicyCases runs each of tests through runPolicyCLI in a parallel subtest.
func runPolicyCases(t *testing.T, tests []cliCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, status := runPolicyCLI(tt.args...)
			if status != tt.wantStatus {
				t.Fatalf("run(%q) status = %d, want %d\nstdout: %s\nstderr: %s", tt.args, status, tt.wantStatus, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("run(%q) stdout = %q, want it to contain %q", tt.args, out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, errOut, tt.wantErr)
			}
		})
	}
}

const (
	cliResource = "arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL/alice"
	cliUser     = "arn:aws:iam::111122223333:user/alice"
)

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", `{"Version":"2012-10-17","Statement":[{"Sid":"Connect","Effect":"Allow","Action":"rds-db:connect","Resource":"*"}]}`)
	bad := writeFile(t, dir, "bad.json", `{"Version":"2012-10-17","Statement":[{"Sid":"Connect","Effect":"Allow","Action":"rds-db:connect","Resource":"*"},{"Sid":"Oops","Effect":"Allow","Action":"connect","Resource":"*"}]}`)
	dup := writeFile(t, dir, "dup.json", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}}`)
	trust := writeFile(t, dir, "trust.json", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}`)

	tests := []cliCase{
		{name: "valid", args: []string{"policy", "validate", good}, wantOut: "valid\n"},
		{name: "malformed", args: []string{"policy", "validate", bad}, wantStatus: 1,
			wantErr: `MalformedPolicyDocument: Statement[1] (Sid "Oops"): Action: action "connect"`},
		{name: "duplicate key", args: []string{"policy", "validate", dup}, wantStatus: 1, wantErr: `MalformedPolicyDocument: duplicate key "Effect"`},
		{name: "too large", args: []string{"policy", "validate", "--max-size", "20", good}, wantStatus: 1, wantErr: "LimitExceeded: Cannot exceed quota for PolicySize: 20"},
		{name: "trust kind", args: []string{"policy", "validate", "--kind", "trust", trust}, wantOut: "valid\n"},
		{name: "trust as identity", args: []string{"policy", "validate", trust}, wantStatus: 1, wantErr: "MalformedPolicyDocument: Statement[0]: Resource"},
		{name: "several files", args: []string{"policy", "validate", good, bad}, wantStatus: 1, wantOut: good + ": valid\n", wantErr: bad + ": MalformedPolicyDocument"},
		{name: "missing file", args: []string{"policy", "validate", filepath.Join(dir, "nope.json")}, wantStatus: 1, wantErr: "no such file"},
		{name: "no file", args: []string{"policy", "validate"}, wantStatus: 2},
		{name: "bad kind", args: []string{"policy", "validate", "--kind", "x", good}, wantStatus: 2},
		{name: "help", args: []string{"policy", "validate", "--help"}, wantOut: "usage: iamdb policy validate"},
		{name: "no subcommand", args: []string{"policy"}, wantStatus: 2, wantErr: "usage: iamdb policy"},
		{name: "unknown subcommand", args: []string{"policy", "frob"}, wantStatus: 2},
	}
	runPolicyCases(t, tests)
}

func TestPolicySimulate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	connect := writeFile(t, dir, "connect.json", `{"Version":"2012-10-17","Statement":[
	  {"Sid":"Self","Effect":"Allow","Action":"rds-db:connect",
	   "Resource":"arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL/${aws:username}",
	   "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringEquals":{"aws:PrincipalTag/team":"eng"}}}]}`)
	deny := writeFile(t, dir, "deny.json", `{"Version":"2012-10-17","Statement":[{"Sid":"NoPlain","Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)
	boundary := writeFile(t, dir, "boundary.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	trust := writeFile(t, dir, "trust.json", `{"Version":"2012-10-17","Statement":[{"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}`)
	sets := writeFile(t, dir, "sets.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]},"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"},"BinaryEquals":{"iamdb:blob":"QUJD"},"ArnLike":{"aws:SourceArn":"arn:aws:iam::*:role/*"}}}]}`)
	bad := writeFile(t, dir, "bad.json", `{"Version":"2012-10-17"}`)

	base := []string{"policy", "simulate", "--policy", connect, "--action", "rds-db:connect", "--resource", cliResource, "--principal", cliUser,
		"--context", "aws:SourceIp=ip:10.1.2.3", "--context", "aws:PrincipalTag/team=string:eng"}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	tests := []cliCase{
		{name: "allowed", args: base, wantOut: "allowed\npolicy: " + connect + "\nstatement: Self\n"},
		{name: "other user", args: append(append([]string{}, base[:6]...), append([]string{"--resource", strings.Replace(cliResource, "alice", "bob", 1)}, base[8:]...)...), wantStatus: 1, wantOut: "implicitDeny\n"},
		{name: "explicit deny", args: with("--policy", deny, "--context", "aws:SecureTransport=bool:false"), wantStatus: 1, wantOut: "explicitDeny\npolicy: " + deny + "\nstatement: NoPlain\n"},
		{name: "secure", args: with("--policy", deny, "--context", "aws:SecureTransport=bool:true"), wantOut: "allowed\n"},
		{name: "boundary", args: with("--boundary", boundary), wantStatus: 1, wantOut: "implicitDeny\nreason: the permissions boundary does not allow the request\n"},
		{name: "session policy", args: with("--session-policy", boundary), wantStatus: 1, wantOut: "implicitDeny\n"},
		{name: "trust", args: []string{"policy", "simulate", "--resource-policy", trust, "--trust", "--action", "sts:AssumeRole",
			"--resource", "arn:aws:iam::111122223333:role/app", "--principal", cliUser, "--context", "aws:CurrentTime=date:2024-06-01T12:00:00Z"},
			wantOut: "allowed\npolicy: " + trust + "\nstatement: Alice\n"},
		{name: "trust epoch date", args: []string{"policy", "simulate", "--resource-policy", trust, "--trust", "--action", "sts:AssumeRole",
			"--resource", "arn:aws:iam::111122223333:role/app", "--principal", cliUser, "--context", "aws:CurrentTime=date:1900000000"},
			wantStatus: 1, wantOut: "implicitDeny\n"},
		{name: "typed values", args: []string{"policy", "simulate", "--policy", sets, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k",
			"--context", "aws:TagKeys=stringList:a,b", "--context", "aws:MultiFactorAuthAge=numeric:30", "--context", "iamdb:blob=binary:QUJD",
			"--context", "aws:SourceArn=arn:arn:aws:iam::111122223333:role/x", "--principal", cliUser}, wantOut: "allowed\n"},
		{name: "typed values fail", args: []string{"policy", "simulate", "--policy", sets, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k",
			"--context", "aws:TagKeys=stringList:a,c", "--context", "aws:MultiFactorAuthAge=numeric:30", "--context", "iamdb:blob=binary:QUJD",
			"--context", "aws:SourceArn=arn:arn:aws:iam::111122223333:role/x", "--principal", cliUser}, wantStatus: 1, wantOut: "implicitDeny\n"},
		{name: "no policies", args: []string{"policy", "simulate", "--action", "rds-db:connect", "--resource", cliResource}, wantStatus: 1,
			wantOut: "implicitDeny\nreason: no identity-based or resource-based policy allows the request\n"},
		// Without --principal the caller is in the resource's account: an identity policy
		// decides, with no talk of a resource-based policy (finding 10 of issue 15).
		{name: "no principal", args: []string{"policy", "simulate", "--policy", deny, "--policy", boundary, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k"},
			wantOut: "allowed\n"},
		{name: "no principal, ARN with an account", args: []string{"policy", "simulate", "--policy", writeFile(t, dir, "all.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"*"}]}`),
			"--action", "rds-db:connect", "--resource", cliResource}, wantOut: "reason: allowed by an identity-based policy\n"},
		{name: "no principal, not allowed", args: []string{"policy", "simulate", "--policy", boundary, "--action", "rds-db:connect", "--resource", cliResource},
			wantStatus: 1, wantOut: "implicitDeny\nreason: no identity-based or resource-based policy allows the request\n"},
		{name: "bad policy", args: []string{"policy", "simulate", "--policy", bad, "--action", "a:b", "--resource", "*"}, wantStatus: 1},
		{name: "missing action", args: []string{"policy", "simulate", "--resource", cliResource}, wantStatus: 2},
		{name: "bad context", args: with("--context", "aws:SourceIp=ip:nope"), wantStatus: 2},
		{name: "bad context type", args: with("--context", "k:x=weird:1"), wantStatus: 2},
		{name: "bad principal", args: with("--principal", "alice"), wantStatus: 2},
		{name: "unknown flag", args: with("--frob"), wantStatus: 2},
		{name: "help", args: []string{"policy", "simulate", "-h"}, wantOut: "TYPE is one of"},
	}
	runPolicyCases(t, tests)
}
