package main

// iamdb oidc serve and iamdb oidc token, run in-process, with the tokens used the way EKS
// IRSA uses them: registered in an authority (iam.Service behind the awsquery handler on
// loopback, allowing loopback http issuers, which iamdb serve's configuration does not
// offer) and exchanged by aws-sdk-go-v2 for role credentials.

import (
	"bufio"
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
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iamdb/iamdb/internal/awsquery"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/jwt"
	"github.com/iamdb/iamdb/internal/oidc"
	"github.com/iamdb/iamdb/internal/store/sqlite"
)

// startOIDCServe runs "iamdb oidc serve" until the test ends and returns its issuer URL.
func startOIDCServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"oidc", "serve"}, args...), pw, &stderr)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("iamdb oidc serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("iamdb oidc serve did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("iamdb oidc serve: %v (stderr %s)", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	u, ok := strings.CutPrefix(strings.TrimSpace(line), "ready issuer=")
	if !ok {
		t.Fatalf("iamdb oidc serve printed %q, want ready issuer=URL", line)
	}
	return u
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

// TestOIDCServeTLS serves https with a certificate the key cache trusts, as a production
// issuer would be (the authority fetches https:// issuers only).
func TestOIDCServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	issuer := startOIDCServe(t, "--dir", filepath.Join(dir, "oidc"), "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(issuer, "https://127.0.0.1:") {
		t.Fatalf("issuer %q, want https://127.0.0.1:PORT", issuer)
	}
	cert, _ := x509.ParseCertificate(der)
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
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "iamdb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := iam.New(ctx, iam.Config{Store: st, MasterKey: bytes.Repeat([]byte{9}, 32),
		WebIdentityKeys: oidc.NewKeyCache(oidc.KeyCacheConfig{AllowInsecureLoopback: true})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	const acct = "123456789012"
	if _, _, err := svc.Bootstrap(ctx, iam.BootstrapInput{AccountID: acct, AdminUserName: "admin"}); err != nil {
		t.Fatal(err)
	}
	root := svc.Root(acct)
	hp := strings.TrimPrefix(issuer, "http://")
	prov, err := svc.CreateOpenIDConnectProvider(ctx, root, iam.CreateOIDCProviderInput{URL: "https://" + hp, ClientIDList: []string{"sts.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + prov.ARN + `"},"Action":"sts:AssumeRoleWithWebIdentity",` +
		`"Condition":{"StringLike":{"` + hp + `:sub":"system:serviceaccount:prod:*"}}}]}`
	role, err := svc.CreateRole(ctx, root, iam.CreateRoleInput{RoleName: "irsa", AssumeRolePolicyDocument: trust})
	if err != nil {
		t.Fatal(err)
	}
	h, err := awsquery.New(awsquery.Config{IAM: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	sts := awssts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(srv.URL),
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
