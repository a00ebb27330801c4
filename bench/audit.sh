#!/usr/bin/env bash
# bench/audit.sh [RESULTS_FILE] — what the audit trail costs logins (issue 18): IAM logins per
# second through the gateways with the audit journal off, on in its default mode (every
# login's event written before the client is told, fsync'ed within a second: audit.sync =
# "interval") and, in the Go benchmark, with audit.sync = "always" (fsync'ed before the
# client is told), run alternately so that the machine's load falls on all alike.
#
# 1. Go: internal/gateway's BenchmarkAuditConnect (PostgreSQL and MySQL gateways, 8 clients
#    in flight on 2 cores, real journals in temporary directories), BENCH_COUNT (6) rounds,
#    each running audit=off, audit=on, audit=always (in reverse order in even rounds);
#    benchstat's comparison when it can be run, and always the ratio of the medians (on / off)
#    and of each pair.
# 2. Whole system (BENCH_SYSTEM=1, the default; needs pgbench and psql): two "iamdb dev" side by
#    side, one with --audit=false, and pgbench -n -C -S -T BENCH_SECONDS (10) -c 8 -j 2
#    through each one's PostgreSQL gateway, alternately, BENCH_REPEAT (3) times, medians.
#
# Environment: BENCH_COUNT (6), BENCH_TIME (3s, the Go benchmark's -benchtime), BENCH_CPU (2,
# its -cpu: four logins in flight per CPU), BENCH_SYSTEM (1), BENCH_SECONDS (10), BENCH_REPEAT
# (3), BENCH_CLIENTS (8), BENCH_THREADS (2),
# BENCHSTAT (the command; default: go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da).
BENCH=audit
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
COUNT=${BENCH_COUNT:-6}
BT=${BENCH_TIME:-3s}
CPU=${BENCH_CPU:-2}
SYSTEM=${BENCH_SYSTEM:-1}
T=${BENCH_SECONDS:-10}
REPEAT=${BENCH_REPEAT:-3}
C=${BENCH_CLIENTS:-8}
J=${BENCH_THREADS:-2}
BENCHSTAT=${BENCHSTAT:-go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da}

NEED_PACKAGES="python3" need go python3
software="$(openssl version 2>/dev/null || echo 'openssl ?')"
[ "$SYSTEM" = 1 ] && command -v pgbench >/dev/null && software="$(pgbench --version), $software"
header "iamdb audit trail overhead (issue 18)" \
	"BENCH_COUNT=$COUNT BENCH_TIME=$BT BENCH_CPU=$CPU BENCH_SYSTEM=$SYSTEM BENCH_SECONDS=$T BENCH_REPEAT=$REPEAT BENCH_CLIENTS=$C BENCH_THREADS=$J" \
	"$software; journals in ${TMPDIR:-/tmp} ($(df -T "${TMPDIR:-/tmp}" | awk 'NR == 2 {print $2}'))"

# --- 1. the Go benchmark -----------------------------------------------------------------
say "## 1. BenchmarkAuditConnect: $COUNT rounds of -count 1 -benchtime $BT -cpu $CPU ($((CPU * 4)) logins in flight), audit=off, audit=on (sync interval) and audit=always (sync always) alternately"
go test -c -o "$WORK/gateway.test" ./internal/gateway/
# -count would run each sub-benchmark COUNT times in a row: one process per round instead, so
# that audit=off and audit=on alternate (each round starts its own PostgreSQL and MariaDB).
: >"$WORK/go.txt"
for i in $(seq 1 "$COUNT"); do
	# Even rounds run the sub-benchmarks in reverse order (always, on, off): what runs first
	# in a process favours neither side.
	reverse=""
	[ $((i % 2)) = 0 ] && reverse=1
	(cd internal/gateway && IAMDB_BENCH_REVERSE=$reverse "$WORK/gateway.test" -test.run '^$' -test.bench 'AuditConnect' \
		-test.count 1 -test.benchtime "$BT" -test.cpu "$CPU" 2>&1) >"$WORK/go-$i.txt" || true
	grep -E '^(Benchmark|FAIL|---|\s+\S+_test.go)' "$WORK/go-$i.txt" | tee -a "$OUT"
	grep -q '^PASS' "$WORK/go-$i.txt" || die "BenchmarkAuditConnect failed (round $i, above)"
	if [ "$i" = 1 ]; then grep -E '^(goos|goarch|pkg|cpu):' "$WORK/go-$i.txt" >>"$WORK/go.txt"; fi
	grep -E '^Benchmark' "$WORK/go-$i.txt" >>"$WORK/go.txt"
