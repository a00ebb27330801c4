package awsquery

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/testenv"
	"github.com/iamdb/iamdb/internal/testenv/authority"
	"github.com/iamdb/iamdb/sigv4"
)

const (
	testAccount = "123456789012"
	testRegion  = "ap-northeast-1"
)

// testEnv is the authority as a user has it: a real iam.Service on a temporary SQLite store,
// bootstrapped with an admin key, behind the handler on a loopback HTTP server.
type testEnv struct {
	t     testing.TB
	auth  *authority.Authority
	svc   *iam.Service
	srv   *httptest.Server
	admin aws.Credentials
	clock *testenv.Clock    // the domain's clock (the server checks signatures against real time)
	logs  testenv.LogBuffer // the server's log, JSON lines at debug level
	h     atomic.Pointer[Server]

	mu      sync.Mutex
	actions map[string]int // successful actions seen by the server
}

func (e *testEnv) log() string { return e.logs.String() }

func newTestEnv(t testing.TB) *testEnv { return newTestEnvWith(t, nil) }

// newTestEnvWith is newTestEnv with the iam.Config changed by mod first.
func newTestEnvWith(t testing.TB, mod func(*iam.Config)) *testEnv {
	t.Helper()
	a := authority.New(t, authority.Options{Account: testAccount, Region: testRegion, Config: mod})
	e := &testEnv{t: t, auth: a, svc: a.IAM, clock: a.Clock, actions: map[string]int{}}
	e.admin = aws.Credentials{AccessKeyID: a.Admin.AccessKeyID, SecretAccessKey: a.Admin.SecretAccessKey}
	logger := e.logs.Logger()
	h, err := New(Config{IAM: a.IAM, Region: testRegion, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	e.h.Store(h)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		e.h.Load().ServeHTTP(rec, r)
		if rec.status == http.StatusOK {
			e.mu.Lock()
			e.actions[rec.action]++
			e.mu.Unlock()
		}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// statusRecorder notes the status and the action (from the response's root element).
type statusRecorder struct {
	http.ResponseWriter
	status int
	action string
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.action == "" && r.status == http.StatusOK {
		// <ActionResponse xmlns=…>
		if i := strings.Index(string(b), "Response "); i > 1 && b[0] == '<' {
			r.action = string(b[1:i])
		}
	}
	return r.ResponseWriter.Write(b)
}

// seen returns how many times each action succeeded.
func (e *testEnv) seen() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.actions))
	for k, v := range e.actions {
		out[k] = v
	}
	return out
}

// awsConfig is a client configuration without retries, so that every failure shows.
//
// aws-sdk-go-v2 itself can fail a call whose response body takes more than one read
// (ListUsers of ~100 users) with "deserialization failed, … use of closed network
// connection": smithy-go (v1.28.8, v1.28.9) closes the request body once Client.Do returns,
// its body wrapper's WriteTo then returns io.EOF, and net/http's writeLoop, still to drain
// the body after writing Content-Length bytes, takes that for a write error and closes the
// connection. It happens against any server when the client's writing goroutine runs late;
// the server has already read the whole body and answered. The SDK's default retryer
// retries it (the message is on its retryable list), so users rarely see it; with
// NopRetryer a test does. If a test here fails that way, the cause is the client.
func (e *testEnv) awsConfig(c aws.Credentials) aws.Config {
	return aws.Config{
		Region:       testRegion,
		Credentials:  credentials.StaticCredentialsProvider{Value: c},
		BaseEndpoint: aws.String(e.srv.URL),
		HTTPClient:   e.srv.Client(),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func (e *testEnv) iamClient(c aws.Credentials) *awsiam.Client {
	return awsiam.NewFromConfig(e.awsConfig(c))
}
func (e *testEnv) stsClient(c aws.Credentials) *awssts.Client {
	return awssts.NewFromConfig(e.awsConfig(c))
}
func (e *testEnv) rdsClient(c aws.Credentials) *awsrds.Client {
	return awsrds.NewFromConfig(e.awsConfig(c))
}

// rawResponse is a response to a hand-made request.
type rawResponse struct {
	status int
	body   string
	Code   string `xml:"Error>Code"`
	Msg    string `xml:"Error>Message"`
}

// post sends body with the headers of kv (name, value, …), signed with our own signer by c
// for service (unsigned if c is zero), and returns the response and its body.
func (e *testEnv) post(c aws.Credentials, service, body string, kv ...string) (*http.Response, []byte) {
	e.t.Helper()
	r, err := http.NewRequest("POST", e.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Set(kv[i], kv[i+1])
	}
	if c.AccessKeyID != "" {
		sum := sha256.Sum256([]byte(body))
		var s sigv4.Signer
		if err := s.SignHTTP(r, sigv4.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
			hex.EncodeToString(sum[:]), service, testRegion, time.Now()); err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := e.srv.Client().Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// raw sends a form signed with our own signer for service (or unsigned if c is zero).
func (e *testEnv) raw(c aws.Credentials, service, form string) rawResponse {
	e.t.Helper()
	resp, b := e.post(c, service, form, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	out := rawResponse{status: resp.StatusCode, body: string(b)}
	if resp.StatusCode != http.StatusOK {
		xml.Unmarshal(b, &out)
	}
	return out
}

func formOf(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func xmlUnmarshal(s string, v any) error { return xml.Unmarshal([]byte(s), v) }

// adminCaller is the admin as the domain sees it.
func adminCaller(t testing.TB, e *testEnv) *iam.Caller {
	t.Helper()
	return e.auth.Caller(t, e.admin.AccessKeyID, "")
}
