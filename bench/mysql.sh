#!/usr/bin/env bash
# bench/mysql.sh — the MySQL gateway's benchmarks, side by side in one run (issue 6):
# resident memory per idle client connection, new TLS connections per second and steady
# point selects per second, for
#
#   gateway   bin/iamdb dev (a separate process): IAM token as the password
#             (mysql_clear_password over TLS), the gateway logs in to MariaDB with a client
#             certificate and pools backend sessions
#   direct    the same throwaway MariaDB, straight to its port: mysql_native_password + TLS
#
# usage: bench/mysql.sh [RESULTS_FILE]     (default bench/results/mysql-<UTC time>.txt)
#
# Both are driven by bench/myload (go-sql-driver/mysql, TLS verified against the dev CA):
# "connect" opens a connection, runs select 1 and closes it, in a loop on each client
# (pgbench -C's pattern); "select" keeps the connections and runs prepared primary-key
# point selects on sysbench's sbtest1 table (oltp_point_select's query).
#
# Memory first, while the gateway process is fresh, as bench/pg.sh: bench/idleconns holds
# BENCH_IDLE (2000) connections waiting for the password (TLS up, handshake response sent,
# the gateway's switch to mysql_clear_password unanswered), opened from 8 source addresses
# (iamdb dev's per-address limit on connections not logged in), then BENCH_IDLE_AUTH (200)
# logged in with the token and idle (each holds a backend session: MariaDB's
# max_connections is 300); VmRSS of iamdb dev before and after.
#
# Environment: BENCH_SECONDS (10) per run, BENCH_REPEAT (3) runs of each measurement
# (interleaved gateway, direct, gateway, …; the median is kept), BENCH_CLIENTS (8),
# BENCH_ROWS (100000) rows of sbtest1, BENCH_IDLE, BENCH_IDLE_AUTH. Needs: go, mariadb (the client), python3, the
# MariaDB server binaries, and the AWS CLI (/usr/bin/aws) or falls back to "iamdb token".
#
# CPU per transaction, side by side (issue 19): every run reads user+system CPU from
# /proc/PID/stat before and after, of the iamdb dev process (the gateway) and of the
# throwaway mariadbd (with any process under it), and divides by myload's count. After the
# measured runs of each section, one more gateway run (not in the medians) is profiled
# through iamdb dev --pprof: a CPU and an allocation profile, $PROF-connect-*.pprof and
# $PROF-select-*.pprof beside the results file, their top 25 functions printed into it. At
# the end, issue 19's targets that this script measures, met or NOT met.
#
# Every server it starts (iamdb dev and with it the throwaway MariaDB and PostgreSQL) is
# stopped on exit. Loopback only; the machine's MariaDB (3306) is never used.
BENCH=mysql
source "$(dirname "$0")/lib.sh"
T=${BENCH_SECONDS:-10}
C=${BENCH_CLIENTS:-8}
ROWS=${BENCH_ROWS:-100000}
REPEAT=${BENCH_REPEAT:-3}
IDLE=${BENCH_IDLE:-2000}
IDLE_AUTH=${BENCH_IDLE_AUTH:-200}

NEED_PACKAGES="mariadb-client mariadb-server python3 curl iproute2" need go mariadb python3 curl ss
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -gt $((IDLE + 500)) ] || die "ulimit -n is $(ulimit -n): too low for $IDLE idle connections"

# --- the machine ---------------------------------------------------------------------------
header "iamdb MySQL gateway benchmarks" \
	"BENCH_SECONDS=$T BENCH_REPEAT=$REPEAT BENCH_CLIENTS=$C BENCH_ROWS=$ROWS BENCH_IDLE=$IDLE BENCH_IDLE_AUTH=$IDLE_AUTH" \
	"$( (/usr/sbin/mariadbd --version || mariadbd --version) 2>/dev/null | head -1), $(mariadb --version)"

