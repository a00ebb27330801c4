package devenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/iamdb/iamdb/internal/localdb"
	"github.com/iamdb/iamdb/internal/pki"
)

// databases are dev's throwaway servers, the ports of their gateways and native mode.
type databases struct {
	native         *nativeMode
	pg             *localdb.Postgres
	maria          *localdb.MariaDB // nil when MariaDB is not installed
	pgPort, myPort int              // myPort is 0 without MariaDB
}

// startDatabases starts the throwaway PostgreSQL and, if it is installed, MariaDB. stop
// stops them; it is never nil.
func startDatabases(ctx context.Context, ca *pki.CA, native *nativeMode, log *slog.Logger, opts Options) (dbs *databases, stop func(), err error) {
	dbs = &databases{native: native}
	// The PAM service files go last, once the servers that read them have stopped.
	stops := []func(){func() { native.remove(log) }}
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	stopper := func(what string, s interface{ Stop(context.Context) error }) func() {
		return func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Stop(ctx); err != nil {
				log.Warn("stopping "+what, "err", err)
			}
		}
	}
	// A run killed with SIGKILL left its throwaway servers' directories, with their keys,
	// in the temp dir: remove those whose owner has died (never a live run's).
	removed, err := localdb.RemoveLeftovers("")
	for _, dir := range removed {
		log.Info("removed the leftovers of a run that did not stop", "dir", dir)
	}
	if err != nil {
		log.Warn("removing the leftovers of earlier runs", "err", err)
	}

	if !native.on() {
		log.Warn("native mode is off", "why", native.off)
	}
	log.Info("starting a throwaway PostgreSQL")
	pgOpts := localdb.PostgresOptions{CA: ca}
	if native.on() {
		pgOpts.Native = &localdb.PostgresNative{PAMService: native.pgService, GatewaySource: gatewaySource}
	}
	if dbs.pg, err = localdb.StartPostgres(ctx, pgOpts); err != nil {
		return nil, stop, fmt.Errorf("dev: %w", err)
	}
	stops = append(stops, stopper("PostgreSQL", dbs.pg))
	if native.on() {
		if native.pgSocket, err = native.install(dbs.pg.Dir(), native.pgService); err != nil {
			return nil, stop, err
		}
	}
	log.Info("PostgreSQL ready", "addr", dbs.pg.Addr(), "log", dbs.pg.LogFile())
	if opts.PostgresReady != nil {
		opts.PostgresReady(dbs.pg)
	}

	log.Info("starting a throwaway MariaDB")
	// Its admin holds rds_iam WITH ADMIN OPTION, so that it can create IAM users (GRANT
	// rds_iam TO u) as RDS's master user can; the gateway does not count that grant as
	// membership: the admin stays a password user.
	startMariaDB := opts.StartMariaDB
	if startMariaDB == nil {
		startMariaDB = localdb.StartMariaDB
	}
	myOpts := localdb.MariaDBOptions{CA: ca, Databases: []string{mysqlDatabase}}
	if native.on() {
		myOpts.Native = &localdb.MariaDBNative{Plugin: native.plugin}
	}
	maria, err := startMariaDB(ctx, myOpts)
	switch {
	case errors.Is(err, localdb.ErrMariaDBNotFound):
		log.Warn("MariaDB is not installed: running without the MySQL gateway", "err", err, "install", "apt-get install -y mariadb-server")
	case err != nil:
		return nil, stop, fmt.Errorf("dev: %w", err)
	default:
		dbs.maria = maria
		stops = append(stops, stopper("MariaDB", maria))
		if native.on() {
			if native.mySocket, err = native.install(maria.Dir(), native.myService); err != nil {
				return nil, stop, err
			}
		}
		log.Info("MariaDB ready", "addr", maria.Addr(), "log", maria.LogFile())
		if opts.MariaDBReady != nil {
			opts.MariaDBReady(maria)
		}
	}
	return dbs, stop, nil
}
