package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iamdb/iamdb/internal/pghba"
)

// The pg_hba.conf check of "iamdb doctor --postgres": package pghba judges the lines; this
// file reads them from the server and prints the verdict.

// checkHBA connects to a PostgreSQL backend and reports each line of its pg_hba.conf
// that lets a member of rds_iam in without a certificate (package pghba).
func (d *doctor) checkHBA(ctx context.Context, connString, caFile string) {
	const fix = "reject members of rds_iam right after the gateway's cert line: \"hostssl all +rds_iam <gateway>/32 cert\", then \"host all +rds_iam all reject\" and \"local all +rds_iam reject\", before any other line (docs/operations.md); then SELECT pg_reload_conf()"
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(withPostgresTLS(connString, caFile))
	if err != nil {
		d.fail("pg_hba", "--postgres: "+err.Error(), "")
		return
	}
	c, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		d.fail("pg_hba", err.Error(), "check --postgres (a superuser's URL) and --ca-file")
		return
	}
	defer c.Close(context.Background())
	rules, members, err := readHBA(cctx, c)
	if err != nil {
		d.fail("pg_hba", "reading pg_hba_file_rules: "+err.Error(), "connect as a superuser, or GRANT SELECT ON pg_hba_file_rules and EXECUTE ON FUNCTION pg_hba_file_rules() to the role")
		return
	}
	warnings := pghba.Check(rules, members)
	if len(warnings) == 0 {
		d.ok("pg_hba", fmt.Sprintf("%s: %d lines; members of rds_iam (%d) log in only with a client certificate", cfg.Host, len(rules), len(members)))
		return
	}
	for _, w := range warnings {
		d.warn("pg_hba", w)
	}
	fmt.Fprintf(d.w, "      %-12s fix: %s\n", "", fix)
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
		err := row.Scan(&line, &r.Type, &r.Databases, &r.Users, &r.Address, &r.Netmask, &r.Method, &r.Err)
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
