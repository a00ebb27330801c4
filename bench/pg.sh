#!/usr/bin/env bash
# bench/pg.sh — the PostgreSQL gateway's benchmarks, side by side in one run (DESIGN.md,
# "Targets"): new TLS connections per second, steady select-only TPS, and resident memory
# per idle client connection, for
#
#   gateway    bin/iamdb dev (a separate process): IAM token as the password, TLS
#   direct     the same throwaway PostgreSQL, straight to its port: SCRAM + TLS
#   pgbouncer  Debian's pgbouncer in front of it: SCRAM + TLS both sides, pool_mode session
#   ceiling    bench/tlsceiling: full TLS 1.3 handshakes against a Go TLS listener, same cert
#
# usage: bench/pg.sh [RESULTS_FILE]     (default bench/results/pg-<UTC time>.txt)
#
# Environment: BENCH_SECONDS (10) per run, BENCH_REPEAT (3) runs of each pgbench measurement
# (interleaved gateway, direct, pgbouncer, gateway, …; the median is kept), BENCH_CLIENTS (8), BENCH_THREADS (2),
# BENCH_SCALE (5), BENCH_IDLE (2000) idle connections for the memory test, opened from 8
# source addresses (iamdb dev's default listener limits: max_client_conns is an eighth of
# its descriptor limit, 2,500 at `ulimit -n` 20,000, and a quarter of that per address),
# BENCH_IDLE_AUTH (200) logged-in idle connections (each holds a backend session, and the
# backend's max_connections is 300). Needs: go, psql, pgbench, pgbouncer, python3, setpriv,
# and the AWS CLI (/usr/bin/aws) or falls back to "iamdb token" for the token.
#
# CPU per transaction, side by side (issue 19): every pgbench run reads user+system CPU from
# /proc/PID/stat before and after, of the iamdb dev process (the gateway), of pgbouncer, and
# of the backend (the throwaway postmaster and every process under it, exited backends
# included), and divides by the transactions. After the measured runs of sections 2 and 3,
# one more gateway run (not in the medians) is profiled through iamdb dev --pprof: a CPU and
# an allocation profile, $PROF-connect-*.pprof and $PROF-steady-*.pprof beside the results
# file, their top 25 functions printed into it. At the end, each target of issue 19's table
# with today's value, met or NOT met.
#
# Every server it starts (iamdb dev and with it the throwaway PostgreSQL, pgbouncer) is
# stopped on exit. Loopback only; the machine's PostgreSQL (5432) is never used.
BENCH=pg
source "$(dirname "$0")/lib.sh"
T=${BENCH_SECONDS:-10}
C=${BENCH_CLIENTS:-8}
J=${BENCH_THREADS:-2}
SCALE=${BENCH_SCALE:-5}
IDLE=${BENCH_IDLE:-2000}
IDLE_AUTH=${BENCH_IDLE_AUTH:-200}
REPEAT=${BENCH_REPEAT:-3}

NEED_PACKAGES="postgresql-client pgbouncer python3 util-linux curl iproute2" need go psql pgbench pgbouncer python3 setpriv curl ss
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -gt $((IDLE + 500)) ] || die "ulimit -n is $(ulimit -n): too low for $IDLE idle connections"

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the machine ---------------------------------------------------------------------------
header "iamdb PostgreSQL gateway benchmarks" \
	"BENCH_SECONDS=$T BENCH_REPEAT=$REPEAT BENCH_CLIENTS=$C BENCH_THREADS=$J BENCH_SCALE=$SCALE BENCH_IDLE=$IDLE BENCH_IDLE_AUTH=$IDLE_AUTH" \
	"$(pgbench --version), $(/usr/lib/postgresql/*/bin/postgres --version | head -1), $(pgbouncer --version | head -1), $(openssl version 2>/dev/null || echo 'openssl ?')"

