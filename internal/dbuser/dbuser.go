package dbuser

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/rdsiam"
)

// CreatePostgres runs rdsiam.PostgresIAMUserSQL for each user on the server of cfg, each
// user in a transaction, and calls created with each user it created.
func CreatePostgres(ctx context.Context, cfg *pgx.ConnConfig, users []string, created func(user string)) error {
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	for _, u := range users {
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			for _, s := range rdsiam.PostgresIAMUserSQL(u) {
				if _, err := tx.Exec(ctx, s); err != nil {
					return fmt.Errorf("%s: %w", s, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		created(u)
	}
	return nil
}

// CreateMySQL runs userSQL for each user on the server of cfg and calls created with each
// account it created. userSQL is given whether the server has iamdb's authentication
// plugin (rdsiam.MySQLPlugin) active, and returns the statements for a user
// (rdsiam.MySQLIAMUserSQL, MySQLNativeUserSQL or MySQLPluginUserSQL). When a statement
// after CREATE USER fails, it drops the user again, so that a retry starts afresh.
func CreateMySQL(ctx context.Context, cfg *mysql.Config, users []string, userSQL func(user string, plugin bool) []string, created func(account string)) error {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	// Our literals escape nothing with a backslash (rdsiam.QuoteMySQLString): in this
	// session a backslash stands for itself, whatever the server's sql_mode.
	if _, err := c.ExecContext(ctx, rdsiam.RawBackslashes); err != nil {
		return fmt.Errorf("%s: %w", rdsiam.RawBackslashes, err)
	}
	var plugins int
	if err := c.QueryRowContext(ctx, pluginActiveSQL).Scan(&plugins); err != nil {
		return fmt.Errorf("%s: %w", pluginActiveSQL, err)
	}
	for _, u := range users {
		if err := createMySQLUser(ctx, c, cfg.User, u, userSQL(u, plugins > 0)); err != nil {
			return err
		}
		created(rdsiam.MySQLAccount(u))
	}
	return nil
}

// pluginActiveSQL counts 1 if the server has rdsiam.MySQLPlugin loaded and active.
const pluginActiveSQL = "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = '" + rdsiam.MySQLPlugin + "' AND PLUGIN_STATUS = 'ACTIVE'"

// createMySQLUser runs stmts, which create user u; admin is the administrator's name.
func createMySQLUser(ctx context.Context, c *sql.Conn, admin, u string, stmts []string) error {
	created := false
	for _, s := range stmts {
		if _, err := c.ExecContext(ctx, s); err != nil {
			err = fmt.Errorf("%s: %w", s, err)
			var me *mysql.MySQLError
			if created && errors.As(err, &me) && me.Number == 1698 {
				err = fmt.Errorf("%w (granting rds_iam takes rds_iam WITH ADMIN OPTION: GRANT rds_iam TO %s WITH ADMIN OPTION, as its creator)", err, rdsiam.MySQLAccount(admin))
			}
			if created {
				if _, derr := c.ExecContext(ctx, "DROP USER "+rdsiam.MySQLAccount(u)); derr != nil {
					err = fmt.Errorf("%w; dropping the user again: %v", err, derr)
				}
			}
			return err
		}
		created = created || strings.HasPrefix(s, "CREATE USER ")
	}
	return nil
}

// PostgresTLS makes verified TLS the default of a connection string (a libpq URL or
// key=value string): sslmode verify-full unless it names an sslmode, and
// sslrootcert=caFile unless it names one (or caFile is empty: the system's roots).
func PostgresTLS(s, caFile string) string {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return s // pgx reports it
		}
		// Append to the query as written: re-encoding it would turn spaces into '+',
		// which libpq and pgx read as a plus sign (options=-c%20x=y).
		q := u.Query()
		add := url.Values{}
		if !q.Has("sslmode") {
			add.Set("sslmode", "verify-full")
		}
		if !q.Has("sslrootcert") && caFile != "" {
			add.Set("sslrootcert", caFile)
		}
		if len(add) > 0 {
			if u.RawQuery != "" {
				u.RawQuery += "&"
			}
			u.RawQuery += strings.ReplaceAll(add.Encode(), "+", "%20")
		}
		return u.String()
	}
	has := func(key string) bool {
		for _, f := range strings.Fields(s) {
			if k, _, _ := strings.Cut(f, "="); strings.TrimSpace(k) == key {
				return true
			}
		}
		return false
	}
	if !has("sslmode") {
		s += " sslmode=verify-full"
	}
	if !has("sslrootcert") && caFile != "" {
		s += " sslrootcert=" + rdsiam.QuotePostgresConnValue(caFile)
	}
	return s
}

// MySQLTLS makes verified TLS the default of a DSN: with no tls parameter (or tls=true),
// TLS verified against caFile (the system's roots if empty) for the DSN's host; other tls
// values are the driver's.
func MySQLTLS(cfg *mysql.Config, caFile string) error {
	if cfg.TLSConfig != "" && cfg.TLSConfig != "true" {
		return nil
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host = cfg.Addr
	}
	t := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca-file: %s holds no PEM certificate", caFile)
		}
	}
	cfg.TLS = t
	return nil
}
