#!/usr/bin/env bash
# bench/scale.sh — issue 22's scale benchmark: the same measurements on a large store and on
# one of about 1,000 principals, side by side:
#
#   start-up      iamdb dev's load of the store into the authority's snapshot (its log line
#                 "iam: loaded the store", seconds) and the whole dev start to "ready"
#   memory        resident memory of the iamdb dev process after start-up; per principal,
#                 the difference between the two sizes over the difference in principals
#   mutations     TagUser on a random loaded user through the AWS Query API, one at a time
#                 at SCALE_RATE per second (bench/scaleload mutate): p50 and p99 latency
#   logins        new IAM-authenticated connections per second through the PostgreSQL
#                 gateway (pgbench -n -C, one "select 1" per connection), idle, and while
#                 scaleload makes SCALE_CHURN mutations per second
#
# The stores are filled straight through the store (bench/scaleload load: iam.Populate),
# not through the API, with iamdb dev stopped: users with an inline policy and
# SCALE_KEYS_PER_USER access keys, and roles with an inline policy.
#
# usage: bench/scale.sh [RESULTS_FILE]     (default bench/results/scale-<UTC time>.txt)
#
# Environment: SCALE_USERS (100000), SCALE_ROLES (50000), SCALE_KEYS_PER_USER (2) for the
# large store; SMALL_USERS (500), SMALL_ROLES (500) for the small one; SCALE_MUTATIONS (500)
# measured mutations; SCALE_RATE (20) and SCALE_CHURN (50) mutations per second;
# BENCH_SECONDS (10) per login run, BENCH_CLIENTS (8), BENCH_THREADS (2). Needs: go, psql,
# pgbench, python3, and the AWS CLI (/usr/bin/aws) or falls back to "iamdb token".
#
# Heavy at the default sizes (the large load writes 350,000 entities): smoke-test it with
# small ones first, e.g. SCALE_USERS=300 SCALE_ROLES=100 SMALL_USERS=50 SMALL_ROLES=50
# SCALE_MUTATIONS=30 BENCH_SECONDS=3. Loopback only; the machine's PostgreSQL is never used.
BENCH=scale
source "$(dirname "$0")/lib.sh"
BIG_USERS=${SCALE_USERS:-100000}
BIG_ROLES=${SCALE_ROLES:-50000}
KPU=${SCALE_KEYS_PER_USER:-2}
SMALL_USERS=${SMALL_USERS:-500}
SMALL_ROLES=${SMALL_ROLES:-500}
MUTATIONS=${SCALE_MUTATIONS:-500}
RATE=${SCALE_RATE:-20}
CHURN=${SCALE_CHURN:-50}
T=${BENCH_SECONDS:-10}
C=${BENCH_CLIENTS:-8}
J=${BENCH_THREADS:-2}

NEED_PACKAGES="postgresql-client python3" need go psql pgbench python3
header "Scale: IAM changes and logins on a large store and a small one (issue 22)" \
	"large: $BIG_USERS users × $KPU keys, $BIG_ROLES roles; small: $SMALL_USERS users × $KPU keys, $SMALL_ROLES roles; $MUTATIONS mutations at $RATE/s; logins: pgbench -n -C -c $C -j $J -T $T, idle and under $CHURN mutations/s" \
	"$(pgbench --version)"

go build -o "$WORK/scaleload" ./bench/scaleload
printf 'SELECT 1;\n' >"$WORK/select1.sql"
unset PGHOST PGPORT PGUSER PGDATABASE PGSSLMODE PGPASSWORD PGSERVICE PGOPTIONS
export PGCONNECT_TIMEOUT=10

# stop_dev stops the running iamdb dev as the exit trap would, keeping its directory.
stop_dev() {
	kill -INT "$DEV_PID" 2>/dev/null || true
	for _ in $(seq 1 300); do kill -0 "$DEV_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$DEV_PID" 2>/dev/null || true
	wait "$DEV_PID" 2>/dev/null || true
	DEV_PID=
}

# logins FILE: IAM logins per second through the gateway (pgbench's tps), into FILE.
logins() {
	PGPASSWORD=$TOKEN pgbench -n -C -f "$WORK/select1.sql" -T "$T" -c "$C" -j "$J" \
		"host=localhost port=$IAMDB_PG_PORT user=bench_iam dbname=postgres sslmode=verify-full sslrootcert=$IAMDB_CA_FILE" >"$1" 2>&1 ||
		{ cat "$1"; die "pgbench failed"; }
	sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | head -1
}

