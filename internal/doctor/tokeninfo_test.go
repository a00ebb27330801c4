package doctor

import (
	"strings"
	"testing"
	"time"

	"github.com/iamdb/iamdb/token"
)

func TestParseToken(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	tok, err := token.Build("[::1]:6432", "eu-west-1", "App_User", token.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "s"}, at)
	if err != nil {
		t.Fatal(err)
	}
	ti, err := parseToken(tok)
	want := tokenInfo{Host: "::1", Port: 6432, User: "App_User", AccessKeyID: "AKIAEXAMPLE", Region: "eu-west-1", Date: at, Expires: 15 * time.Minute}
	if err != nil || ti != want {
		t.Errorf("parseToken = %+v, %v; want %+v", ti, err, want)
	}
	for _, bad := range []string{
		"", "host:5432", "host?Action=connect", "host:0?Action=connect", "h:1?Action=other&DBUser=u",
		strings.Replace(tok, "X-Amz-Date=2026", "X-Amz-Date=x", 1),
		strings.Replace(tok, "X-Amz-Expires=900", "X-Amz-Expires=-1", 1),
		strings.Replace(tok, "%2Feu-west-1%2F", "%2F", 1),
		tok + strings.Repeat("a", maxTokenLen),
	} {
		if _, err := parseToken(bad); err == nil {
			t.Errorf("parseToken(%.60q) = nil error", bad)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	tok, err := token.Build("db.example:5432", "us-east-1", "u", token.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "s"}, time.Unix(1.8e9, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("h:1/?Action=connect&DBUser=u")
	f.Fuzz(func(t *testing.T, s string) {
		ti, err := parseToken(s)
		if err != nil {
			return
		}
		if ti.Port < 1 || ti.Port > 65535 || ti.User == "" || ti.Region == "" || ti.Expires < 0 || len(s) > maxTokenLen {
			t.Errorf("parseToken(%q) = %+v", s, ti)
		}
	})
}
