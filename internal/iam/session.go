package iam

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iamdb/iamdb/token"
)

// Session tokens are "IDB1" followed by unpadded base64url of nonce || AES-256-GCM(payload)
// under HMAC-SHA256(master key, "iamdb sts session v1"), with the prefix as additional data.
// Every character is unreserved in RFC 3986, so a token needs no escaping in a query.
const (
	sessionPrefix   = "IDB1"
	maxSessionToken = 8 << 10 // bytes; larger sessions are refused at issue
	sessionVersion  = 1
)

// sessionPayload is the sealed content of a session token. Field names are short to keep
// tokens small.
type sessionPayload struct {
	V  int               `json:"v"`
	K  string            `json:"k"`            // ASIA… access key ID
	S  string            `json:"s"`            // secret access key
	A  string            `json:"a"`            // account
	R  string            `json:"r,omitempty"`  // role ARN
	RI string            `json:"ri,omitempty"` // role ID
	U  string            `json:"u,omitempty"`  // user ARN (GetSessionToken)
	UI string            `json:"ui,omitempty"` // user ID (GetSessionToken)
	N  string            `json:"n,omitempty"`  // session name
	T  map[string]string `json:"t,omitempty"`  // session tags
	TT []string          `json:"tt,omitempty"` // transitive tag keys
	SI string            `json:"si,omitempty"` // source identity
	P  string            `json:"p,omitempty"`  // inline session policy, compacted
	PA []string          `json:"pa,omitempty"` // managed session policy ARNs
	I  int64             `json:"i"`            // issued at, Unix nanoseconds
	E  int64             `json:"e"`            // expiry, Unix seconds
	C  bool              `json:"c,omitempty"`  // chained
	M  int64             `json:"m,omitempty"`  // MFA authentication time, Unix nanoseconds; 0: no MFA
	CS bool              `json:"cs,omitempty"` // a console session (ConsoleSignIn)
	FP string            `json:"fp,omitempty"` // OIDC provider ARN (AssumeRoleWithWebIdentity)
}

func (p *sessionPayload) session() *Session {
	return &Session{
		AccessKeyID: p.K, RoleARN: p.R, RoleID: p.RI, UserARN: p.U, UserID: p.UI, Name: p.N,
		Tags: p.T, TransitiveTagKeys: p.TT, SourceIdentity: p.SI, Policy: p.P, PolicyARNs: p.PA,
		IssuedAt: time.Unix(0, p.I).UTC(), Expiration: time.Unix(p.E, 0).UTC(), Chained: p.C,
		MFAAuthenticated: p.M != 0, MFAAuthTime: mfaTime(p.M), Console: p.CS, FederatedProvider: p.FP,
	}
}

var errSessionTooLarge = errors.New("iam: session token too large")

// sealSession encrypts a session payload into a token.
func (s *Service) sealSession(p *sessionPayload) (string, error) {
	p.V = sessionVersion
	pt, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	box, err := seal(s.sessions, s.rand, pt, []byte(sessionPrefix))
	if err != nil {
		return "", err
	}
	n := len(sessionPrefix) + base64.RawURLEncoding.EncodedLen(len(box))
	if n > maxSessionToken {
		return "", errSessionTooLarge
	}
	out := make([]byte, len(sessionPrefix), n)
	copy(out, sessionPrefix)
	return string(base64.RawURLEncoding.AppendEncode(out, box)), nil
}

// unsealSession decrypts and checks a token. Every failure wraps
// token.ErrInvalidSessionToken and says nothing about the content.
func (s *Service) unsealSession(tok string) (*sessionPayload, error) {
	if len(tok) > maxSessionToken || !strings.HasPrefix(tok, sessionPrefix) {
		return nil, fmt.Errorf("%w: not an iamdb session token", token.ErrInvalidSessionToken)
	}
	box, err := base64.RawURLEncoding.DecodeString(tok[len(sessionPrefix):])
	if err != nil {
		return nil, fmt.Errorf("%w: not an iamdb session token", token.ErrInvalidSessionToken)
	}
	pt, err := open(s.sessions, box, []byte(sessionPrefix))
	for _, a := range s.previous {
		if err == nil {
			break
		}
		pt, err = open(a, box, []byte(sessionPrefix))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: does not authenticate", token.ErrInvalidSessionToken)
	}
	var p sessionPayload
	dec := json.NewDecoder(bytes.NewReader(pt))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || p.V != sessionVersion || p.K == "" || p.S == "" || p.A == "" {
		return nil, fmt.Errorf("%w: unsupported content", token.ErrInvalidSessionToken)
	}
	if (p.R == "") == (p.U == "") {
		return nil, fmt.Errorf("%w: unsupported content", token.ErrInvalidSessionToken)
	}
	return &p, nil
}

func mfaTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
