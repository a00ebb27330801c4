package doctor

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxTokenLen bounds a token doctor reads (the gateways' default limit, 16 KiB).
const maxTokenLen = 16 << 10

// tokenInfo is what an RDS auth token says of itself, read without verifying it: whom it
// was signed for, where, with which key, when and for how long.
type tokenInfo struct {
	Host        string // without brackets
	Port        int
	User        string
	AccessKeyID string
	Region      string
	Date        time.Time
	Expires     time.Duration
}

// errToken is parseToken's error: not an RDS auth token.
var errToken = errors.New("not an RDS auth token")

// parseToken reads tok ("host:port[/]?Action=connect&DBUser=…&X-Amz-…"). It checks only
// the shape: the signature is the authority's to judge.
func parseToken(tok string) (tokenInfo, error) {
	var ti tokenInfo
	if len(tok) > maxTokenLen {
		return ti, errors.New("longer than 16 KiB: " + errToken.Error())
	}
	hostport, query, found := strings.Cut(tok, "?")
	if !found {
		return ti, errors.New("no '?': " + errToken.Error())
	}
	hostport = strings.TrimSuffix(hostport, "/")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" {
		return ti, errors.New("no host:port before '?': " + errToken.Error())
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return ti, errors.New("a bad port: " + errToken.Error())
	}
	ti.Host, ti.Port = host, n
	q, err := url.ParseQuery(query)
	if err != nil {
		return ti, errors.New("a bad query: " + errToken.Error())
	}
	if q.Get("Action") != "connect" {
		return ti, errors.New("Action is not connect: " + errToken.Error())
	}
	if ti.User = q.Get("DBUser"); ti.User == "" {
		return ti, errors.New("no DBUser: " + errToken.Error())
	}
	// X-Amz-Credential: AKID/YYYYMMDD/region/rds-db/aws4_request
	cred := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(cred) != 5 || cred[0] == "" || cred[2] == "" {
		return ti, errors.New("a bad X-Amz-Credential: " + errToken.Error())
	}
	ti.AccessKeyID, ti.Region = cred[0], cred[2]
	if ti.Date, err = time.Parse("20060102T150405Z", q.Get("X-Amz-Date")); err != nil {
		return ti, errors.New("a bad X-Amz-Date: " + errToken.Error())
	}
	exp, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || exp < 0 || exp > 7*24*3600 {
		return ti, errors.New("a bad X-Amz-Expires: " + errToken.Error())
	}
	ti.Expires = time.Duration(exp) * time.Second
	return ti, nil
}
