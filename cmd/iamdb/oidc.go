package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/oidc"
)

const oidcUsage = `usage: iamdb oidc serve --dir D [--listen ADDR] [--issuer URL] [--tls-cert F --tls-key F]
       iamdb oidc token --dir D --sub SUBJECT [--aud A]... [--ttl 1h] [--tag K=V]...
                        [--transitive-tag K]... [--issuer URL] [--out FILE]

A small OpenID Connect issuer, for tests and for clusters without one, so that workloads
use AssumeRoleWithWebIdentity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, as EKS IRSA
does). The signing key (ES256) is created in D once and kept there.

serve   publishes /.well-known/openid-configuration and /keys (JWKS) under the issuer URL's
        path, prints "ready issuer=URL" and runs until interrupted. The issuer URL
        defaults to http(s)://ADDR of the listener and is saved in D for "token". The
        authority fetches only https:// issuers, except loopback http:// ones when it is
        configured to allow them (tests).
token   prints a signed token shaped like a Kubernetes projected service-account token
        (iss, sub, aud, iat, nbf, exp, kubernetes.io), with session tags in the
        https://aws.amazon.com/tags claim; --out writes it to FILE (mode 0600) instead.

Register the issuer in IAM with its URL as https://HOST[/PATH] and the audience as a
client ID, e.g. aws iam create-open-id-connect-provider --url https://HOST --client-id-list
sts.amazonaws.com; see docs/web-identity.md.
`

func runOIDC(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks) error {
	return dispatch(args, oidcUsage, "oidc: ", stdout, stderr, map[string]subcommand{
		"serve": func(args []string) error { return runOIDCServe(ctx, args, stdout, stderr, h) },
		"token": func(args []string) error { return runOIDCToken(args, stdout, stderr) },
	})
}

func runOIDCServe(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks) error {
	fs := flag.NewFlagSet("iamdb oidc serve", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory of the signing key (created if needed)")
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	issuer := fs.String("issuer", "", "issuer URL (default: http(s)://the listener's address)")
	certFile := fs.String("tls-cert", "", "serve https with this certificate (PEM)")
	keyFile := fs.String("tls-key", "", "the certificate's private key (PEM)")
	if help, err := parseFlags(fs, oidcUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, oidcUsage)
		return usagef("oidc serve: --dir is required and takes no arguments")
	}
	if (*certFile == "") != (*keyFile == "") {
		return usagef("oidc serve: --tls-cert and --tls-key go together")
	}
	var tlsConf *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("oidc serve: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("oidc serve: %w", err)
	}
	defer ln.Close()
	u := *issuer
	if u == "" {
		scheme := "http://"
		if tlsConf != nil {
			scheme = "https://"
		}
		u = scheme + ln.Addr().String()
	}
	is, err := oidc.OpenIssuer(*dir, u)
	if err != nil {
		return err
	}
	if err := is.SaveURL(*dir); err != nil {
		return err
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	srv := &http.Server{Handler: is.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "ready issuer=%s\n", is.URL())
	if h.ready != nil {
		h.ready(is.URL())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("oidc serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("oidc serve: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("oidc serve: %w", err)
	}
	return nil
}

func runOIDCToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("iamdb oidc token", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory of the signing key")
	sub := fs.String("sub", "", "subject, e.g. system:serviceaccount:NAMESPACE:NAME")
	var auds, tags, transitive repeated
	fs.Var(&auds, "aud", "audience (repeatable; default sts.amazonaws.com)")
	ttl := fs.Duration("ttl", time.Hour, "lifetime, up to 24h")
	fs.Var(&tags, "tag", "session tag K=V (repeatable)")
	fs.Var(&transitive, "transitive-tag", "a tag key that passes to chained sessions (repeatable)")
	issuer := fs.String("issuer", "", "issuer URL (default: the one iamdb oidc serve saved in --dir)")
	out := fs.String("out", "", "write the token to this file (mode 0600) instead of stdout")
	if help, err := parseFlags(fs, oidcUsage, args, stdout, stderr); help || err != nil {
		return err
	}
	if *dir == "" || *sub == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, oidcUsage)
		return usagef("oidc token: --dir and --sub are required and it takes no arguments")
	}
	spec := oidc.TokenSpec{Subject: *sub, Audience: auds, TTL: *ttl, TransitiveTagKeys: transitive}
	for _, kv := range tags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("oidc token: --tag %q: want KEY=VALUE", kv)
		}
		if spec.Tags == nil {
			spec.Tags = map[string]string{}
		}
		if _, dup := spec.Tags[k]; dup {
			return usagef("oidc token: --tag %s given twice", k)
		}
		spec.Tags[k] = v
	}
	is, err := oidc.LoadIssuer(*dir, *issuer)
	if err != nil {
		return err
	}
	tok, err := is.Token(spec)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err := fmt.Fprintln(stdout, tok)
		return err
	}
	// Replace the file atomically: SDKs reread it whenever they refresh.
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok), 0o600); err != nil {
		return fmt.Errorf("oidc token: %w", err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("oidc token: %w", err)
	}
	return nil
}