# --- build and start -----------------------------------------------------------------------
go build -o "$WORK/tlsceiling" ./bench/tlsceiling
go build -o "$WORK/idleconns" ./bench/idleconns
go build -o "$WORK/connrate" ./bench/connrate
start_dev --pprof
[ -n "${IAMDB_PG_BACKEND_ADDR:-}" ] || die "D/env lacks IAMDB_PG_BACKEND_ADDR"
[ -n "${IAMDB_OPS_ADDR:-}" ] || die "D/env lacks IAMDB_OPS_ADDR"
BE_HOST=${IAMDB_PG_BACKEND_ADDR%:*}
BE_PORT=${IAMDB_PG_BACKEND_ADDR##*:}
BE_PID=$(listen_pid "$BE_PORT") # the postmaster
[ -n "$BE_PID" ] || die "no process listens on the backend's port $BE_PORT"
GW_PORT=$IAMDB_PG_PORT
ADMIN_PW=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).password))' "$IAMDB_PG_ADMIN_URL")
BE_ADMIN="host=$BE_HOST port=$BE_PORT user=postgres dbname=postgres sslmode=verify-full sslrootcert=$IAMDB_CA_FILE"
unset PGHOST PGPORT PGUSER PGDATABASE PGSSLMODE PGPASSWORD PGSERVICE PGOPTIONS
export PGCONNECT_TIMEOUT=10
GW_PID=$DEV_PID # the gateway runs in the iamdb dev process

# Users: bench_iam (rds_iam: token only, through the gateway), bench_pw (SCRAM: direct and
# pgbouncer). pgbench tables at scale $SCALE, initialised on the backend.
BENCH_PW=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
PGPASSWORD=$ADMIN_PW psql -X -q -v ON_ERROR_STOP=1 -d "$BE_ADMIN" \
	-c "CREATE USER bench_iam WITH LOGIN; GRANT rds_iam TO bench_iam;" \
	-c "CREATE USER bench_pw WITH LOGIN PASSWORD '$BENCH_PW';"
PGPASSWORD=$ADMIN_PW pgbench -i -q -s "$SCALE" "$BE_ADMIN" >"$WORK/init.log" 2>&1 || { cat "$WORK/init.log"; die "pgbench -i failed"; }
PGPASSWORD=$ADMIN_PW psql -X -q -v ON_ERROR_STOP=1 -d "$BE_ADMIN" \
	-c "GRANT SELECT ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO bench_iam, bench_pw;"