# --- build and start -----------------------------------------------------------------------
go build -o "$WORK/myload" ./bench/myload
go build -o "$WORK/idleconns" ./bench/idleconns
start_dev --pprof
[ -n "${IAMDB_MYSQL_BACKEND_ADDR:-}" ] || die "D/env lacks IAMDB_MYSQL_BACKEND_ADDR (is MariaDB installed?)"
[ -n "${IAMDB_OPS_ADDR:-}" ] || die "D/env lacks IAMDB_OPS_ADDR"
BE_HOST=${IAMDB_MYSQL_BACKEND_ADDR%:*}
BE_PORT=${IAMDB_MYSQL_BACKEND_ADDR##*:}
BE_PID=$(listen_pid "$BE_PORT") # mariadbd
[ -n "$BE_PID" ] || die "no process listens on the backend's port $BE_PORT"
GW_PORT=$IAMDB_MYSQL_PORT
GW_PID=$DEV_PID # the gateway runs in the iamdb dev process

# Users: bench_iam (rds_iam: token only, through the gateway), bench_pw
# (mysql_native_password, direct). sbtest1 in database bench.
BENCH_PW=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
admin() { mariadb --no-defaults --protocol=tcp --host="$BE_HOST" --port="$BE_PORT" --user="$IAMDB_MYSQL_ADMIN_USER" \
	--password="$IAMDB_MYSQL_ADMIN_PASSWORD" --ssl-ca="$IAMDB_CA_FILE" --ssl-verify-server-cert --batch "$@"; }
admin -e "CREATE DATABASE bench;
CREATE USER 'bench_iam'@'%' REQUIRE SUBJECT '/CN=bench_iam'; GRANT rds_iam TO 'bench_iam'@'%'; SET DEFAULT ROLE rds_iam FOR 'bench_iam'@'%';
CREATE USER 'bench_pw'@'%' IDENTIFIED BY '$BENCH_PW';
GRANT SELECT ON bench.* TO 'bench_iam'@'%', 'bench_pw'@'%';"
MYLOAD_PASSWORD=$IAMDB_MYSQL_ADMIN_PASSWORD "$WORK/myload" -mode prepare -addr "$IAMDB_MYSQL_BACKEND_ADDR" \
	-user "$IAMDB_MYSQL_ADMIN_USER" -ca "$IAMDB_CA_FILE" -server-name "$BE_HOST" -rows "$ROWS" >>"$OUT"

mint_token "$GW_PORT" bench_iam

# The two targets. 127.0.0.1 everywhere; the token is signed for localhost, which the
# gateway accepts on either of its names.
declare -A ARGS PASS
ARGS[gateway]="-addr 127.0.0.1:$GW_PORT -user bench_iam -server-name localhost"
PASS[gateway]=$TOKEN
ARGS[direct]="-addr $BE_HOST:$BE_PORT -user bench_pw -server-name $BE_HOST"
PASS[direct]=$BENCH_PW
for k in gateway direct; do
	# shellcheck disable=SC2086
	MYLOAD_PASSWORD=${PASS[$k]} "$WORK/myload" -mode connect -c 1 -d 200ms ${ARGS[$k]} -ca "$IAMDB_CA_FILE" -db bench >"$WORK/check" 2>&1 || true
	grep -q ', 0 failed$' "$WORK/check" || { cat "$WORK/check"; die "$k: cannot log in"; }
done
say "token by: $TOKEN_BY (${#TOKEN} bytes)"
say ""

# run MODE KEY I: one myload run; I is the run's number or "profiled". Sets N (myload's
# count) and GW, BE: µs of CPU per one of them of the iamdb dev process and of mariadbd.
run() {
	local mode=$1 k=$2 i=$3 out="$WORK/$1-$2-$3" g0 g1 b0 b1
	g0=$(cpu_ms "$GW_PID") b0=$(tree_cpu_ms "$BE_PID")
	# shellcheck disable=SC2086
	MYLOAD_PASSWORD=${PASS[$k]} "$WORK/myload" -mode "$mode" -c "$C" -d "${T}s" ${ARGS[$k]} -ca "$IAMDB_CA_FILE" -db bench -rows "$ROWS" >"$out" 2>&1
	g1=$(cpu_ms "$GW_PID") b1=$(tree_cpu_ms "$BE_PID")
	grep -q ', 0 failed$' "$out" || { cat "$out"; die "$mode $k: failures"; }
	N=$(count "$out") RATE=$(rate "$out")
	GW=$(us_per "$g0" "$g1" "$N") BE=$(us_per "$b0" "$b1" "$N")
	say "  $mode $k run $i: $RATE/s  (CPU µs per $mode: iamdb dev $GW, mariadbd $BE)"
}

# measure MODE: runs myload MODE on both targets, interleaved, $REPEAT times, then the
# gateway once more under profile MODE.
declare -A RESULT CPU_GW CPU_BE
measure() {
	local mode=$1 k i
	local -A runs gws bes
	for i in $(seq 1 "$REPEAT"); do
		for k in gateway direct; do
			run "$mode" "$k" "$i"
			runs[$k]="${runs[$k]:-} $RATE" gws[$k]="${gws[$k]:-} $GW" bes[$k]="${bes[$k]:-} $BE"
		done
	done
	for k in gateway direct; do
		# shellcheck disable=SC2086
		RESULT[$mode-$k]=$(median ${runs[$k]}) CPU_GW[$mode-$k]=$(median1 ${gws[$k]}) CPU_BE[$mode-$k]=$(median1 ${bes[$k]})
	done
	say "  (one more gateway run, profiled: CPU and allocations over its ${T}s; not in the medians)"
	profile_start "$mode" "$T"
	run "$mode" gateway profiled
	profile_end "$mode" "$N" "$mode"
}

say "## 1. Resident memory per idle TLS client connection (VmRSS before and after, /proc/PID/status)"
say "(first, while the gateway process is fresh: a Go heap that grew and shrank earlier would blur the deltas)"
declare -A MEM
for st in auth:"$IDLE_AUTH" startup:"$IDLE"; do
	name=gateway-loggedin
	[ "${st%%:*}" = auth ] || name=gateway
	hold_mem "$name" "$name (${st%%:*})" "$GW_PID" env MYSQL_PWD="$TOKEN" "$WORK/idleconns" -engine mysql \
		-addr "127.0.0.1:$GW_PORT" -user bench_iam -db bench -n "${st#*:}" -state "${st%%:*}" -sources 8
done
say "(startup: TLS established, handshake response sent, the gateway's switch to mysql_clear_password unanswered;"
say " auth: logged in with the token and idle; the backend sessions' memory lives in MariaDB, not in this RSS)"
say ""

say "## 2. New TLS connections per second (myload -mode connect -c $C -d ${T}s: connect, select 1, close)"
measure connect
login_split connect mysql
pool_checks
say ""
say "## 3. Steady point selects per second (myload -mode select -c $C -d ${T}s: prepared SELECT c FROM sbtest1 WHERE id = ?)"
measure select
say ""

say "## Summary (medians of $REPEAT runs)"
say "| measurement | gateway | direct MariaDB | gateway / direct |"
say "|---|---|---|---|"
say "| new TLS connections/s (IAM token vs native password) | ${RESULT[connect-gateway]} | ${RESULT[connect-direct]} | $(ratio "${RESULT[connect-gateway]}" "${RESULT[connect-direct]}")× |"
say "| point selects/s, connections kept | ${RESULT[select-gateway]} | ${RESULT[select-direct]} | $(ratio "${RESULT[select-gateway]}" "${RESULT[select-direct]}")× |"
say ""

say "## CPU per transaction, side by side (µs of user+system CPU per myload operation, /proc/PID/stat, medians of $REPEAT runs)"
say "(proxy: the iamdb dev process; backend: the throwaway mariadbd. A connect operation is a new TLS connection, a login and select 1.)"
say "| phase | target | per second | proxy CPU µs/op | backend µs/op | total µs/op |"
say "|---|---|---|---|---|---|"
for mode in select connect; do
	for k in gateway direct; do
		proxy=—
		[ "$k" != gateway ] || proxy=${CPU_GW[$mode-$k]}
		say "| myload $mode | $k | ${RESULT[$mode-$k]} | $proxy$([ "$k" != gateway ] || echo " (iamdb dev)") | ${CPU_BE[$mode-$k]} | $(python3 -c "
import sys
try: print(f'{sum(float(x) for x in sys.argv[1:] if x != \"—\"):.1f}')
except ValueError: print('n/a')" "$proxy" "${CPU_BE[$mode-$k]}") |"
	done
done
say ""

say "## Issue 19's targets that this script measures, today (the rest come from bench/pg.sh)"
say "| measure | today | target | |"
say "|---|---|---|---|"
r=$(ratio "${RESULT[select-gateway]}" "${RESULT[select-direct]}")
say "| MariaDB point selects, gateway / direct | ${RESULT[select-gateway]} / ${RESULT[select-direct]} = $r | >= 0.75 | $(verdict "$r" ge 0.75) |"
say "| gateway CPU per relayed point select (the relay target, MySQL side) | ${CPU_GW[select-gateway]} µs | <= 12 µs | $(verdict "${CPU_GW[select-gateway]}" le 12) |"
say "| memory per idle TLS client before login ($IDLE) | ${MEM[gateway]} KiB | <= 16 KiB | $(verdict "${MEM[gateway]}" le 16) |"
say "| memory per logged-in idle client ($IDLE_AUTH) | ${MEM[gateway-loggedin]} KiB | <= 40 KiB | $(verdict "${MEM[gateway-loggedin]}" le 40) |"
say ""
say "results: $OUT"
