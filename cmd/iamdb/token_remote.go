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

	"github.com/aws/aws-sdk-go-v2/aws"

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
	cfg, err := loadAWSConfig(ctx, profile, region)
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	r, err := askAuthority(ctx, cfg, endpoint, tok, user, host, port)
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
// user in, signing the request with cfg's credentials.
func askAuthority(ctx context.Context, cfg aws.Config, endpoint, tok, user, host string, port int) (*verifyResult, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieving credentials: %w", err)
	}
	form := url.Values{"Action": {"VerifyDBAuthToken"}, "Version": {"2014-10-31"}, "Token": {tok}, "DBUser": {user}}
	if host != "" {
		form.Set("Hostname", host)
	}
	if port != 0 {
		form.Set("Port", strconv.Itoa(port))
	}
	body := form.Encode()
	u := strings.TrimSuffix(endpoint, "/") + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	var signer sigv4.Signer
	if err := signer.SignHTTP(req, sigv4.Credentials{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
	}, hex.EncodeToString(sum[:]), "rds", cfg.Region, time.Now()); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e awsErrorResponse
		if xml.Unmarshal(data, &e) == nil && e.Code != "" {
			return nil, fmt.Errorf("%s: %s", e.Code, e.Message)
		}
		return nil, fmt.Errorf("the authority answered %s", resp.Status)
	}
	var r verifyResult
	if err := xml.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("unreadable answer: %w", err)
	}
	return &r, nil
}
