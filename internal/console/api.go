package console

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"
)

// apiBase is the URL the SDK clients are given; requests never leave the process.
const apiBase = "http://authority.console.internal"

// maxAPIResponse bounds what one in-process API answer may hold.
const maxAPIResponse = 16 << 20

// browserKey carries the browser's request into the SDK's requests' context.
type browserKey struct{}

// inProcess is an http.RoundTripper that serves the SDK's requests with the API handler,
// as if they had come from the browser's address over the browser's connection:
// aws:SourceIp and aws:SecureTransport are the person's, as they are for AWS's console.
type inProcess struct{ api http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context()) // a RoundTripper does not change its request
	if b, ok := req.Context().Value(browserKey{}).(*http.Request); ok {
		req.RemoteAddr = b.RemoteAddr
		if b.TLS != nil {
			req.TLS = &tls.ConnectionState{Version: b.TLS.Version, CipherSuite: b.TLS.CipherSuite, HandshakeComplete: true}
		}
	}
	req.RequestURI = req.URL.RequestURI()
	if req.Host == "" {
		req.Host = req.URL.Host
	}
	// What net/http's client would write, and a server would find in the header.
	if req.ContentLength > 0 {
		req.Header.Set("Content-Length", strconv.FormatInt(req.ContentLength, 10))
	}
	req.Header.Set("User-Agent", "iamdb-console")
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	t.api.ServeHTTP(rec, req)
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{
		Status: strconv.Itoa(rec.status) + " " + http.StatusText(rec.status), StatusCode: rec.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: rec.header,
		Body: io.NopCloser(&rec.body), ContentLength: int64(rec.body.Len()), Request: req,
	}, nil
}

// recorder is the http.ResponseWriter of an in-process API call.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	if r.body.Len()+len(b) > maxAPIResponse {
		return 0, errors.New("console: API answer too large")
	}
	return r.body.Write(b)
}

// clients are one session's SDK clients.
type clients struct {
	iam *awsiam.Client
	rds *awsrds.Client
}

func (c *Console) newClients(creds aws.Credentials) *clients {
	cfg := aws.Config{
		Region:           c.cfg.Region,
		Credentials:      aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		HTTPClient:       &http.Client{Transport: inProcess{api: c.cfg.API}},
		BaseEndpoint:     aws.String(apiBase),
		RetryMaxAttempts: 1,
	}
	return &clients{iam: awsiam.NewFromConfig(cfg), rds: awsrds.NewFromConfig(cfg)}
}

// apiCtx is the context of an API call made for the browser's request r.
func apiCtx(r *http.Request) context.Context {
	return context.WithValue(r.Context(), browserKey{}, r)
}

// APIError is an API call's error as a page shows it.
type APIError struct {
	Code, Message string
	Status        int
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// asAPIError returns err as an *APIError: AWS's code and message for an API error, an
// internal error otherwise.
func asAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var se smithy.APIError
	if errors.As(err, &se) {
		status := http.StatusBadRequest
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
			status = re.HTTPStatusCode()
		}
		return &APIError{Code: se.ErrorCode(), Message: se.ErrorMessage(), Status: status}
	}
	return &APIError{Code: "InternalFailure", Message: "The request could not be completed.", Status: http.StatusInternalServerError}
}