done
say ""
if $BENCHSTAT -col /audit "$WORK/go.txt" >"$WORK/benchstat.txt" 2>&1; then
	say "### benchstat -col /audit"
	tee -a "$OUT" <"$WORK/benchstat.txt"
else
	say "(benchstat could not be run: $(tail -1 "$WORK/benchstat.txt"))"
fi
say ""
say "### logins/s, audit=on as a multiple of audit=off (median of $COUNT; each pair's ratio in run order)"
say "### and the process's CPU per login, off/on: the logins/s ratio where that CPU is the limit, steady when the machine is shared"
python3 - "$WORK/go.txt" <<'EOF' | tee -a "$OUT"
import re, statistics, sys
rates, extra, cpu = {}, {}, {}
for l in open(sys.argv[1]):
    m = re.match(r'BenchmarkAuditConnect/engine=(\w+)/audit=(\w+)(?:-\d+)?\s+\d+\s+(.*)', l)
    if not m:
        continue
    eng, mode, rest = m.groups()
    metrics = {u: float(v) for v, u in re.findall(r'([\d.]+) (\S+)', rest)}
    rates.setdefault(eng, {}).setdefault(mode, []).append(metrics['conns/s'])
    if 'cpu-µs/op' in metrics:
        cpu.setdefault(eng, {}).setdefault(mode, []).append(metrics['cpu-µs/op'])
    for u in ('events/batch', 'fsyncs/login', 'record-ms'):
        if u in metrics:
            extra.setdefault((eng, mode), {}).setdefault(u, []).append(metrics[u])
for eng, r in rates.items():
    off = r.get('off', [])
    for mode in ('on', 'always'):
        on = r.get(mode, [])
        if not off or not on:
            continue
        mo, mn = statistics.median(off), statistics.median(on)
        pairs = ' '.join(f'{b / a:.2f}' for a, b in zip(off, on))
        x = ', '.join(f'{u} {statistics.median(v):.2f}' for u, v in extra.get((eng, mode), {}).items())
        target = ' (target >= 0.90x: ' + ('met' if mn / mo >= 0.9 else 'NOT met') + ')' if mode == 'on' else ''
        print(f'{eng:6} off {mo:7.1f}/s  {mode:6} {mn:7.1f}/s  ratio {mn / mo:.2f}x{target}  (pairs: {pairs})  journal: {x}')
        co, cn = cpu.get(eng, {}).get('off', []), cpu.get(eng, {}).get(mode, [])
        if co and cn:
            mco, mcn = statistics.median(co), statistics.median(cn)
            cpairs = ' '.join(f'{a / b:.2f}' for a, b in zip(co, cn))
            print(f'{"":6} CPU per login (clients + gateway + authority, one process): off {mco:.0f} µs  {mode} {mcn:.0f} µs  off/on {mco / mcn:.2f}  (pairs: {cpairs})')
EOF

# --- 2. the whole system -----------------------------------------------------------------
if [ "$SYSTEM" != 1 ]; then
	exit 0
fi
if ! command -v pgbench >/dev/null || ! command -v psql >/dev/null; then
	say ""
	say "## 2. skipped: pgbench or psql is missing (apt-get install -y postgresql-client)"
	exit 0
fi
unset PGHOST PGPORT PGUSER PGDATABASE PGSSLMODE PGPASSWORD PGSERVICE PGOPTIONS
export PGCONNECT_TIMEOUT=10
go build -o bin/iamdb ./cmd/iamdb