SCRAM=$(PGPASSWORD=$ADMIN_PW psql -X -At -d "$BE_ADMIN" -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'bench_pw'")

# The token, as the README makes it (valid 15 minutes: long enough for every run below).
mint_token "$GW_PORT" bench_iam

# pgbouncer, as an unprivileged user in its own directory, with the dev CA's server cert.
BDIR="$WORK/pgbouncer"
mkdir -p "$BDIR"
cp "$DEV/server.pem" "$DEV/server-key.pem" "$DEV/ca.pem" "$BDIR/"
printf '"bench_pw" "%s"\n' "$SCRAM" >"$BDIR/userlist.txt"
BOUNCER_PORT=$(freeport)
cat >"$BDIR/pgbouncer.ini" <<EOF
[databases]
postgres = host=$BE_HOST port=$BE_PORT dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $BDIR/userlist.txt
pool_mode = session
max_client_conn = $((IDLE + 200))
default_pool_size = $((IDLE_AUTH + 20))
client_tls_sslmode = require
client_tls_cert_file = $BDIR/server.pem
client_tls_key_file = $BDIR/server-key.pem
client_tls_ca_file = $BDIR/ca.pem
server_tls_sslmode = require
server_tls_ca_file = $BDIR/ca.pem
logfile = $BDIR/pgbouncer.log
log_connections = 0
log_disconnections = 0
EOF
chown -R nobody:nogroup "$BDIR"
chmod 600 "$BDIR/server-key.pem" "$BDIR/userlist.txt"
setpriv --reuid=nobody --regid=nogroup --clear-groups pgbouncer "$BDIR/pgbouncer.ini" >>"$WORK/pgbouncer.out" 2>&1 &
BOUNCER_PID=$!
BENCH_PIDS+=("$BOUNCER_PID")
for _ in $(seq 1 100); do
	PGPASSWORD=$BENCH_PW psql -X -At -d "host=127.0.0.1 port=$BOUNCER_PORT user=bench_pw dbname=postgres sslmode=require" -c "select 1" >/dev/null 2>&1 && break
	kill -0 "$BOUNCER_PID" 2>/dev/null || { cat "$WORK/pgbouncer.out" "$BDIR/pgbouncer.log" 2>/dev/null; die "pgbouncer exited"; }
	sleep 0.1
done

# The three targets as libpq connection strings. 127.0.0.1 (not localhost) everywhere, so
# that no run pays for a refused ::1 first; the token is signed for localhost as the README
# does, which the gateway accepts on either of its names.
declare -A CONN PASS
CONN[gateway]="host=127.0.0.1 port=$GW_PORT user=bench_iam dbname=postgres sslmode=require"
PASS[gateway]=$TOKEN
CONN[direct]="host=$BE_HOST port=$BE_PORT user=bench_pw dbname=postgres sslmode=require"
PASS[direct]=$BENCH_PW
CONN[pgbouncer]="host=127.0.0.1 port=$BOUNCER_PORT user=bench_pw dbname=postgres sslmode=require"
PASS[pgbouncer]=$BENCH_PW
for k in gateway direct pgbouncer; do
	got=$(PGPASSWORD=${PASS[$k]} psql -X -At -d "${CONN[$k]}" -c "select current_user || ' ' || coalesce((select version from pg_stat_ssl where pid = pg_backend_pid()), 'no-ssl')") ||
		die "$k: cannot log in"
	say "check $k: $got"
done
say "token by: $TOKEN_BY (${#TOKEN} bytes)"
say ""

# --- 1. memory per idle connection ---------------------------------------------------------
say "## 1. Resident memory per idle TLS client connection (VmRSS before and after, /proc/PID/status)"
say "(first, while the gateway process is fresh: a Go heap that grew and shrank earlier would blur the deltas)"
declare -A MEM
# hold NAME PID ADDR USER PASSWORD N STATE: opens N connections, reads PID's VmRSS (hold_mem).
hold() {
	hold_mem "$1" "$1 ($7)" "$2" env PGPASSWORD="$5" "$WORK/idleconns" -addr "$3" -user "$4" -n "$6" -state "$7" -sources 8
}
hold "gateway-loggedin" "$GW_PID" "127.0.0.1:$GW_PORT" bench_iam "$TOKEN" "$IDLE_AUTH" auth
hold "pgbouncer-loggedin" "$BOUNCER_PID" "127.0.0.1:$BOUNCER_PORT" bench_pw "$BENCH_PW" "$IDLE_AUTH" auth
hold "gateway" "$GW_PID" "127.0.0.1:$GW_PORT" bench_iam "$TOKEN" "$IDLE" startup
hold "pgbouncer" "$BOUNCER_PID" "127.0.0.1:$BOUNCER_PORT" bench_pw "$BENCH_PW" "$IDLE" startup
say "(startup: TLS established, StartupMessage sent, the server's authentication request unanswered;"
say " auth: logged in and idle at ReadyForQuery; the gateway's backend sessions live in PostgreSQL, not in its RSS)"
say ""

# --- 2. new connections per second ---------------------------------------------------------
say "## 2. New TLS connections per second: pgbench -n -C -S -T $T -c $C -j $J (reconnect per transaction), median of $REPEAT"
"$WORK/tlsceiling" -cert "$DEV/server.pem" -key "$DEV/server-key.pem" -ca "$DEV/ca.pem" -c "$C" -d "${T}s" | tee "$WORK/ceiling.txt" | tee -a "$OUT"
CEIL=$(sed -n 's/.*: \([0-9]*\)\/s,.*/\1/p' "$WORK/ceiling.txt")
declare -A CPS TPS RUNS
# medians RUNS SUFFIX OUT WHAT: for each target K, sets OUT[K] to the median of the runs
# listed in RUNS[K SUFFIX], and says it followed by WHAT.
medians() {
	local -n from=$1 to=$3
	local k
	for k in gateway direct pgbouncer; do
		# shellcheck disable=SC2086
		to[$k]=$(median ${from[$k$2]})
		say "$(printf '%-10s %10s %s' "$k" "${to[$k]}" "$4")"
	done
}
# CPU per transaction by target and mode (KEY MODE), lists of the runs' µs: of the iamdb dev
# process (CPU_GW), of pgbouncer (CPU_PB), of the backend's processes (CPU_BE).
declare -A CPU_GW CPU_PB CPU_BE
# bench MODE KEY I: one pgbench run; MODE is -C (reconnect) or "" (connections kept). I is
# the run's number, or "profiled" for the gateway's extra run under profiling (profile_start
# before, profile_end after), which stays out of the medians.
bench() {
	local mode=$1 k=$2 i=$3 f="$WORK/$2$1-$3.txt" g0 g1 p0 p1 b0 b1
	g0=$(cpu_ms "$GW_PID") p0=$(cpu_ms "$BOUNCER_PID") b0=$(tree_cpu_ms "$BE_PID")
	# shellcheck disable=SC2086
	PGPASSWORD=${PASS[$k]} pgbench -n $mode -S -T "$T" -c "$C" -j "$J" "${CONN[$k]}" >"$f" 2>&1 ||
		{ cat "$f"; die "pgbench $mode $k failed"; }
	g1=$(cpu_ms "$GW_PID") p1=$(cpu_ms "$BOUNCER_PID") b1=$(tree_cpu_ms "$BE_PID")
	local failed gw pb be
	TX=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$f")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$f")
	gw=$(us_per "$g0" "$g1" "$TX") pb=$(us_per "$p0" "$p1" "$TX") be=$(us_per "$b0" "$b1" "$TX")
	if [ "$i" != profiled ]; then
		RUNS[$k$mode]="${RUNS[$k$mode]:-} $(tps "$f")"
		CPU_GW[$k$mode]="${CPU_GW[$k$mode]:-} $gw" CPU_PB[$k$mode]="${CPU_PB[$k$mode]:-} $pb" CPU_BE[$k$mode]="${CPU_BE[$k$mode]:-} $be"
	fi
	say "$(printf '  run %s %-10s %10s tps  (%s; failed: %s; CPU µs per transaction: iamdb dev %s, pgbouncer %s, backend %s)' "$i" "$k" "$(tps "$f")" \
		"$(grep -E '^(average connection time|latency average)' "$f" | tr '\n' ';' | sed 's/;$//')" "${failed:-0}" "$gw" "$pb" "$be")"
}
# profiled MODE NAME: the gateway's extra run of MODE under profile NAME.
profiled() {
	say "  (one more gateway run, profiled: CPU and allocations over its ${T}s; not in the medians)"
	profile_start "$2" "$T"
	bench "$1" gateway profiled
	profile_end "$2" "$TX" transaction
}
for i in $(seq 1 "$REPEAT"); do
	for k in gateway direct pgbouncer; do bench -C "$k" "$i"; done
