package main

import (
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

// verifyResult is the authority's answer to VerifyDBAuthToken.
type verifyResult struct {
	Valid             bool   `xml:"VerifyDBAuthTokenResult>Valid"`
	Reason            string `xml:"VerifyDBAuthTokenResult>Reason"`
	PrincipalARN      string `xml:"VerifyDBAuthTokenResult>PrincipalArn"`
	Decision          string `xml:"VerifyDBAuthTokenResult>Decision"`
	DecidingPolicy    string `xml:"VerifyDBAuthTokenResult>DecidingPolicy"`
	DecidingStatement string `xml:"VerifyDBAuthTokenResult>DecidingStatement"`
}

type awsErrorResponse struct {
	Code    string `xml:"Error>Code"`
	Message string `xml:"Error>Message"`
}

// verifyRemote asks the authority at endpoint whether tok would let user in, signing the
// request with the caller's own AWS credentials (the SDK's standard chain).
func verifyRemote(ctx context.Context, endpoint, profile, region, tok, user, host string, port int, stdout, stderr io.Writer) error {
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{Profile: profile, Region: region})
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	r, err := askAuthority(ctx, creds, endpoint, tok, user, host, port)
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	fmt.Fprintf(stdout, "%s\n", r.verdict())
	if r.PrincipalARN != "" {
		fmt.Fprintf(stdout, "principal: %s\n", r.PrincipalARN)
	}
	if r.Decision != "" {
		fmt.Fprintf(stdout, "decision: %s", r.Decision)
		if r.DecidingPolicy != "" {
			fmt.Fprintf(stdout, " (policy %s, statement %s)", r.DecidingPolicy, r.DecidingStatement)
		}
		fmt.Fprintln(stdout)
	}
	if r.Valid && !r.allowed() && strings.ContainsRune(r.Reason, ' ') {
		fmt.Fprintf(stdout, "reason: %s\n", r.Reason)
	}
	if !r.allowed() {
		return exitCode(1)
	}
	return nil
}

// allowed reports whether the authority would let the login in.
func (r *verifyResult) allowed() bool { return r.Valid && r.Decision == "allowed" }

// verdict is "valid" or "refused: <reason>", the reason being the most precise word the
// authority gave: the token's (expired, …), the database's (iam-auth-disabled) or else
// the policy decision (implicitDeny, explicitDeny), whose explanation is a phrase printed
// on its own line.
func (r *verifyResult) verdict() string {
	switch {
	case r.allowed():
		return "valid"
	case !r.Valid || r.Reason != "" && !strings.ContainsRune(r.Reason, ' '):
		return "refused: " + r.Reason
	default:
		return "refused: " + r.Decision
	}
}

// askAuthority asks the authority at endpoint (VerifyDBAuthToken) whether tok would let
// user in, signing the request with creds.
func askAuthority(ctx context.Context, creds *client.AWSCredentials, endpoint, tok, user, host string, port int) (*verifyResult, error) {
	form := url.Values{"Action": {"VerifyDBAuthToken"}, "Version": {"2014-10-31"}, "Token": {tok}, "DBUser": {user}}
	if host != "" {
		form.Set("Hostname", host)
	}
	if port != 0 {
		form.Set("Port", strconv.Itoa(port))
	}
	var r verifyResult
	if err := callAuthority(ctx, creds, "rds", endpoint, form, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// askIdentity asks the authority at endpoint who creds belong to (STS
// GetCallerIdentity) and returns the caller's ARN.
func askIdentity(ctx context.Context, creds *client.AWSCredentials, endpoint string) (string, error) {
	var r struct {
		ARN string `xml:"GetCallerIdentityResult>Arn"`
	}
	form := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	if err := callAuthority(ctx, creds, "sts", endpoint, form, &r); err != nil {
		return "", err
	}
	return r.ARN, nil
}

// callAuthority posts form, an AWS query API request to service, to the authority at
// endpoint, signed with creds in their configuration's region (us-east-1 if none), and
// decodes the XML answer into out.
func callAuthority(ctx context.Context, creds *client.AWSCredentials, service, endpoint string, form url.Values, out any) error {
	region := creds.Region()
	if region == "" {
		region = "us-east-1"
	}
	c, err := creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	body := form.Encode()
	u := strings.TrimSuffix(endpoint, "/") + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	var signer sigv4.Signer
	if err := signer.SignHTTP(req, sigv4.Credentials{
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
	}, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e awsErrorResponse
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
