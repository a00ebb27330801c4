package devenv

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/server"
)

// serverConfig is the configuration of dev: the throwaway databases registered at the
// ports of their gateways' listeners, which it binds (lns, by address), and the accounts.
func serverConfig(d string, c Config, dbs *databases) (cfg server.Config, lns map[string]net.Listener, err error) {
	cfg = server.DefaultConfig()
	cfg.Dir = d
	cfg.Authority.Listen = c.AuthorityAddr
	cfg.Authority.Region = c.Region
	// Local OIDC issuers ("iamdb oidc serve" on 127.0.0.1, plain http) are trusted in dev.
	cfg.Authority.WebIdentityAllowInsecureLoopback = true
	cfg.Log.Level = c.LogLevel
	cfg.Audit.Enabled = c.Audit
	cfg.Ops.Listen = c.OpsAddr
	cfg.Ops.DrainTimeout.Duration = 10 * time.Second
	cfg.Ops.Pprof = c.Pprof
	lns = map[string]net.Listener{}
	// gateway binds addr and configures a gateway there for the database id of engine in
	// front of backend.
	gateway := func(addr, id, engine, backend, host, adminUser, adminPassword string) (server.GatewayConfig, int, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return server.GatewayConfig{}, 0, fmt.Errorf("dev: %w", err)
		}
		lns[ln.Addr().String()] = ln
		port := ln.Addr().(*net.TCPAddr).Port
		cfg.Databases = append(cfg.Databases, server.DatabaseConfig{
			Identifier: id, Kind: iam.KindInstance, Engine: engine,
			Endpoints: []string{"localhost", "127.0.0.1"}, Port: port, Region: c.Region, IAMAuth: true,
		})
		return server.GatewayConfig{
			Database: id, Listen: ln.Addr().String(), TLSCertFile: "server.pem", TLSKeyFile: "server-key.pem",
			Backend: backend, BackendCAFile: "ca.pem", BackendServerName: host,
			BackendAdminUser: adminUser, BackendAdminPassword: server.Secret(adminPassword), CACertFile: "ca.pem", CAKeyFile: "ca-key.pem",
		}, port, nil
	}
	pg, maria, native := dbs.pg, dbs.maria, dbs.native
	pgGateway, port, err := gateway(c.PostgresAddr, ClusterID, "aurora-postgresql", pg.Addr(), pg.Host(), pg.AdminUser, pg.AdminPassword)
	if err != nil {
		return cfg, lns, err
	}
	if native.on() {
		pgGateway.BackendSourceAddress = gatewaySource
		cfg.Native = append(cfg.Native, server.NativeConfig{Database: ClusterID, Socket: native.pgSocket, Port: pg.Port()})
	}
	cfg.Databases[0].Kind = iam.KindCluster
	cfg.Postgres, dbs.pgPort = []server.GatewayConfig{pgGateway}, port
	if maria != nil {
		myGateway, port, err := gateway(c.MySQLAddr, MySQLInstanceID, "mariadb", maria.Addr(), maria.Host(), maria.AdminUser, maria.AdminPassword)
		if err != nil {
			return cfg, lns, err
		}
		cfg.MySQL, dbs.myPort = []server.MySQLGatewayConfig{{GatewayConfig: myGateway}}, port
		if native.on() {
			cfg.Native = append(cfg.Native, server.NativeConfig{Database: MySQLInstanceID, Socket: native.mySocket, Port: maria.Port()})
		}
	}
	return cfg, lns, addAccounts(&cfg, c.Accounts)
}

// addAccounts adds the extra accounts of "iamdb dev --account" to cfg.
func addAccounts(cfg *server.Config, ids []string) error {
	for _, id := range ids {
		switch {
		case !arn.IsAccountID(id):
			return usagef("dev: --account %q: an account id is 12 digits", id)
		case id == cfg.Bootstrap.AccountID:
			return usagef("dev: --account %s is the dev account itself", id)
		case slices.ContainsFunc(cfg.Accounts, func(a server.AccountConfig) bool { return a.ID == id }):
			return usagef("dev: --account %s given twice", id)
		}
		cfg.Accounts = append(cfg.Accounts, server.AccountConfig{ID: id, AdminKeyFile: "admin-credentials-" + id})
	}
	return nil
}

// addIMDS adds an IMDS endpoint to cfg for each "--imds-profile", listening on the
// "--imds" in the same position (or a free port), and returns the name of each one's
// D/env variable: IAMDB_IMDS_ENDPOINT_ and the profile's name in upper case.
func addIMDS(cfg *server.Config, profiles, addrs []string) (vars []string, err error) {
	seen := map[string]string{}
	for i, p := range profiles {
		profileARN, err := cfg.EntityARN(p, "instance-profile", "")
		if err != nil {
			return nil, usagef("dev: --imds-profile: %v", err)
		}
		a, _ := arn.Parse(profileARN)
		if a.AccountID != cfg.Bootstrap.AccountID && !slices.ContainsFunc(cfg.Accounts, func(acc server.AccountConfig) bool { return acc.ID == a.AccountID }) {
			return nil, usagef("dev: --imds-profile %s: account %s is neither the dev account nor an --account", p, a.AccountID)
		}
		name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
		v := "IAMDB_IMDS_ENDPOINT_" + envName(name)
		if other, ok := seen[v]; ok {
			return nil, usagef("dev: --imds-profile %s and %s would both be $%s", other, p, v)
		}
		seen[v] = p
		listen := "127.0.0.1:0"
		if i < len(addrs) {
			listen = addrs[i]
		}
		cfg.IMDS = append(cfg.IMDS, server.IMDSEndpointConfig{Listen: listen, InstanceProfile: profileARN})
		vars = append(vars, v)
	}
	return vars, nil
}

// envName turns an IAM name into the tail of an environment variable's name: upper case,
// and _ for every character that is not a letter or a digit.
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, s)
}
