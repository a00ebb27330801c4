package pgxauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/client"
)

// Options adjust BeforeConnect. Zero values take the connection's own settings.
type Options struct {
	// Host is the host the token is signed for: the database's endpoint name, when the
	// connection dials something else (a tunnel, a proxy, a custom DNS name). If empty,
	// the ConnConfig's Host.
	Host string
	// Port is the port the token is signed for. If zero, the ConnConfig's Port.
	Port int
	// Region is the database's region. If empty, the TokenSource's rules (its Config,
	// the RDS host name, the AWS configuration).
	Region string
	// RequireVerifiedTLS also refuses TLS that does not verify the server's certificate
	// (sslmode=require without sslrootcert), which an active attacker could intercept to
	// replay the token. Recommended; off by default because sslmode=require is common.
	RequireVerifiedTLS bool
}

// BeforeConnect returns a hook that sets the password of each new connection to a token
// from src for the connection's user, and refuses configurations that might send it
// without TLS (client.ErrInsecureTransport). Its errors are *client.Error values and never
// contain the token. The hook is safe for concurrent use; it modifies only the ConnConfig
// it is given (pgxpool and stdlib pass a copy).
func BeforeConnect(src *client.TokenSource, opts Options) func(context.Context, *pgx.ConnConfig) error {
	return func(ctx context.Context, cc *pgx.ConnConfig) error {
		if err := CheckTLS(cc); err != nil {
			return err
		}
		if opts.RequireVerifiedTLS {
			if err := checkVerified(cc); err != nil {
				return err
			}
		}
		if opts.Host == "" {
			if err := checkOneEndpoint(cc); err != nil {
				return err
			}
		}
		t := client.Target{Host: opts.Host, Port: opts.Port, User: cc.User, Region: opts.Region}
		if t.Host == "" {
			t.Host = cc.Host
		}
		if t.Port == 0 {
			t.Port = int(cc.Port)
		}
		tok, err := src.Token(ctx, t)
		if err != nil {
			return err
		}
		cc.Password = tok.Value()
		return nil
	}
}

// CheckTLS returns a *client.Error of kind client.ErrInsecureTransport if cc could send a
// password without TLS: no TLSConfig, or a fallback without one (sslmode=allow, prefer).
func CheckTLS(cc *pgx.ConnConfig) error {
	if cc.TLSConfig == nil {
		what := fmt.Sprintf("no TLS to %s", cc.Host)
		if strings.HasPrefix(cc.Host, "/") {
			what = fmt.Sprintf("unix socket %s has no TLS", cc.Host)
		}
		return &client.Error{Op: "pgxauth", Kind: client.ErrInsecureTransport, Err: fmt.Errorf("%s (sslmode=disable or allow?)", what),
			Hint: "connect over TCP with sslmode=verify-full and sslrootcert set to the database's CA"}
	}
	for _, fb := range cc.Fallbacks {
		if fb.TLSConfig == nil {
			return &client.Error{Op: "pgxauth", Kind: client.ErrInsecureTransport,
				Err:  fmt.Errorf("the connection may fall back to plaintext to %s (sslmode=prefer, pgx's default?)", fb.Host),
				Hint: "use sslmode=verify-full, or at least require"}
		}
	}
	return nil
}

// checkOneEndpoint refuses a configuration that may dial more than one endpoint (several
// hosts in the connection string: pgx's fallbacks): pgx sends every host the same
// password, so a token signed for the first would reach the others, any of which could
// replay it at the first for 15 minutes — and would refuse it anyway.
func checkOneEndpoint(cc *pgx.ConnConfig) error {
	for _, fb := range cc.Fallbacks {
		if fb.Host != cc.Host || fb.Port != cc.Port {
			return &client.Error{Op: "pgxauth", Kind: client.ErrInvalidTarget,
				Err: fmt.Errorf("the connection may go on to %s, and pgx would send it the token signed for %s (several hosts in the connection string?)",
					net.JoinHostPort(fb.Host, strconv.Itoa(int(fb.Port))), net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))),
				Hint: "use one pool per database endpoint; set Options.Host and Port only if every host is that endpoint under another name"}
		}
	}
	return nil
}

// checkVerified refuses TLS configurations of cc that skip verifying the server.
func checkVerified(cc *pgx.ConnConfig) error {
	ok := verifies(cc.TLSConfig)
	for _, fb := range cc.Fallbacks {
		ok = ok && verifies(fb.TLSConfig)
	}
	if !ok {
		return &client.Error{Op: "pgxauth", Kind: client.ErrInsecureTransport,
			Err:  errors.New("TLS does not verify the server's certificate (sslmode=require without sslrootcert?)"),
			Hint: "use sslmode=verify-full with sslrootcert set to the database's CA"}
	}
	return nil
}

// verifies reports whether c checks the server's certificate, itself or by a callback (as
// pgx's sslmode=verify-ca does).
func verifies(c *tls.Config) bool {
	return c != nil && (!c.InsecureSkipVerify || c.VerifyPeerCertificate != nil || c.VerifyConnection != nil)
}
