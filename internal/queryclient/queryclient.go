package queryclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/client"
	"github.com/iamdb/iamdb/sigv4"
)

// maxAnswer bounds the authority's answer.
const maxAnswer = 1 << 20

// Verdict is the authority's answer to VerifyDBAuthToken.
type Verdict struct {
	Valid             bool   `xml:"VerifyDBAuthTokenResult>Valid"`
	Reason            string `xml:"VerifyDBAuthTokenResult>Reason"`
	PrincipalARN      string `xml:"VerifyDBAuthTokenResult>PrincipalArn"`
	Decision          string `xml:"VerifyDBAuthTokenResult>Decision"`
	DecidingPolicy    string `xml:"VerifyDBAuthTokenResult>DecidingPolicy"`
	DecidingStatement string `xml:"VerifyDBAuthTokenResult>DecidingStatement"`
}

// Allowed reports whether the authority would let the login in.
func (r *Verdict) Allowed() bool { return r.Valid && r.Decision == "allowed" }

// String is "valid" or "refused: <reason>", the reason being the most precise word the
// authority gave: the token's (expired, …), the database's (iam-auth-disabled) or else
// the policy decision (implicitDeny, explicitDeny), whose explanation is a phrase the
// caller prints on its own.
func (r *Verdict) String() string {
	switch {
	case r.Allowed():
		return "valid"
	case !r.Valid || r.Reason != "" && !strings.ContainsRune(r.Reason, ' '):
		return "refused: " + r.Reason
	default:
		return "refused: " + r.Decision
	}
}

// VerifyDBAuthToken asks the authority at endpoint whether tok would let user in at
// host:port (either may be empty or zero), signing the request with creds.
func VerifyDBAuthToken(ctx context.Context, creds *client.AWSCredentials, endpoint, tok, user, host string, port int) (*Verdict, error) {
	form := url.Values{"Action": {"VerifyDBAuthToken"}, "Version": {"2014-10-31"}, "Token": {tok}, "DBUser": {user}}
	if host != "" {
		form.Set("Hostname", host)
	}
	if port != 0 {
		form.Set("Port", strconv.Itoa(port))
	}
	var r Verdict
	if err := Call(ctx, creds, "rds", endpoint, form, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetCallerIdentity asks the authority at endpoint who creds belong to and returns the
// caller's ARN.
func GetCallerIdentity(ctx context.Context, creds *client.AWSCredentials, endpoint string) (string, error) {
	var r struct {
		ARN string `xml:"GetCallerIdentityResult>Arn"`
	}
	form := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	if err := Call(ctx, creds, "sts", endpoint, form, &r); err != nil {
		return "", err
	}
	return r.ARN, nil
}

type errorResponse struct {
	Code    string `xml:"Error>Code"`
	Message string `xml:"Error>Message"`
}

// Call posts form, an AWS query API request to service, to the authority at endpoint,
// signed with creds in their configuration's region (us-east-1 if none), and decodes the
// XML answer into out.
func Call(ctx context.Context, creds *client.AWSCredentials, service, endpoint string, form url.Values, out any) error {
	region := creds.Region()
	if region == "" {
		region = "us-east-1"
	}
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, data, err := Send(hc, req, body, creds, service, region, time.Now(), maxAnswer)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e errorResponse
		if xml.Unmarshal(data, &e) == nil && e.Code != "" {
			return fmt.Errorf("%s: %s", e.Code, e.Message)
		}
		return fmt.Errorf("the authority answered %s", resp.Status)
	}
	if err := xml.Unmarshal(data, out); err != nil {
		return fmt.Errorf("unreadable answer: %w", err)
	}
	return nil
}

// Send signs req, whose body is body, with the credentials of p for service in region
// at now (SigV4), sends it with hc and returns the response with its body read, at most
// limit bytes, and closed. The AWS JSON protocol's clients (audit tail's LookupEvents)
// use it too.
func Send(hc *http.Client, req *http.Request, body []byte, p client.CredentialsProvider, service, region string, now time.Time, limit int64) (*http.Response, []byte, error) {
	c, err := p.Retrieve(req.Context())
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(body)
	var signer sigv4.Signer
	if err := signer.SignHTTP(req, sigv4.Credentials{
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
	}, hex.EncodeToString(sum[:]), service, region, now); err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return resp, data, nil
}
