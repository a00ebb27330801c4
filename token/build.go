package token

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/sigv4"
)

// Service is the SigV4 service name of database authentication tokens.
const Service = "rds-db"

// MaxExpires is the longest validity RDS accepts, and the one every SDK signs.
const MaxExpires = 15 * time.Minute

// Credentials are the AWS credentials a token is signed with. SessionToken is set for
// temporary (ASIA…) credentials. String and GoString never reveal the secret or the session
// token.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// String returns the access key ID and nothing secret.
func (c Credentials) String() string {
	return fmt.Sprintf("{AccessKeyID:%s SecretAccessKey:<redacted> SessionToken:<%d bytes>}", c.AccessKeyID, len(c.SessionToken))
}

// GoString is String, so that %#v does not print the secret either.
func (c Credentials) GoString() string { return c.String() }

// Format prints String for every verb (%v, %+v, %d, %x, …): no verb reveals the secret.
func (c Credentials) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue logs the access key ID only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", c.AccessKeyID), slog.String("secret_access_key", "<redacted>"),
		slog.Int("session_token_bytes", len(c.SessionToken)))
}

// Build returns an auth token for user at endpoint ("host:port", the database's address as
// clients dial it) in region, signed with creds at time now and valid for 15 minutes.
//
// The output is what aws-sdk-go-v2's auth.BuildAuthToken returns for the same inputs and
// clock — parameters sorted, values escaped as url.QueryEscape does, the host signed as
// typed and without ":443" — with the "/" before "?" that the AWS CLI, boto3 and the Java
// SDK write and aws-sdk-go-v2's releases before the fix of its issue #3365 leave out
// (some RDS configurations refuse a token without it). The signature is the same either
// way: the canonical URI is "/".
func Build(endpoint, region, user string, creds Credentials, now time.Time) (string, error) {
	host, port, ok := splitEndpoint(endpoint)
	if !ok {
		return "", errors.New("token: endpoint must be host:port")
	}
	if region == "" {
		return "", errors.New("token: region is required")
	}
	if user == "" {
		return "", errors.New("token: user is required")
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return "", errors.New("token: credentials are required")
	}
	now = now.UTC()
	var db [16]byte
	date := now.AppendFormat(db[:0], sigv4.TimeFormat)
	day := date[:8]

	b := make([]byte, 0, 512+len(endpoint)+len(user)+len(creds.SessionToken)*3/2)
	b = append(b, endpoint...)
	b = append(b, "/?Action=connect&DBUser="...)
	b = appendQueryEscape(b, user)
	b = append(b, "&X-Amz-Algorithm="+sigv4.Algorithm+"&X-Amz-Credential="...)
	b = appendQueryEscape(b, creds.AccessKeyID)
	b = append(b, "%2F"...)
	b = append(b, day...)
	b = append(b, "%2F"...)
	b = appendQueryEscape(b, region)
	b = append(b, "%2F"+Service+"%2Faws4_request&X-Amz-Date="...)
	b = append(b, date...)
	b = append(b, "&X-Amz-Expires=900"...)
	if creds.SessionToken != "" {
		b = append(b, "&X-Amz-Security-Token="...)
		b = appendQueryEscape(b, creds.SessionToken)
	}
	b = append(b, "&X-Amz-SignedHeaders=host"...)

	// The query so far is sorted and every value is escaped; its canonical form differs only
	// in spaces ('+' here, "%20" there).
	query := b[len(endpoint)+len("/?"):]
	signedHost := endpoint
	if port == "443" {
		signedHost = host
	}
	cr := make([]byte, 0, len(query)+len(signedHost)+128)
	cr = append(cr, "GET\n/\n"...)
	for _, c := range query {
		if c == '+' {
			cr = append(cr, "%20"...)
		} else {
			cr = append(cr, c)
		}
	}
	cr = append(cr, "\nhost:"...)
	cr = append(cr, signedHost...)
	cr = append(cr, "\n\nhost\n"+sigv4.EmptyPayloadHash...)
	key := sigv4.DeriveKey(creds.SecretAccessKey, string(day), region, Service)
	sig := signCanonical(&key, cr, date, day, region)

	b = append(b, "&X-Amz-Signature="...)
	b = hex.AppendEncode(b, sig[:])
	return string(b), nil
}

// signCanonical returns the signature of a canonical request under key.
func signCanonical(key *sigv4.Key, canonical, date, day []byte, region string) [32]byte {
	h := sha256Sum(canonical)
	var sb [256]byte
	s := append(sb[:0], sigv4.Algorithm+"\n"...)
	s = append(s, date...)
	s = append(s, '\n')
	s = append(s, day...)
	s = append(s, '/')
	s = append(s, region...)
	s = append(s, "/"+Service+"/aws4_request\n"...)
	s = hex.AppendEncode(s, h[:])
	return key.Sign(s)
}

// splitEndpoint splits "host:port" or "[v6]:port". The host keeps its brackets.
func splitEndpoint(ep string) (host, port string, ok bool) {
	i := strings.LastIndexByte(ep, ':')
	if i <= 0 {
		return "", "", false
	}
	host, port = ep[:i], ep[i+1:]
	if strings.HasPrefix(host, "[") != strings.HasSuffix(host, "]") {
		return "", "", false
	}
	if !strings.HasPrefix(host, "[") && strings.IndexByte(host, ':') >= 0 {
		return "", "", false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
		return "", "", false
	}
	return host, port, true
}

// appendQueryEscape escapes like url.QueryEscape: unreserved bytes kept, space as '+',
// everything else %XX.
func appendQueryEscape(dst []byte, s string) []byte {
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexd[c>>4], hexd[c&15])
		}
	}
	return dst
}