done
medians RUNS -C CPS "connections/s (median)"
say "$(printf '%-10s %10s handshakes/s' ceiling "$CEIL")"
profiled -C connect
login_split connect pg
pool_checks
say ""
say "### 2b. The same with a Go client instead of pgbench (bench/connrate: pgconn, X25519/P-256, one select 1 per connection), median of $REPEAT"
declare -A GORATE GORUNS
for i in $(seq 1 "$REPEAT"); do
	for k in gateway direct pgbouncer; do
		c0=$(cpu_ms "$GW_PID")
		PGPASSWORD=${PASS[$k]} "$WORK/connrate" -c "$C" -d "${T}s" "${CONN[$k]}" >"$WORK/go-$k-$i.txt" 2>&1 ||
			{ cat "$WORK/go-$k-$i.txt"; die "connrate $k failed"; }
		c1=$(cpu_ms "$GW_PID")
		r=$(sed -n 's/^connrate: .*: \([0-9]*\)\/s,.*/\1/p' "$WORK/go-$k-$i.txt")
		GORUNS[$k]="${GORUNS[$k]:-} $r"
		extra=""
		[ "$k" = gateway ] && extra="  (gateway process CPU $(python3 -c "import sys; print(f'{(int(sys.argv[2])-int(sys.argv[1]))*1000/max(1,float(sys.argv[3])*float(sys.argv[4])):.0f}')" "$c0" "$c1" "$r" "$T") µs per connection)"
		say "  run $i $(sed -n 's/^connrate: //p' "$WORK/go-$k-$i.txt" | sed "s/^/$k: /" | tr '\n' ' ')$extra"
	done
done
medians GORUNS "" GORATE "connections/s (median, Go client)"
say ""