declare -A R
# run NAME USERS ROLES: one store, measured.
run() {
	local name=$1 users=$2 roles=$3
	DEV="$WORK/dev-$name"
	say "## $name store: $users users, $((users * KPU)) access keys, $roles roles"
	start_dev --native=false >/dev/null
	local acct=$IAMDB_ACCOUNT_ID
	stop_dev
	"$WORK/scaleload" load -store "$DEV/iamdb.db" -master-key "$DEV/master.key" -account "$acct" \
		-users "$users" -keys-per-user "$KPU" -roles "$roles" | tee -a "$OUT"
	local t0 t1
	t0=$(date +%s.%N)
	start_dev --native=false >/dev/null
	t1=$(date +%s.%N)
	R[$name-ready]=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$t1")
	R[$name-load]=$(sed -n 's/.*iam: loaded the store.*seconds=\([0-9.e+-]*\).*/\1/p' "$WORK/dev.log" | tail -1)
	R[$name-rss]=$(rss_kib "$DEV_PID")
	R[$name-principals]=$((users + roles))
	say "start-up: store loaded in ${R[$name-load]:-?} s, iamdb dev ready in ${R[$name-ready]} s; resident ${R[$name-rss]} KiB"

	local admin_pw
	admin_pw=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).password))' "$IAMDB_PG_ADMIN_URL")
	PGPASSWORD=$admin_pw psql -X -q -v ON_ERROR_STOP=1 -d "$IAMDB_PG_ADMIN_URL" \
		-c "CREATE USER bench_iam WITH LOGIN; GRANT rds_iam TO bench_iam;" >/dev/null
	mint_token "$IAMDB_PG_PORT" bench_iam

	local m
	m=$("$WORK/scaleload" mutate -users "$users" -n "$MUTATIONS" -rate "$RATE") || die "scaleload mutate failed"
	say "mutations, one at a time at $RATE/s: $m"
	R[$name-p50]=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$m")
	R[$name-p99]=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$m")

	R[$name-idle]=$(logins "$WORK/$name-idle.txt")
	say "logins idle: ${R[$name-idle]}/s"
	"$WORK/scaleload" mutate -users "$users" -n 0 -d "$((T + 2))s" -rate "$CHURN" >"$WORK/$name-churn.txt" 2>&1 &
	local churn_pid=$!
	BENCH_PIDS+=("$churn_pid")
	sleep 1
	R[$name-churn]=$(logins "$WORK/$name-churn-logins.txt")
	wait "$churn_pid" || { cat "$WORK/$name-churn.txt"; die "scaleload mutate (churn) failed"; }
	say "logins under $CHURN mutations/s: ${R[$name-churn]}/s (the mutations meanwhile: $(cat "$WORK/$name-churn.txt"))"
	stop_dev
	say ""
}

run small "$SMALL_USERS" "$SMALL_ROLES"
run large "$BIG_USERS" "$BIG_ROLES"

per_principal=$(python3 -c "import sys; a, b, pa, pb = map(float, sys.argv[1:]); print(f'{(b - a) * 1024 / (pb - pa):.0f}' if pb > pa else 'n/a')" \
	"${R[small-rss]}" "${R[large-rss]}" "${R[small-principals]}" "${R[large-principals]}")
p50_ratio=$(ratio "${R[large-p50]}" "${R[small-p50]}")
churn_ratio=$(ratio "${R[large-churn]}" "${R[large-idle]}")
say "## Side by side"
say "| | small (${R[small-principals]} principals) | large (${R[large-principals]} principals) |"
say "|---|---|---|"
say "| store load at start-up, s | ${R[small-load]} | ${R[large-load]} |"
say "| iamdb dev ready, s | ${R[small-ready]} | ${R[large-ready]} |"
say "| resident, KiB | ${R[small-rss]} | ${R[large-rss]} |"
say "| mutation p50, ms | ${R[small-p50]} | ${R[large-p50]} |"
say "| mutation p99, ms | ${R[small-p99]} | ${R[large-p99]} |"
say "| logins idle, /s | ${R[small-idle]} | ${R[large-idle]} |"
say "| logins under $CHURN mutations/s, /s | ${R[small-churn]} | ${R[large-churn]} |"
say ""
say "## Targets (issue 22)"
say "- mutation p50 at large within 1.5x of small: ${p50_ratio}x, $(verdict "$p50_ratio" le 1.5)"
say "- mutation p50 at large <= 10 ms: ${R[large-p50]} ms, $(verdict "${R[large-p50]}" le 10)"
say "- logins under churn >= 0.9x idle (large): ${churn_ratio}x, $(verdict "$churn_ratio" ge 0.9)"
say "- start-up (store load) <= 10 s (large): ${R[large-load]} s, $(verdict "${R[large-load]:-n/a}" le 10)"
say "- resident per principal <= 2 KiB: $per_principal bytes, $(verdict "$per_principal" le 2048)"
