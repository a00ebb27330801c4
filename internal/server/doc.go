// Package server is the iamdb daemon: what "iamdb serve" and "iamdb dev" run. It owns the
// configuration schema (Config, with each field's TOML key, environment variable and
// default) and its validation, and assembles from it the authority — the store (embedded
// SQLite or a shared PostgreSQL), the master key, the IAM/STS/RDS domain and the AWS Query
// API — the PostgreSQL and MySQL gateways, the workload credential endpoints (IMDS,
// container credentials) and the ops server (/metrics, /healthz, /readyz).
//
// It is not the command line: reading the TOML file, the IAMDB_* environment and the flags
// in their order of precedence, and printing stay in cmd/iamdb; the throwaway databases of
// "iamdb dev" and the configuration it builds for them are internal/devenv's.
//
// # Using it
//
//	srv, err := server.New(ctx, cfg, server.Options{Logger: log}) // binds every socket
//	fmt.Println(srv.URL(), srv.Gateways(), srv.WorkloadEndpoints())
//	go func() { for range sighup { srv.Reload() } }()             // gateway certificates
//	err = srv.Run(ctx)                                            // until ctx ends; then drains
//
// # Lifecycle
//
// New validates the Config, opens the store, loads (or, on an empty embedded store,
// creates) the master key, bootstraps the accounts and their admins, registers the
// databases and binds the authority, the gateways, the endpoints and the ops server, in
// that order; an error undoes what was done. Run serves and closes Ready; when its context
// ends, Shutdown is called or a gateway fails, /readyz turns 503, the gateways stop
// accepting and their sessions get ops.drain_timeout to finish, then the authority, the
// endpoints and the ops server stop and the store is closed. A Server runs once.
//
// # Listener limits
//
// No listener may take the file descriptors of the others: the gateways bound their
// client connections themselves (max_client_conns, answering in their protocol); the
// authority (authority.max_conns, by default a gateway's budget), each workload endpoint
// and the ops server are bounded by a limitListener, which closes a connection beyond
// its limit as soon as it is accepted (docs/configuration.md#listener-limits).
//
// Errors keep the wording "iamdb serve" has always printed: "config: …" for the
// configuration, "serve: …" for everything else.
package server
