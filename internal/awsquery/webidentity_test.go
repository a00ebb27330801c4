package awsquery

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/oidc"
	"github.com/iamdb/iamdb/token"
)

// webEnv is the authority with an iamdb OIDC issuer on loopback http, registered in IAM as
// https://127.0.0.1:PORT (provider URLs are https://; the token's iss is http://, which
// the authority's key cache admits for loopback only because the test allows it), and an
// IRSA-style role trusting one service account.
type webEnv struct {
	*testEnv
	issuer  *oidc.Issuer
	roleARN string
	hp      string // the provider's host:port
	dir     string
}

const (
	webSub     = "system:serviceaccount:prod:app"
	webSession = "pod-1"
)

func newWebEnv(t *testing.T) *webEnv {
	t.Helper()
	var h atomic.Pointer[http.Handler]
	isrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }))
	t.Cleanup(isrv.Close)
	dir := t.TempDir()
	is, err := oidc.OpenIssuer(filepath.Join(dir, "oidc"), isrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	handler := is.Handler()
	h.Store(&handler)

	e := newTestEnvWith(t, func(c *iam.Config) {
		c.WebIdentityKeys = oidc.NewKeyCache(oidc.KeyCacheConfig{AllowInsecureLoopback: true})
	})
	ctx := context.Background()
	ic := e.iamClient(e.admin)
	hp := strings.TrimPrefix(isrv.URL, "http://")
	prov, err := ic.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{
		Url: aws.String("https://" + hp), ClientIDList: []string{"sts.amazonaws.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + *prov.OpenIDConnectProviderArn + `"},` +
		`"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{"StringEquals":{"` + hp + `:sub":"` + webSub + `","` + hp + `:aud":"sts.amazonaws.com"}}}]}`
	role, err := ic.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("irsa-app"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	return &webEnv{testEnv: e, issuer: is, roleARN: *role.Role.Arn, hp: hp, dir: dir}
}

func (w *webEnv) token(t *testing.T, spec oidc.TokenSpec) string {
	t.Helper()
	if spec.Subject == "" {
		spec.Subject = webSub
	}
	tok, err := w.issuer.Token(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (w *webEnv) tokenFile(t *testing.T, tok string) string {
	t.Helper()
	f, err := os.CreateTemp(w.dir, "token-*")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(tok)
	f.Close()
	return f.Name()
}

func (w *webEnv) assumedARN() string {
	return "arn:aws:sts::" + testAccount + ":assumed-role/irsa-app/" + webSession
}

func TestAssumeRoleWithWebIdentitySDK(t *testing.T) {
	t.Parallel()
	w := newWebEnv(t)
	ctx := context.Background()
	anon := awssts.NewFromConfig(aws.Config{Region: testRegion, Credentials: aws.AnonymousCredentials{},
		BaseEndpoint: aws.String(w.srv.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} }})
	out, err := anon.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(w.roleARN), RoleSessionName: aws.String(webSession), WebIdentityToken: aws.String(w.token(t, oidc.TokenSpec{})),
		DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity = %v", err)
	}
	if got := aws.ToString(out.SubjectFromWebIdentityToken); got != webSub {
		t.Errorf("SubjectFromWebIdentityToken = %q", got)
	}
	if got, want := aws.ToString(out.Provider), "arn:aws:iam::"+testAccount+":oidc-provider/"+w.hp; got != want {
		t.Errorf("Provider = %q, want %q", got, want)
	}
	if got := aws.ToString(out.Audience); got != "sts.amazonaws.com" {
		t.Errorf("Audience = %q", got)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != w.assumedARN() {
		t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, w.assumedARN())
	}
	if d := time.Until(aws.ToTime(out.Credentials.Expiration)); d < 14*time.Minute || d > 15*time.Minute {
		t.Errorf("credentials expire in %v, want 15m", d)
	}
	creds := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	logged := issuedLogLine(t, w.log(), "AssumeRoleWithWebIdentity")
	for k, want := range map[string]string{"role_arn": w.roleARN, "session_arn": w.assumedARN(), "issued_access_key_id": creds.AccessKeyID,
		"web_identity_subject": webSub, "web_identity_provider": aws.ToString(out.Provider)} {
		if logged[k] != want {
			t.Errorf("AssumeRoleWithWebIdentity's log line: %s = %v, want %q", k, logged[k], want)
		}
	}
	if strings.Contains(w.log(), creds.SecretAccessKey) || strings.Contains(w.log(), creds.SessionToken) {
		t.Error("the log holds the issued secret or session token")
	}
	id, err := w.stsClient(creds).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != w.assumedARN() {
		t.Errorf("GetCallerIdentity = %v, %v, want %s", id, err, w.assumedARN())
	}

	// The session signs RDS auth tokens that the data path accepts, like any role session's.
	if _, err := w.svc.RegisterDatabase(ctx, iam.DatabaseSpec{Identifier: "irsadb", Kind: iam.KindInstance, Engine: "postgres",
		Endpoints: []string{"irsadb.example.com"}, Port: 5432, Region: testRegion, Account: testAccount, IAMAuth: true}); err != nil {
		t.Fatal(err)
	}
	_, err = w.iamClient(w.admin).PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("irsa-app"), PolicyName: aws.String("connect"),
		PolicyDocument: aws.String(connectPolicy)})
	check(t, "PutRolePolicy", err)
	tok, err := token.Build("irsadb.example.com:5432", testRegion, "iam_user", token.Credentials{AccessKeyID: creds.AccessKeyID,
		SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken}, time.Now())
	check(t, "token.Build", err)
	if vr := verifyToken(t, w.testEnv, w.admin, tok, "iam_user"); !vr.Valid || vr.Decision != "allowed" || vr.PrincipalArn != w.assumedARN() {
		t.Errorf("VerifyDBAuthToken(web identity session's token) = %+v, want valid, allowed, %s", vr, w.assumedARN())
	}

	// Errors reach the SDK with STS's codes.
	for _, tc := range []struct {
		name string
		tok  string
		code string
	}{
		{"wrong audience", w.token(t, oidc.TokenSpec{Audience: []string{"sts.amazon.com"}}), "InvalidIdentityToken"},
		{"other subject", w.token(t, oidc.TokenSpec{Subject: "system:serviceaccount:prod:other"}), "AccessDenied"},
		{"garbage", "eyJhbGciOiJub25lIn0.e30.AA", "InvalidIdentityToken"},
	} {
		_, err := anon.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(w.roleARN), RoleSessionName: aws.String(webSession), WebIdentityToken: aws.String(tc.tok)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
			t.Errorf("%s: AssumeRoleWithWebIdentity = %v, want %s", tc.name, err, tc.code)
		}
	}
	// An expired token: ExpiredTokenException, the SDK's typed error.
	old := *w.issuer
	old.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	expired, err := old.Token(oidc.TokenSpec{Subject: webSub})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(w.roleARN), RoleSessionName: aws.String(webSession), WebIdentityToken: aws.String(expired)})
	var exp interface{ ErrorCode() string }
	if !errors.As(err, &exp) || exp.ErrorCode() != "ExpiredTokenException" || !strings.Contains(err.Error(), "Token expired") {
		t.Errorf("expired token: %v, want ExpiredTokenException", err)
	}
}