# start_dev_as MODE ARGS…: runs "iamdb dev --dir $WORK/dev-MODE ARGS…" (its pid in BENCH_PIDS),
# waits for "ready", makes bench_iam (rds_iam) and pgbench's tables (scale 1) on its backend,
# and writes $WORK/MODE.conn: the conninfo and the token (minted as the README does).
start_dev_as() {
	local mode=$1 d=$WORK/dev-$1
	shift
	bin/iamdb dev --dir "$d" --native=false "$@" >"$WORK/$mode.out" 2>"$WORK/$mode.log" &
	BENCH_PIDS+=($!)
	DEV[$mode]=$!
	for _ in $(seq 1 900); do
		grep -q '^ready' "$WORK/$mode.out" 2>/dev/null && break
		kill -0 "${BENCH_PIDS[-1]}" 2>/dev/null || { cat "$WORK/$mode.log"; die "iamdb dev ($mode) exited"; }
		sleep 0.1
	done
	grep -q '^ready' "$WORK/$mode.out" || die "iamdb dev ($mode) not ready after 90s"
	(
		# shellcheck disable=SC1091
		source "$d/env"
		be="host=${IAMDB_PG_BACKEND_ADDR%:*} port=${IAMDB_PG_BACKEND_ADDR##*:} user=postgres dbname=postgres sslmode=verify-full sslrootcert=$IAMDB_CA_FILE"
		PGPASSWORD=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).password))' "$IAMDB_PG_ADMIN_URL")
		export PGPASSWORD
		psql -X -q -v ON_ERROR_STOP=1 -d "$be" -c "CREATE USER bench_iam WITH LOGIN; GRANT rds_iam TO bench_iam;"
		pgbench -i -q -s 1 "$be" >"$WORK/$mode.init" 2>&1 || { cat "$WORK/$mode.init"; exit 1; }
		psql -X -q -v ON_ERROR_STOP=1 -d "$be" -c "GRANT SELECT ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO bench_iam;"
		unset PGPASSWORD
		mint_token "$IAMDB_PG_PORT" bench_iam
		printf '%s\n%s\n' "host=localhost port=$IAMDB_PG_PORT user=bench_iam dbname=postgres sslmode=verify-full sslrootcert=$IAMDB_CA_FILE" "$TOKEN" >"$WORK/$mode.conn"
	) || die "setting up iamdb dev ($mode) failed"
}
declare -A DEV DEVCPU LOGINS
start_dev_as on
start_dev_as off --audit=false
say ""
say "## 2. Whole system: two iamdb dev (audit on; --audit=false), pgbench -n -C -S -T $T -c $C -j $J through each PostgreSQL gateway, alternately, $REPEAT times"
declare -A TPS
for i in $(seq 1 "$REPEAT"); do
	for mode in off on; do
		f=$WORK/pgbench-$mode-$i.txt
		c0=$(cpu_ms "${DEV[$mode]}")
		PGPASSWORD=$(sed -n 2p "$WORK/$mode.conn") pgbench -n -C -S -T "$T" -c "$C" -j "$J" "$(sed -n 1p "$WORK/$mode.conn")" >"$f" 2>&1 ||
			{ cat "$f"; die "pgbench ($mode) failed"; }
		c1=$(cpu_ms "${DEV[$mode]}")
		tps=$(tps "$f") n=$(txs "$f")
		TPS[$mode]="${TPS[$mode]:-} $tps"
		DEVCPU[$mode]=$((${DEVCPU[$mode]:-0} + c1 - c0))
		LOGINS[$mode]=$((${LOGINS[$mode]:-0} + ${n:-0}))
		say "  run $i audit=$mode: $tps logins/s (iamdb dev CPU $((c1 - c0)) ms = $(per_op_us "$((c1 - c0))" "${n:-0}") µs per login)"
	done
done
# shellcheck disable=SC2086
on=$(median ${TPS[on]}) off=$(median ${TPS[off]})
say "pgbench -C logins/s: off $off  on $on  ratio $(ratio "$on" "$off")x (median of $REPEAT)"
cpu_off=$(per_op_us "${DEVCPU[off]}" "${LOGINS[off]}") cpu_on=$(per_op_us "${DEVCPU[on]}" "${LOGINS[on]}")
say "iamdb dev CPU per login (gateway + authority + journal), summed over the runs: off $cpu_off µs  on $cpu_on µs  off/on $(ratio "$cpu_off" "$cpu_on")"
say ""
say "results: $OUT"
