package queryclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/client"
)

// envCredentials returns the standard chain's credentials from the environment only.
func envCredentials(t *testing.T) *client.AWSCredentials {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAQUERYCLIENTTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "eu-west-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	creds, err := client.AWSDefaultCredentials(context.Background(), client.AWSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// The requests are signed forms; answers and AWS errors are decoded.
func TestVerifyAndIdentity(t *testing.T) {
	creds := envCredentials(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		auth := r.Header.Get("Authorization")
		switch r.PostForm.Get("Action") {
		case "VerifyDBAuthToken":
			if !strings.Contains(auth, "Credential=AKIAQUERYCLIENTTEST/") || !strings.Contains(auth, "/eu-west-1/rds/aws4_request") {
				t.Errorf("VerifyDBAuthToken's Authorization = %q", auth)
			}
			if r.PostForm.Get("Token") != "tok" || r.PostForm.Get("DBUser") != "app" || r.PostForm.Get("Hostname") != "db" || r.PostForm.Get("Port") != "5432" {
				t.Errorf("VerifyDBAuthToken's form = %v", r.PostForm)
			}
			w.Write([]byte(`<VerifyDBAuthTokenResponse><VerifyDBAuthTokenResult><Valid>true</Valid><Decision>implicitDeny</Decision>
				<PrincipalArn>arn:aws:iam::123456789012:user/u</PrincipalArn></VerifyDBAuthTokenResult></VerifyDBAuthTokenResponse>`))
		case "GetCallerIdentity":
			if !strings.Contains(auth, "/eu-west-1/sts/aws4_request") {
				t.Errorf("GetCallerIdentity's Authorization = %q", auth)
			}
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>unknown key</Message></Error></ErrorResponse>`))
		default:
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte("oops"))
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	v, err := VerifyDBAuthToken(ctx, creds, srv.URL, "tok", "app", "db", 5432)
	if err != nil {
		t.Fatal(err)
	}
	if v.Allowed() || v.String() != "refused: implicitDeny" || v.PrincipalARN != "arn:aws:iam::123456789012:user/u" {
		t.Errorf("VerifyDBAuthToken = %+v (%s), want a refusal by implicitDeny", v, v)
	}
	if _, err := GetCallerIdentity(ctx, creds, srv.URL); err == nil || err.Error() != "InvalidClientTokenId: unknown key" {
		t.Errorf("GetCallerIdentity = %v, want the AWS error", err)
	}
	var out struct{}
	if err := Call(ctx, creds, "iam", srv.URL, map[string][]string{"Action": {"Other"}}, &out); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("Call of an action the server fails = %v, want its status", err)
	}
}

func TestVerdictString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    Verdict
		want string
	}{
		{Verdict{Valid: true, Decision: "allowed"}, "valid"},
		{Verdict{Valid: false, Reason: "expired"}, "refused: expired"},
		{Verdict{Valid: true, Reason: "iam-auth-disabled", Decision: "allowed"}, "valid"},
		{Verdict{Valid: true, Reason: "iam-auth-disabled", Decision: "implicitDeny"}, "refused: iam-auth-disabled"},
		{Verdict{Valid: true, Reason: "no policy allows it", Decision: "implicitDeny"}, "refused: implicitDeny"},
	} {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.v, got, tt.want)
		}
	}
}
