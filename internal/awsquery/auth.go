package awsquery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/sigv4"
	"github.com/iamdb/iamdb/token"
)

// The wire errors of authentication, worded as AWS words them.
var (
	errMissingAuth = &queryError{403, "MissingAuthenticationToken", "Request is missing Authentication Token"}
	errInvalidKey  = &queryError{403, "InvalidClientTokenId", "The security token included in the request is invalid."}
	errExpiredKey  = &queryError{400, "ExpiredToken", "The security token included in the request is expired"}
	errBadSig      = &queryError{403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	errPayloadHash = &queryError{403, "SignatureDoesNotMatch", "The provided 'x-amz-content-sha256' header does not match what was computed."}
)

// lookupFunc finds the key of an access key ID (and session token); it is iam.Service's
// LookupKey.
type lookupFunc func(ctx context.Context, accessKeyID, sessionToken string) (token.Key[*iam.Caller], error)

// authenticated is the outcome of a valid signature.
type authenticated struct {
	v   sigv4.Verified
	key token.Key[*iam.Caller]
}

// authenticate verifies the request's SigV4 signature: the Authorization header, or, without
// one, a presigned query (X-Amz-Signature in the URL, as aws-iam-authenticator and Vault
// presign sts:GetCallerIdentity). payloadHash is the hex SHA-256 of the body read. The key's
// state (inactive, session expired) is checked at lookup, before the signature, as AWS reports
// ExpiredToken for an expired session whatever the signature.
func authenticate(ctx context.Context, s *sigv4.Signer, r *http.Request, payloadHash string, lookup lookupFunc, now time.Time, skew time.Duration) (authenticated, error) {
	var a authenticated
	var lookupErr error
	secretFor := func(akid string) (string, error) {
		tok := r.Header.Get("X-Amz-Security-Token")
		if r.Header.Get("Authorization") == "" {
			tok = r.URL.Query().Get("X-Amz-Security-Token")
		}
		k, err := lookup(ctx, akid, tok)
		switch {
		case err != nil:
		case k.Inactive:
			err = token.ErrInactiveKey
		case !k.Expiration.IsZero() && !now.Before(k.Expiration):
			err = token.ErrSessionExpired
		}
		if err != nil {
			lookupErr = err
			return "", err
		}
		a.key = k
		return k.SecretAccessKey, nil
	}
	var err error
	if len(r.Header.Values("Authorization")) == 0 && strings.Contains(r.URL.RawQuery, "X-Amz-Signature=") {
		req := &sigv4.Request{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Header: r.Header, PayloadHash: payloadHash}
		a.v, err = s.VerifyPresigned(req, secretFor, now, skew)
	} else {
		a.v, err = s.VerifyHeader(r, payloadHash, secretFor, now, skew)
	}
	if err != nil {
		return a, authError(err, lookupErr, r, now, skew)
	}
	return a, nil
}

// authError translates a verification failure into AWS's wire error. Errors of the key
// lookup that are not one of token's refusals are returned as they are (a store failure: the
// caller answers 500 and logs it).
func authError(err, lookupErr error, r *http.Request, now time.Time, skew time.Duration) error {
	switch {
	case errors.Is(err, sigv4.ErrSecretLookup):
		switch {
		case errors.Is(lookupErr, token.ErrSessionExpired):
			return errExpiredKey
		case errors.Is(lookupErr, token.ErrUnknownKey), errors.Is(lookupErr, token.ErrInvalidSessionToken),
			errors.Is(lookupErr, token.ErrInactiveKey), errors.Is(lookupErr, token.ErrMissingSessionToken):
			return errInvalidKey
		}
		var qe *queryError
		if errors.As(lookupErr, &qe) {
			return qe
		}
		return fmt.Errorf("awsquery: key lookup: %w", lookupErr)
	case errors.Is(err, sigv4.ErrMissingAuth):
		return errMissingAuth
	case errors.Is(err, sigv4.ErrSignatureMismatch):
		return errBadSig
	case errors.Is(err, sigv4.ErrPayloadHash):
		return errPayloadHash
	case errors.Is(err, sigv4.ErrExpired), errors.Is(err, sigv4.ErrNotYetValid):
		return staleError(errors.Is(err, sigv4.ErrExpired), requestDate(r), now, skew)
	case errors.Is(err, sigv4.ErrCredentialScope):
		return &queryError{400, "IncompleteSignature", "Credential should be scoped to a valid region, service and day; the day must be the request's."}
	case errors.Is(err, sigv4.ErrAlgorithm):
		return &queryError{400, "IncompleteSignature", "Unsupported AWS 'algorithm': only AWS4-HMAC-SHA256 is accepted."}
	case errors.Is(err, sigv4.ErrHostNotSigned):
		return &queryError{400, "IncompleteSignature", "The host header must be signed."}
	case errors.Is(err, sigv4.ErrBadExpires):
		return &queryError{400, "IncompleteSignature", "X-Amz-Expires must be a number of seconds from 1 to 604800."}
	default: // ErrMalformedAuth, query bounds
		return &queryError{400, "IncompleteSignature", "The request signature is malformed: " + strings.TrimPrefix(err.Error(), "sigv4: ")}
	}
}

// staleError is AWS's message for a signature dated too far from now, e.g.
// "Signature expired: 20240101T000000Z is now earlier than 20240101T001000Z (20240101T001500Z - 5 min.)".
func staleError(expired bool, date string, now time.Time, skew time.Duration) error {
	n := now.UTC()
	mins := fmt.Sprintf("%g min.", skew.Minutes())
	if expired {
		return &queryError{403, "SignatureDoesNotMatch", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			date, n.Add(-skew).Format(sigv4.TimeFormat), n.Format(sigv4.TimeFormat), mins)}
	}
	return &queryError{403, "SignatureDoesNotMatch", fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
		date, n.Add(skew).Format(sigv4.TimeFormat), n.Format(sigv4.TimeFormat), mins)}
}

// requestDate returns the request's signing date as sent (X-Amz-Date, its query form, or Date
// reformatted); it has already parsed when this is called.
func requestDate(r *http.Request) string {
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		return clipDate(d)
	}
	if d := r.URL.Query().Get("X-Amz-Date"); d != "" {
		return clipDate(d)
	}
	if t, err := http.ParseTime(r.Header.Get("Date")); err == nil {
		return t.UTC().Format(sigv4.TimeFormat)
	}
	return "?"
}

func clipDate(d string) string {
	if len(d) > len(sigv4.TimeFormat) {
		return d[:len(sigv4.TimeFormat)]
	}
	return d
}

// presentedCredential returns what a request's signature gives as its credential,
// unverified: the rest of the Authorization header after "Credential=" (inHeader; "" if
// the header names none), else the X-Amz-Credential query parameter.
func presentedCredential(r *http.Request) (cred string, inHeader bool) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return r.URL.Query().Get("X-Amz-Credential"), false
	}
	if i := strings.Index(auth, "Credential="); i >= 0 {
		return auth[i+len("Credential="):], true
	}
	return "", true
}

// scopeService returns the service of the request's credential scope without verifying
// anything ("" if there is none): it chooses the API when the form names no Version.
func scopeService(r *http.Request) string {
	cred, inHeader := presentedCredential(r)
	if j := strings.IndexAny(cred, ", "); inHeader && j >= 0 {
		cred = cred[:j]
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// validRegion reports whether a credential scope's region looks like a region name:
// lower-case letters, digits and '-', at most 32 bytes ("us-east-1", "local").
func validRegion(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