// TestWebIdentityCredentialChain is EKS IRSA as an SDK sees it: the default credential
// chain of aws-sdk-go-v2 with AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and
// AWS_ROLE_SESSION_NAME, its STS calls sent to the authority by AWS_ENDPOINT_URL_STS.
func TestWebIdentityCredentialChain(t *testing.T) {
	w := newWebEnv(t)
	file := w.tokenFile(t, w.token(t, oidc.TokenSpec{}))
	for k, v := range map[string]string{
		"AWS_ROLE_ARN": w.roleARN, "AWS_WEB_IDENTITY_TOKEN_FILE": file, "AWS_ROLE_SESSION_NAME": webSession,
		"AWS_ENDPOINT_URL_STS": w.srv.URL, "AWS_REGION": testRegion,
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_ENDPOINT_URL": "",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve = %v", err)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.Source != "WebIdentityCredentials" {
		t.Errorf("credentials = %s from %s, want ASIA… from WebIdentityCredentials", creds.AccessKeyID, creds.Source)
	}
	id, err := awssts.NewFromConfig(cfg).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != w.assumedARN() {
		t.Errorf("GetCallerIdentity = %v, %v, want %s", id, err, w.assumedARN())
	}
}

// TestWebIdentityCLIs runs the real clients: the AWS CLI v2 (--endpoint-url only) with
// assume-role-with-web-identity, and boto3 with the web identity environment.
func TestWebIdentityCLIs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the AWS CLI and boto3")
	}
	w := newWebEnv(t)
	file := w.tokenFile(t, w.token(t, oidc.TokenSpec{Tags: map[string]string{"team": "db"}}))
	home := t.TempDir()
	baseEnv := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true", "AWS_DEFAULT_REGION=" + testRegion}
	run := func(t *testing.T, env []string, argv ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(append([]string{}, baseEnv...), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
		return string(out)
	}

	t.Run("aws-cli-v2", func(t *testing.T) {
		if _, err := os.Stat("/usr/bin/aws"); err != nil {
			t.Skip("no AWS CLI v2 at /usr/bin/aws")
		}
		out := run(t, nil, "/usr/bin/aws", "--endpoint-url", w.srv.URL, "--output", "json", "sts", "assume-role-with-web-identity",
			"--role-arn", w.roleARN, "--role-session-name", webSession, "--web-identity-token", "file://"+file)
		var got struct {
			Credentials                                     struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
			SubjectFromWebIdentityToken, Provider, Audience string
			AssumedRoleUser                                 struct{ Arn, AssumedRoleId string }
			PackedPolicySize                                int
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("aws sts assume-role-with-web-identity: %v\n%s", err, out)
		}
		if got.SubjectFromWebIdentityToken != webSub || got.Audience != "sts.amazonaws.com" || !strings.HasSuffix(got.Provider, ":oidc-provider/"+w.hp) ||
			got.AssumedRoleUser.Arn != w.assumedARN() || !strings.HasPrefix(got.Credentials.AccessKeyId, "ASIA") || got.PackedPolicySize == 0 {
			t.Errorf("aws sts assume-role-with-web-identity = %s", out)
		}
		id := run(t, []string{"AWS_ACCESS_KEY_ID=" + got.Credentials.AccessKeyId, "AWS_SECRET_ACCESS_KEY=" + got.Credentials.SecretAccessKey,
			"AWS_SESSION_TOKEN=" + got.Credentials.SessionToken}, "/usr/bin/aws", "--endpoint-url", w.srv.URL, "--output", "text",
			"sts", "get-caller-identity", "--query", "Arn")
		if strings.TrimSpace(id) != w.assumedARN() {
			t.Errorf("aws sts get-caller-identity = %q, want %s", id, w.assumedARN())
		}
	})

	t.Run("boto3", func(t *testing.T) {
		if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
			t.Skip("no boto3")
		}
		out := run(t, []string{"AWS_ROLE_ARN=" + w.roleARN, "AWS_WEB_IDENTITY_TOKEN_FILE=" + file, "AWS_ROLE_SESSION_NAME=" + webSession,
			"AWS_ENDPOINT_URL_STS=" + w.srv.URL},
			"python3", "-c", `import boto3
s = boto3.session.Session()
print(s.get_credentials().method)
print(s.client("sts").get_caller_identity()["Arn"])`)
		if lines := strings.Fields(out); len(lines) != 2 || lines[0] != "assume-role-with-web-identity" || lines[1] != w.assumedARN() {
			t.Errorf("boto3 = %q, want assume-role-with-web-identity and %s", out, w.assumedARN())
		}
	})
}
