package awsquery

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRequestParameters(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, form, want string
	}{
		{"none", "Action=ListUsers&Version=2010-05-08", `null`},
		{"scalars", "Action=GetUser&UserName=alice&PathPrefix=%2Fx%2F", `{"pathPrefix":"/x/","userName":"alice"}`},
		{"tags", "Tags.member.2.Key=b&Tags.member.1.Key=a&Tags.member.1.Value=1", `{"tags":[{"key":"a","value":"1"},{"key":"b"}]}`},
		{"string list", "TransitiveTagKeys.member.1=a&TransitiveTagKeys.member.2=b", `{"transitiveTagKeys":["a","b"]}`},
		{"rds filters", "Filters.Filter.1.Name=engine&Filters.Filter.1.Values.Value.1=postgres&DBInstanceIdentifier=db1",
			`{"dBInstanceIdentifier":"db1","filters":[{"name":"engine","values":["postgres"]}]}`},
		{"policy arns", "PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FX", `{"policyArns":[{"arn":"arn:aws:iam::aws:policy/X"}]}`},
		{"policy document stays a string", "PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%7D", `{"policyDocument":"{\"Version\":\"2012-10-17\"}"}`},
		{"secrets removed", "Password=p1&NewPassword=p2&OldPassword=p3&WebIdentityToken=jwt&SAMLAssertion=s&TokenCode=123456" +
			"&PrivateKey=k&AuthenticationCode1=1&AuthenticationCode2=2&Token=t&SomeSecretThing=x&ClientSecret=y&RoleSessionName=s1",
			`{"roleSessionName":"s1"}`},
		{"secret inside a list", "Things.member.1.Secret=x&Things.member.1.Name=n", `{"things":[{"name":"n"}]}`},
		{"presigning parameters removed", "X-Amz-Signature=abc&X-Amz-Security-Token=tok&X-Amz-Credential=AKIA%2F&x-amz-date=1&UserName=u", `{"userName":"u"}`},
		{"allowed names", "PasswordResetRequired=true", `{"passwordResetRequired":"true"}`},
		{"big index is a name", "Foo.99999999=x", `{"foo":{"99999999":"x"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseForm(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(requestParameters(f))
			if string(b) != tt.want {
				t.Errorf("requestParameters(%q) = %s, want %s", tt.form, b, tt.want)
			}
		})
	}
}

func TestResponseElements(t *testing.T) {
	t.Parallel()
	res := assumeRoleResult{
		Credentials:     xCredentials{AccessKeyID: "ASIAX", SecretAccessKey: "SECRET", SessionToken: "TOKEN", Expiration: "2026-01-01T00:00:00Z"},
		AssumedRoleUser: xAssumedRoleUser{AssumedRoleID: "AROAX:s", Arn: "arn:aws:sts::1:assumed-role/r/s"},
	}
	b, _ := json.Marshal(responseElements(res))
	want := `{"assumedRoleUser":{"arn":"arn:aws:sts::1:assumed-role/r/s","assumedRoleId":"AROAX:s"},"credentials":{"accessKeyId":"ASIAX","expiration":"2026-01-01T00:00:00Z"}}`
	if string(b) != want {
		t.Errorf("responseElements(AssumeRole) = %s, want %s", b, want)
	}
	b, _ = json.Marshal(responseElements(usersPage{Users: listOf([]xUser{{UserName: "a"}}), page: page{IsTruncated: true, Marker: "m"}}))
	if !strings.Contains(string(b), `"users":[{`) || !strings.Contains(string(b), `"isTruncated":true`) || !strings.Contains(string(b), `"marker":"m"`) {
		t.Errorf("responseElements(usersPage) = %s", b)
	}
	if responseElements(nil) != nil {
		t.Error("responseElements(nil) != nil")
	}
}

func TestSecretish(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"SecretAccessKey": true, "SessionToken": true, "Password": true, "NewPassword": true, "WebIdentityToken": true,
		"SAMLAssertion": true, "TokenCode": true, "PrivateKey": true, "Base32StringSeed": true, "QRCodePNG": true,
		"AuthenticationCode1": true, "X-Amz-Security-Token": true, "ClientSecret": true,
		"RoleSessionName": false, "UserName": false, "SubjectFromWebIdentityToken": false, "PasswordResetRequired": false,
		"AccessKeyId": false, "DurationSeconds": false, "PolicyDocument": false, "SerialNumber": false,
	} {
		if got := secretish(name); got != want {
			t.Errorf("secretish(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzRequestParameters: any form converts without panicking, and no value of a
// secretish parameter reaches the result.
func FuzzRequestParameters(f *testing.F) {
	for _, s := range []string{
		"Tags.member.1.Key=a&Tags.member.1.Value=b", "Filters.Filter.1.Values.Value.1=x", "a.1=x&a.1.b=y&a=z",
		"Password=SECRETVALUE&UserName=u", "x.member.0=1&x.member.01=2", "a..b=1&.=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		form, err := parseForm(s)
		if err != nil {
			return
		}
		b, err := json.Marshal(requestParameters(form))
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		for k, v := range form.m {
			if len(v) >= 8 && anySecret(strings.Split(k, ".")) && strings.Contains(string(b), v) {
				// The same value may be sent under a non-secret name too.
				leaked := true
				for k2, v2 := range form.m {
					if v2 == v && !anySecret(strings.Split(k2, ".")) {
						leaked = false
					}
				}
				if leaked {
					t.Fatalf("secret %s=%q in %s", k, v, b)
				}
			}
		}
	})
}
