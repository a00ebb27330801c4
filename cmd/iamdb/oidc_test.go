package main

// iamdb oidc serve and iamdb oidc token, run in-process, with the tokens used the way EKS
// IRSA uses them: registered in an authority (iam.Service behind the awsquery handler on
// loopback, allowing loopback http issuers, which iamdb serve's configuration does not
// offer) and exchanged by aws-sdk-go-v2 for role credentials.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/jwt"
	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/oidc"
	"github.com/iamdb/iamdb/internal/testenv/authority"
	"github.com/iamdb/iamdb/internal/testenv/gatewayenv"
	"github.com/iamdb/iamdb/token"
)

// startOIDCServe runs "iamdb oidc serve" in-process until the test ends and returns its
// issuer URL, which it prints as it gets ready.
func startOIDCServe(t *testing.T, args ...string) string {
	t.Helper()
	p := startInProcess(t, hooks{}, append([]string{"oidc", "serve"}, args...)...)
	if want := "ready issuer=" + p.addr + "\n"; p.stdout.String() != want {
		t.Fatalf("iamdb oidc serve printed %q, want %q", p.stdout.String(), want)
	}
	return p.addr
}

func oidcToken(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), append([]string{"oidc", "token"}, args...), &stdout, &stderr); err != nil {
		t.Fatalf("iamdb oidc token %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

func TestOIDCServeAndToken(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "oidc")
	issuer := startOIDCServe(t, "--dir", dir)
	if !strings.HasPrefix(issuer, "http://127.0.0.1:") {
		t.Fatalf("issuer %q, want http://127.0.0.1:PORT", issuer)
	}
	ctx := context.Background()
	keys, err := oidc.NewKeyCache(oidc.KeyCacheConfig{AllowInsecureLoopback: true}).Keys(ctx, issuer, false)
	if err != nil || len(keys.Keys) != 1 {
		t.Fatalf("Keys(%s) = %v, %v", issuer, keys, err)
	}

	// The URL saved by serve; a file written atomically.
	out := filepath.Join(t.TempDir(), "token")
	if s := oidcToken(t, "--dir", dir, "--sub", "system:serviceaccount:prod:app", "--ttl", "10m", "--tag", "team=db", "--transitive-tag", "team", "--out", out); s != "" {
		t.Errorf("--out printed %q", s)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode())
	}
	tok, err := jwt.Parse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Verify(keys); err != nil {
		t.Errorf("Verify = %v", err)
	}
	c := tok.Claims
	if err := c.Validate(jwt.Validation{Now: time.Now(), Issuer: issuer, Audiences: []string{"sts.amazonaws.com"}}); err != nil {
		t.Errorf("Validate = %v", err)
	}
	if d := c.Expiry.Sub(*c.IssuedAt); d != 10*time.Minute {
		t.Errorf("lifetime %v, want 10m", d)
	}
	var k8s struct {
		Namespace      string `json:"namespace"`
		ServiceAccount struct {
			Name string `json:"name"`
		} `json:"serviceaccount"`
	}
	if err := json.Unmarshal(c.Raw["kubernetes.io"], &k8s); err != nil || k8s.Namespace != "prod" || k8s.ServiceAccount.Name != "app" {
		t.Errorf("kubernetes.io claim = %s", c.Raw["kubernetes.io"])
	}
	if got := string(c.Raw[oidc.TagsClaim]); got != `{"principal_tags":{"team":["db"]},"transitive_tag_keys":["team"]}` {
		t.Errorf("tags claim = %s", got)
	}

	// Printed, with two audiences and an explicit issuer.
	s := oidcToken(t, "--dir", dir, "--sub", "ci", "--aud", "a", "--aud", "b", "--issuer", "https://ci.example/oidc")
	tok, err = jwt.Parse(s)
	if err != nil || tok.Claims.Issuer != "https://ci.example/oidc" || strings.Join(tok.Claims.Audience, ",") != "a,b" {
		t.Errorf("token = %+v, %v", tok, err)
	}
	if _, ok := tok.Claims.Raw["kubernetes.io"]; ok {
		t.Errorf("kubernetes.io claim for a subject that is no service account")
	}
}