# --- 3. steady TPS -------------------------------------------------------------------------
say "## 3. Steady select-only TPS: pgbench -n -S -T $T -c $C -j $J (connections kept), median of $REPEAT"
for i in $(seq 1 "$REPEAT"); do
	for k in gateway direct pgbouncer; do bench "" "$k" "$i"; done
done
medians RUNS "" TPS "tps (median)"
profiled "" steady
say ""

# --- summary -------------------------------------------------------------------------------
say "## Summary (targets from DESIGN.md)"
row() { say "$(printf '| %-46s | %-34s | %-9s | %s |' "$1" "$2" "$3" "$4")"; }
met() { python3 -c "
import sys
try: print('yes' if float(sys.argv[1]) >= float(sys.argv[2]) else 'NO')
except ValueError: print('n/a')" "$1" "$2"; }
row "what" "measured" "target" "met"
row "---" "---" "---" "---"
r=$(ratio "${CPS[gateway]}" "${CPS[direct]}");    row "new conn/s: gateway / direct" "${CPS[gateway]} / ${CPS[direct]} = ${r}x" ">= 10x" "$(met "$r" 10)"
r=$(ratio "${CPS[gateway]}" "${CPS[pgbouncer]}"); row "new conn/s: gateway / pgbouncer" "${CPS[gateway]} / ${CPS[pgbouncer]} = ${r}x" ">= 5x" "$(met "$r" 5)"
r=$(ratio "${CPS[gateway]}" "$CEIL");             row "new conn/s: gateway / TLS ceiling" "${CPS[gateway]} / $CEIL = ${r}" ">= 0.50" "$(met "$r" 0.5)"
r=$(ratio "${TPS[gateway]}" "${TPS[direct]}");    row "steady tps: gateway / direct" "${TPS[gateway]} / ${TPS[direct]} = ${r}" ">= 0.90" "$(met "$r" 0.9)"
r=$(ratio "${TPS[gateway]}" "${TPS[pgbouncer]}"); row "steady tps: gateway / pgbouncer" "${TPS[gateway]} / ${TPS[pgbouncer]} = ${r}" ">= 1.00" "$(met "$r" 1)"
r=$(ratio "${GORATE[gateway]}" "${GORATE[direct]}");    row "(Go client) new conn/s: gateway / direct" "${GORATE[gateway]} / ${GORATE[direct]} = ${r}x" "(>= 10x)" "$(met "$r" 10)"
r=$(ratio "${GORATE[gateway]}" "${GORATE[pgbouncer]}"); row "(Go client) new conn/s: gateway / pgbouncer" "${GORATE[gateway]} / ${GORATE[pgbouncer]} = ${r}x" "(>= 5x)" "$(met "$r" 5)"
r=$(ratio "${GORATE[gateway]}" "$CEIL");                row "(Go client) new conn/s: gateway / ceiling" "${GORATE[gateway]} / $CEIL = ${r}" "(>= 0.50)" "$(met "$r" 0.5)"
if [ "${MEM[gateway]}" != n/a ]; then
	row "memory per idle conn, gateway ($IDLE, startup)" "${MEM[gateway]} KiB (pgbouncer ${MEM[pgbouncer]} KiB)" "<= 16 KiB" "$(python3 -c "import sys; print('yes' if float(sys.argv[1]) <= 16 else 'NO')" "${MEM[gateway]}")"
fi
row "memory per logged-in idle conn ($IDLE_AUTH)" "gateway ${MEM[gateway-loggedin]} KiB, pgbouncer ${MEM[pgbouncer-loggedin]} KiB" "—" "—"
say ""

# --- CPU per transaction, side by side -----------------------------------------------------
say "## CPU per transaction, side by side (µs of user+system CPU per pgbench transaction, /proc/PID/stat, median of $REPEAT runs)"
say "(proxy: the iamdb dev process for the gateway, pgbouncer for pgbouncer; backend: the throwaway postmaster and every"
say " process under it, exited backends included. With -C every transaction is a new connection: TLS and a login.)"
declare -A PROXY BACKEND
cpurow() { say "$(printf '| %-22s | %-9s | %9s | %-26s | %11s | %9s |' "$@")"; }
cpurow phase target tps "proxy CPU µs/tx" "backend µs/tx" "total µs/tx"
cpurow --- --- --- --- --- ---
for mode in "" -C; do
	for k in gateway pgbouncer direct; do
		proxy=— total=
		# shellcheck disable=SC2086
		case $k in
		gateway) proxy=$(median1 ${CPU_GW[$k$mode]}) ;;
		pgbouncer) proxy=$(median1 ${CPU_PB[$k$mode]}) ;;
		esac
		# shellcheck disable=SC2086
		be=$(median1 ${CPU_BE[$k$mode]})
		total=$(python3 -c "
import sys
try: print(f'{sum(float(x) for x in sys.argv[1:] if x != \"—\"):.1f}')
except ValueError: print('n/a')" "$proxy" "$be")
		PROXY[$k$mode]=$proxy BACKEND[$k$mode]=$be
		name=$k
		[ "$k" != gateway ] || name="iamdb dev"
		if [ -n "$mode" ]; then what="pgbench -C -S"; rate=${CPS[$k]}; else what="pgbench -S (steady)"; rate=${TPS[$k]}; fi
		cpurow "$what" "$k" "$rate" "$([ "$proxy" = — ] && echo — || echo "$proxy ($name)")" "$be" "$total"
	done
done
say ""

# --- issue 19's targets --------------------------------------------------------------------
say "## Issue 19's targets, today (this run; the MariaDB row comes from bench/mysql.sh)"
irow() { say "$(printf '| %-58s | %-40s | %-30s | %-7s |' "$@")"; }
irow measure today target ""
irow --- --- --- ---
r=$(ratio "${TPS[gateway]}" "${TPS[direct]}")
irow "steady pgbench -S -c$C: gateway / direct" "${TPS[gateway]} / ${TPS[direct]} = $r" ">= 0.75 of direct" "$(verdict "$r" ge 0.75)"
r=$(ratio "${TPS[gateway]}" "${TPS[pgbouncer]}")
irow "steady pgbench -S -c$C: gateway / pgbouncer" "${TPS[gateway]} / ${TPS[pgbouncer]} = $r" ">= 1.5x pgbouncer" "$(verdict "$r" ge 1.5)"
irow "gateway CPU per relayed transaction (steady -S)" "${PROXY[gateway]} µs" "<= 12 µs" "$(verdict "${PROXY[gateway]}" le 12)"
irow "… below pgbouncer's own CPU per transaction" "${PROXY[gateway]} µs vs pgbouncer ${PROXY[pgbouncer]} µs" "< pgbouncer's" \
	"$(python3 -c "import sys; print('met' if float(sys.argv[1]) < float(sys.argv[2]) else 'NOT met')" "${PROXY[gateway]}" "${PROXY[pgbouncer]}" 2>/dev/null || echo n/a)"
r=$(ratio "${CPS[gateway]}" "${CPS[direct]}")
irow "new IAM TLS logins/s (pgbench -C): gateway / direct SCRAM+TLS" "${CPS[gateway]} / ${CPS[direct]} = ${r}x" ">= 10x direct" "$(verdict "$r" ge 10)"
r=$(ratio "${CPS[gateway]}" "${CPS[pgbouncer]}")
irow "… gateway / pgbouncer" "${CPS[gateway]} / ${CPS[pgbouncer]} = ${r}x" ">= 5x pgbouncer" "$(verdict "$r" ge 5)"
r=$(ratio "${CPS[gateway]}" "$CEIL")
irow "… / raw TLS 1.3 handshake ceiling" "${CPS[gateway]} / $CEIL = $r" ">= 0.50" "$(verdict "$r" ge 0.5)"
irow "memory per idle TLS client before login ($IDLE)" "${MEM[gateway]} KiB (pgbouncer ${MEM[pgbouncer]} KiB)" "<= 16 KiB" "$(verdict "${MEM[gateway]}" le 16)"
irow "memory per logged-in idle client ($IDLE_AUTH)" "${MEM[gateway-loggedin]} KiB (pgbouncer ${MEM[pgbouncer-loggedin]} KiB)" "<= 40 KiB" "$(verdict "${MEM[gateway-loggedin]}" le 40)"
say ""
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
say "results written to $OUT"
