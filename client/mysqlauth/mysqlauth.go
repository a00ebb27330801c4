package mysqlauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/go-sql-driver/mysql"

	"github.com/iamdb/iamdb/client"
)

// Options adjust BeforeConnect. Zero values take the connection's own settings.
type Options struct {
	// Host is the host the token is signed for: the database's endpoint name, when the
	// connection dials something else (a tunnel, a proxy, a custom DNS name, a Unix
	// socket). If empty, the host of the configuration's Addr.
	Host string
	// Port is the port the token is signed for. If zero, the port of Addr.
	Port int
	// Region is the database's region. If empty, the TokenSource's rules (its Config,
	// the RDS host name, the AWS configuration).
	Region string
	// RequireVerifiedTLS also refuses TLS that does not verify the server's certificate
	// (tls=skip-verify), which an active attacker could intercept to replay the token.
	// Recommended; off by default because skip-verify is common.
	RequireVerifiedTLS bool
}

// BeforeConnect returns a mysql.Option that makes every new connection log in with a token
// from src (see Hook).
func BeforeConnect(src *client.TokenSource, opts Options) mysql.Option {
	return mysql.BeforeConnect(Hook(src, opts))
}

// Hook returns the function BeforeConnect installs: it refuses a configuration that might
// send the token without TLS (client.ErrInsecureTransport), sets AllowCleartextPasswords
// and sets Passwd to a token from src for the configuration's user. Its errors are
// *client.Error values and never contain the token. It is safe for concurrent use and
// modifies only the Config it is given (the driver passes a copy).
func Hook(src *client.TokenSource, opts Options) func(context.Context, *mysql.Config) error {
	return func(ctx context.Context, cfg *mysql.Config) error {
		if err := CheckTLS(cfg); err != nil {
			return err
		}
		if opts.RequireVerifiedTLS && !verifies(cfg.TLS) {
			return &client.Error{Op: "mysqlauth", Kind: client.ErrInsecureTransport,
				Err:  errors.New("TLS does not verify the server's certificate (tls=skip-verify?)"),
				Hint: "use tls=true, or a registered TLS config with the database's CA"}
		}
		t := client.Target{Host: opts.Host, Port: opts.Port, User: cfg.User, Region: opts.Region}
		if t.Host == "" || t.Port == 0 {
			if cfg.Net != "tcp" && cfg.Net != "tcp4" && cfg.Net != "tcp6" {
				return &client.Error{Op: "mysqlauth", Kind: client.ErrInvalidTarget, Err: fmt.Errorf("network %q has no host and port to sign for", cfg.Net),
					Hint: "set Options.Host and Options.Port to the database's endpoint"}
			}
			host, port, err := net.SplitHostPort(cfg.Addr)
			if err != nil {
				return &client.Error{Op: "mysqlauth", Kind: client.ErrInvalidTarget, Err: err}
			}
			if t.Host == "" {
				t.Host = host
			}
			if t.Port == 0 {
				if t.Port, err = strconv.Atoi(port); err != nil {
					return &client.Error{Op: "mysqlauth", Kind: client.ErrInvalidTarget, Err: fmt.Errorf("port %q", port)}
				}
			}
		}
		tok, err := src.Token(ctx, t)
		if err != nil {
			return err
		}
		cfg.AllowCleartextPasswords = true
		cfg.Passwd = tok.Value()
		return nil
	}
}

// CheckTLS returns a *client.Error of kind client.ErrInsecureTransport if cfg could send a
// password without TLS: no TLS configuration (tls unset or "false") or a fallback to
// plaintext (tls=preferred). cfg must be normalized, as the driver's are (ParseDSN,
// NewConnector).
func CheckTLS(cfg *mysql.Config) error {
	if cfg.TLS == nil && (cfg.TLSConfig == "" || cfg.TLSConfig == "false") {
		return &client.Error{Op: "mysqlauth", Kind: client.ErrInsecureTransport, Err: errors.New("TLS is off"),
			Hint: "set tls=true, a registered TLS config with the database's CA, or Config.TLS"}
	}
	if cfg.AllowFallbackToPlaintext {
		return &client.Error{Op: "mysqlauth", Kind: client.ErrInsecureTransport, Err: errors.New("the connection may fall back to plaintext (tls=preferred?)"),
			Hint: "use tls=true or a registered TLS config instead of preferred"}
	}
	return nil
}

// verifies reports whether c checks the server's certificate, itself or by a callback.
func verifies(c *tls.Config) bool {
	return c != nil && (!c.InsecureSkipVerify || c.VerifyPeerCertificate != nil || c.VerifyConnection != nil)
}