func TestOIDCUsage(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	for _, args := range [][]string{
		{"oidc"},
		{"oidc", "nope"},
		{"oidc", "serve"},
		{"oidc", "serve", "--dir", empty, "--tls-cert", "x"},
		{"oidc", "token", "--dir", empty},
		{"oidc", "token", "--sub", "x"},
		{"oidc", "token", "--dir", empty, "--sub", "x", "--tag", "novalue"},
		{"oidc", "token", "--dir", empty, "--sub", "x", "--tag", "a=1", "--tag", "a=2"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if got := exitStatus(err, io.Discard); got != 2 {
			t.Errorf("iamdb %s: exit %d (%v), want 2", strings.Join(args, " "), got, err)
		}
	}
	// A directory without a key: no new key is made up.
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"oidc", "token", "--dir", empty, "--sub", "x", "--issuer", "https://x.example"}, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "no signing key") {
		t.Errorf("token from an empty directory: %v, want no signing key", err)
	}
	if _, err := os.Stat(filepath.Join(empty, "signing-key.pem")); err == nil {
		t.Errorf("token created a key")
	}
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"oidc", "--help"}, &stdout, io.Discard); err != nil || !strings.Contains(stdout.String(), "iamdb oidc serve") {
		t.Errorf("oidc --help = %v, %q", err, stdout.String())
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key to dir.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile = writeFile(t, dir, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, dir, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
	cert, _ = x509.ParseCertificate(der)
	return certFile, keyFile, cert
}

// TestOIDCServeTLS serves https with a certificate the key cache trusts, as a production
// issuer would be (the authority fetches https:// issuers only).
func TestOIDCServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, cert := selfSignedCert(t, dir)
	issuer := startOIDCServe(t, "--dir", filepath.Join(dir, "oidc"), "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(issuer, "https://127.0.0.1:") {
		t.Fatalf("issuer %q, want https://127.0.0.1:PORT", issuer)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	keys, err := oidc.NewKeyCache(oidc.KeyCacheConfig{Client: client}).Keys(context.Background(), issuer, false)
	if err != nil || len(keys.Keys) != 1 {
		t.Errorf("Keys(%s) over https = %v, %v", issuer, keys, err)
	}
}

// TestOIDCWebIdentityEndToEnd exchanges a token of iamdb oidc for role credentials.
func TestOIDCWebIdentityEndToEnd(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "oidc")
	issuer := startOIDCServe(t, "--dir", dir)
	ctx := context.Background()
	a := authority.New(t, authority.Options{Config: func(c *iam.Config) {
		c.WebIdentityKeys = oidc.NewKeyCache(oidc.KeyCacheConfig{AllowInsecureLoopback: true})
	}})
	acct := a.Account
	hp := strings.TrimPrefix(issuer, "http://")
	prov, err := a.IAM.CreateOpenIDConnectProvider(ctx, a.Root(), iam.CreateOIDCProviderInput{URL: "https://" + hp, ClientIDList: []string{"sts.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + prov.ARN + `"},"Action":"sts:AssumeRoleWithWebIdentity",` +
		`"Condition":{"StringLike":{"` + hp + `:sub":"system:serviceaccount:prod:*"}}}]}`
	role := a.Role(t, "irsa", trust)

	sts := awssts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(gatewayenv.AWSEndpoint(t, a)),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }})
	for _, tc := range []struct {
		sub  string
		want bool
	}{{"system:serviceaccount:prod:app", true}, {"system:serviceaccount:dev:app", false}} {
		tok := oidcToken(t, "--dir", dir, "--sub", tc.sub)
		out, err := sts.AssumeRoleWithWebIdentity(ctx, &awssts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(role.ARN),
			RoleSessionName: aws.String("app"), WebIdentityToken: aws.String(tok)})
		if (err == nil) != tc.want {
			t.Errorf("AssumeRoleWithWebIdentity(sub %s) = %v, want success %v", tc.sub, err, tc.want)
			continue
		}
		if err == nil && aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::"+acct+":assumed-role/irsa/app" {
			t.Errorf("AssumedRoleUser = %s", aws.ToString(out.AssumedRoleUser.Arn))
		}
	}
}

// TestOIDCGatewayLogin is EKS IRSA end to end against iamdb dev: a service-account token of
// "iamdb oidc serve" (https, its certificate trusted by the authority through SSL_CERT_FILE,
// hence a subprocess), exchanged by aws-sdk-go-v2's web identity provider for role
// credentials, which sign an RDS auth token that logs in through the PostgreSQL gateway.
func TestOIDCGatewayLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts iamdb dev with PostgreSQL and MariaDB")
	}
	if _, err := localdb.FindPostgres(); err != nil {
		needTool(t, false, "the PostgreSQL server binaries", "apt-get install -y postgresql")
	}
	t.Parallel()
	tmp := t.TempDir()
	certFile, keyFile, _ := selfSignedCert(t, tmp)
	oidcDir := filepath.Join(tmp, "oidc")
	issuer := startOIDCServe(t, "--dir", oidcDir, "--tls-cert", certFile, "--tls-key", keyFile)

	devDir := filepath.Join(tmp, "dev")
	dev, _ := startChild(t, toolEnv(t, "us-east-1", "SSL_CERT_FILE="+certFile), func(l string) bool { return l == "ready" }, "dev", "--dir", devDir)
	logs := &dev.logs
	t.Cleanup(func() {
		if err := dev.stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("iamdb dev: %v", err)
		}
		if t.Failed() {
			t.Logf("iamdb dev's log:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env := readDevEnv(t, filepath.Join(devDir, "env"))
	region, acct := env["AWS_REGION"], env["IAMDB_ACCOUNT_ID"]
	port, _ := strconv.Atoi(env["IAMDB_PG_PORT"])

	// The database user, as on RDS.
	admin, err := pgx.Connect(ctx, env["IAMDB_PG_ADMIN_URL"])
	if err != nil {
		t.Fatalf("PostgreSQL admin through the gateway: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE USER irsa_user WITH LOGIN; GRANT rds_iam TO irsa_user"); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)

	// The provider and the role, as the admin of D/env.
	adminCfg := aws.Config{Region: region, BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL"]),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: env["AWS_ACCESS_KEY_ID"], SecretAccessKey: env["AWS_SECRET_ACCESS_KEY"]}, nil
		})}
	ic := awsiam.NewFromConfig(adminCfg)
	hp := strings.TrimPrefix(issuer, "https://")
	prov, err := ic.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer), ClientIDList: []string{"sts.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + aws.ToString(prov.OpenIDConnectProviderArn) + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + hp + `:sub":"system:serviceaccount:prod:app","` + hp + `:aud":"sts.amazonaws.com"}}}]}`
	role, err := ic.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("irsa-app"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	connect := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rds-db:connect","Resource":"arn:aws:rds-db:` + region + `:` + acct + `:dbuser:*/irsa_user"}]}`
	if _, err := ic.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String("irsa-app"), PolicyName: aws.String("connect"), PolicyDocument: aws.String(connect)}); err != nil {
		t.Fatal(err)
	}

	// The pod: a projected token file, the SDK's web identity provider, a token, a login.
	tokenFile := filepath.Join(tmp, "token")
	oidcToken(t, "--dir", oidcDir, "--sub", "system:serviceaccount:prod:app", "--out", tokenFile)
	stsc := awssts.NewFromConfig(aws.Config{Region: region, BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL"]), Credentials: aws.AnonymousCredentials{}})
	provider := aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(stsc, aws.ToString(role.Role.Arn), stscreds.IdentityTokenFile(tokenFile),
		func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = "app-pod" }))
	creds, err := provider.Retrieve(ctx)
	if err != nil {
		t.Fatalf("web identity credentials: %v\n%s", err, logs.String())
	}
	tok, err := token.Build("localhost:"+strconv.Itoa(port), region, "irsa_user",
		token.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig("host=localhost port=" + strconv.Itoa(port) + " user=irsa_user dbname=postgres sslmode=verify-full sslrootcert=" +
		env["IAMDB_CA_FILE"] + " application_name=oidc-e2e connect_timeout=10")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = tok
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("login through the gateway with the web identity session's token: %v", err)
	}
	defer c.Close(context.Background())
	var user string
	if err := c.QueryRow(ctx, "select current_user").Scan(&user); err != nil || user != "irsa_user" {
		t.Errorf("current_user = %q, %v, want irsa_user", user, err)
	}
	if !strings.Contains(logs.String(), "assumed-role/irsa-app/app-pod") {
		t.Errorf("the gateway's log does not name the assumed-role session")
	}
}
