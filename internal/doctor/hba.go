package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/pghba"
)

// The pg_hba.conf check: package pghba judges the lines; this file reads them from the
// server.

// checkHBA connects to a PostgreSQL backend and reports each line of its pg_hba.conf
// that lets a member of rds_iam in without an IAM token (package pghba), after the PAM
// services its pam lines name (in pamDir), which decide which of those are native mode.
// connString carries its TLS settings.
func checkHBA(ctx context.Context, connString, pamDir string) []Result {
	const fix = "reject members of rds_iam right after the gateway's cert line (or native mode's hostssl pam lines): \"hostssl all +rds_iam <gateway>/32 cert\", then \"host all +rds_iam all reject\" and \"local all +rds_iam reject\", before any other line (docs/operations.md; iamdb native-setup --apply writes native mode's block); then SELECT pg_reload_conf()"
	const nativeFix = "native mode's pam lines for members of rds_iam must be hostssl, and followed by \"host all +rds_iam all reject\" and \"local all +rds_iam reject\" (iamdb native-setup --apply writes them); then SELECT pg_reload_conf()"
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return []Result{fail("pg_hba", "--postgres: "+err.Error(), "")}
	}
	c, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return []Result{fail("pg_hba", err.Error(), "check --postgres (a superuser's URL) and --ca-file")}
	}
	defer c.Close(context.Background())
	rules, members, err := readHBA(cctx, c)
	if err != nil {
		return []Result{fail("pg_hba", "reading pg_hba_file_rules: "+err.Error(), "connect as a superuser, or GRANT SELECT ON pg_hba_file_rules and EXECUTE ON FUNCTION pg_hba_file_rules() to the role")}
	}
	var services []string
	for _, r := range rules {
		if svc := r.PAMService(); svc != "" && r.Err == "" && !slices.Contains(services, svc) {
			services = append(services, svc)
		}
	}
	rs, native := checkPAMServices(pamDir, services)
	warnings := pghba.Check(rules, members, pghba.Options{NativeServices: native})
	if len(warnings) == 0 {
		how := "a client certificate"
		if len(native) > 0 {
			how += " or an IAM token through PAM (" + strings.Join(native, ", ") + ") over TLS"
		}
		return append(rs, ok("pg_hba", fmt.Sprintf("%s: %d lines; members of rds_iam (%d) log in only with %s", cfg.Host, len(rules), len(members), how)))
	}
	var plain, nat bool
	for _, w := range warnings {
		rs = append(rs, warn("pg_hba", w.Text, ""))
		plain, nat = plain || !w.Native, nat || w.Native
	}
	var fixes []string
	if plain {
		fixes = append(fixes, fix)
	}
	if nat {
		fixes = append(fixes, nativeFix)
	}
	rs[len(rs)-1].Fix = strings.Join(fixes, "\n")
	return rs
}

// readHBA reads the rules of pg_hba.conf and the members of rds_iam from a server.
// pg_hba_file_rules is readable by superusers only, unless granted.
func readHBA(ctx context.Context, c *pgx.Conn) ([]pghba.Rule, []pghba.Member, error) {
	rows, err := c.Query(ctx, pghba.RulesQuery)
	if err != nil {
		return nil, nil, err
	}
	rules, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pghba.Rule, error) {
		var r pghba.Rule
		var line *int32
		err := row.Scan(&line, &r.Type, &r.Databases, &r.Users, &r.Address, &r.Netmask, &r.Method, &r.Options, &r.Err)
		if line != nil {
			r.Line = int(*line)
		}
		return r, err
	})
	if err != nil {
		return nil, nil, err
	}
	rows, err = c.Query(ctx, pghba.MembersQuery)
	if err != nil {
		return nil, nil, err
	}
	members, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pghba.Member, error) {
		var m pghba.Member
		return m, row.Scan(&m.Name, &m.Groups)
	})
	if err != nil {
		return nil, nil, err
	}
	return rules, members, nil
}
