package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/iamdb/iamdb/internal/server"
)

const serveUsage = `usage: iamdb serve [--config FILE] [--dir D] [--listen ADDR] [--store PATH | --store-url URL] [--log-level L]

Runs the authority: the AWS Query API for IAM, STS and RDS that the AWS CLI and SDKs use
through --endpoint-url. On an empty store it creates the bootstrap account and its admin
user, and writes the admin's access key once to bootstrap.admin_key_file (0600). It also
runs the configured gateways ([[postgres]], [[mysql]]) and workload credential endpoints
([[imds]], [[container_credentials]]; docs/workload-credentials.md).
Precedence: flags > IAMDB_* environment > config file > defaults (docs/configuration.md).
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks) error {
	fs := newFlagSet("iamdb serve", serveUsage, stderr)
	configPath := fs.String("config", "", "configuration file (TOML)")
	overrides := map[string]string{}
	for name, help := range map[string]string{
		"dir":       "state directory",
		"listen":    "address of the AWS Query API",
		"store":     "path of the embedded store",
		"store-url": "PostgreSQL URL of a store shared by replicas (instead of --store)",
		"log-level": "debug, info, warn or error",
	} {
		fs.Func(name, help, func(v string) error { overrides[name] = v; return nil })
	}
	if done, err := parseArgs(fs, args); done {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(*configPath, os.Getenv, overrides)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, server.Options{Logger: server.NewLogger(stderr, cfg.Log)})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready authority=%s\n", srv.URL())
	for _, g := range srv.Gateways() {
		fmt.Fprintf(stdout, "ready %s=%s database=%s\n", g.Kind, g.Addr, g.Database.Identifier)
	}
	for _, e := range srv.WorkloadEndpoints() {
		fmt.Fprintf(stdout, "ready %s=%s %s\n", e.Kind, e.URL, e.Bound)
	}
	return runServer(ctx, srv, h)
}

// runServer runs srv until ctx ends, reloading its certificates on SIGHUP, and calls
// h.ready once it serves.
func runServer(ctx context.Context, srv *server.Server, h hooks) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		ready := srv.Ready()
		for {
			select {
			case <-hup:
				srv.Reload()
			case <-ready:
				ready = nil
				if h.ready != nil {
					h.ready(srv.Addr())
				}
			case <-stop:
				return
			}
		}
	}()
	return srv.Run(ctx)
}
