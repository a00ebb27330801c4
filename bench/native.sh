#!/usr/bin/env bash
# bench/native.sh — native mode's benchmarks (issue 17): IAM logins that the database checks
# itself through PAM (pam_iamdb.so → iamdb's local verifier) against password logins, on the
# SAME server and the SAME port, in one run:
#
#   PostgreSQL  native  bench_iam (member of rds_iam): the token as the password over TLS,
#                       pg_hba's "hostssl … +rds_iam 127.0.0.1/32 pam pamservice=…" line
#               direct  bench_pw: SCRAM-SHA-256 over TLS
#     (a) new TLS logins/s  pgbench -n -C -S -T $T -c $C -j $J   target native ≥ 0.90× direct
#     (b) steady TPS        pgbench -n -S -T $T -c $C -j $J      target native ≥ 0.98× direct
#   MariaDB     native  bench_iam (iamdb create-db-user --native: IDENTIFIED WITH
#                       AWSAuthenticationPlugin AS 'RDS', REQUIRE SSL): the token with
#                       mysql_clear_password over TLS, checked by the plugin (no PAM)
#               pam     bench_pam (create-db-user --native --pam-service: IDENTIFIED VIA pam):
#                       the same through auth_pam_v1 and pam_iamdb.so
#               direct  bench_pw: mysql_native_password over TLS
#               floor   bench_floor: a password checked in mariadbd by bench/cleartext_floor.c
#                       after the same AuthSwitch to mysql_clear_password, asking nobody: the
#                       cost of RDS's protocol before any verification (floor / direct), and
#                       so what the verifier costs (native / floor)
#     (c) new TLS logins/s  myload -mode connect                 target native ≥ 0.90× direct
#         and pam, and pam with the hardened /etc/pam.d/other of "iamdb native-setup
#         --harden-pam-other" (libpam parses "other" at every pam_start; Debian's loads the
#         common-* stack), switched in for those runs only and restored byte for byte
#         (BENCH_HARDEN_OTHER=0 leaves the system's file alone)
#     (d) point selects/s   myload -mode select                  target native ≥ 0.98× direct
#     (c2) pam logins/s with pam_iamdb.so's keep_loaded and without it (taken out of
#          dev's PAM service file for those runs), to show what the option is worth
#
# and the CPU the iamdb dev process (the authority, whose local verifier answers the PAM
# module) spends per native login: its user+system CPU before and after each native login
# run, divided by the logins of that run. The direct runs give the same process's idle
# baseline.
#
# usage: bench/native.sh [RESULTS_FILE]     (default bench/results/native-<UTC time>.txt)
#
# Environment: BENCH_SECONDS (10) per run, BENCH_REPEAT (3) runs of each measurement,
# interleaved native/direct in ABBA order (native, direct, direct, native, …; the median is
# kept), BENCH_HARDEN_OTHER (1; 0 skips the hardened runs), BENCH_CLIENTS (8), BENCH_THREADS (2) pgbench threads, BENCH_SCALE (5) pgbench scale,
# BENCH_ROWS (100000) rows of sbtest1. Needs: root (iamdb dev turns native mode on only as
# root: the PAM service files go to /etc/pam.d), go, gcc and libpam0g-dev (dev builds
# pam_iamdb.so), psql, pgbench, mariadb, python3, the PostgreSQL and MariaDB server
# binaries, MariaDB's plugin headers (libmariadbd-dev: the plugin and the floor's), and the AWS CLI (/usr/bin/aws) or falls back to "iamdb token" for the tokens.
#
# Every server it starts (iamdb dev and with it the throwaway PostgreSQL and MariaDB) is
# stopped on exit. Loopback only; the machine's PostgreSQL (5432) and MariaDB (3306) are
# never used.
BENCH=native
source "$(dirname "$0")/lib.sh"
T=${BENCH_SECONDS:-10}
C=${BENCH_CLIENTS:-8}
J=${BENCH_THREADS:-2}
SCALE=${BENCH_SCALE:-5}
ROWS=${BENCH_ROWS:-100000}
REPEAT=${BENCH_REPEAT:-3}

NEED_PACKAGES="postgresql-client mariadb-client python3" need go psql pgbench mariadb python3
[ "$(id -u)" -eq 0 ] || die "run it as root: iamdb dev turns native mode on only as root"

# --- the hardened /etc/pam.d/other (BENCH_HARDEN_OTHER=1, the default) --------------------
# libpam parses /etc/pam.d/other at every pam_start; (c) also measures native MariaDB logins
# with the hardened one that "iamdb native-setup --harden-pam-other" writes. The system's file
# is copied to $OTHER_BACKUP first and put back byte for byte (mode and owner too) after each
# hardened run and on exit, however the script ends; a backup left by a run that could not
# restore it (SIGKILL) and differing from the current file stops the script: restore by hand.
HARDEN=${BENCH_HARDEN_OTHER:-1}
OTHER=/etc/pam.d/other
OTHER_BACKUP=/var/backups/iamdb-bench.pam-other
# other_use FILE: makes $OTHER FILE's bytes, atomically, keeping $OTHER's mode and owner.
other_use() {
	cp -p "$OTHER" "$OTHER.iamdb-bench.tmp" && cat "$1" >"$OTHER.iamdb-bench.tmp" &&
		mv -f "$OTHER.iamdb-bench.tmp" "$OTHER" && cmp -s "$1" "$OTHER"
}
other_restore() {
	[ "$HARDEN" = 1 ] && [ -f "$OTHER_BACKUP" ] || return 0
	if cmp -s "$OTHER_BACKUP" "$OTHER" || other_use "$OTHER_BACKUP"; then
		rm -f "$OTHER_BACKUP"
	else
		echo "native.sh: COULD NOT RESTORE $OTHER: the original is in $OTHER_BACKUP" >&2
	fi
}
native_cleanup() {
	local status=$?
	set +e
	other_restore
	(exit "$status")
	bench_cleanup
}
if [ "$HARDEN" = 1 ]; then
	[ -f "$OTHER" ] || die "$OTHER is missing (BENCH_HARDEN_OTHER=0 skips the hardened runs)"
	if [ -e "$OTHER_BACKUP" ] && ! cmp -s "$OTHER_BACKUP" "$OTHER"; then
		die "$OTHER_BACKUP exists and differs from $OTHER: a run that could not restore it left it; compare the two, put the right one in $OTHER, remove $OTHER_BACKUP"
	fi
	mkdir -p "$(dirname "$OTHER_BACKUP")"
	cp -p "$OTHER" "$OTHER_BACKUP"
	trap native_cleanup EXIT
fi

# order I: the ABBA order of the I-th round.
order() { if [ $(($1 % 2)) -eq 1 ]; then echo native direct; else echo direct native; fi; }

# --- the machine ---------------------------------------------------------------------------
header "iamdb native mode benchmarks (issue 17): IAM logins checked by the database (PAM, AWSAuthenticationPlugin) vs passwords, same server and port" \
	"BENCH_SECONDS=$T BENCH_REPEAT=$REPEAT BENCH_CLIENTS=$C BENCH_THREADS=$J BENCH_SCALE=$SCALE BENCH_ROWS=$ROWS" \
	"$(pgbench --version), $(/usr/lib/postgresql/*/bin/postgres --version | head -1), $( (/usr/sbin/mariadbd --version || mariadbd --version) 2>/dev/null | head -1), $(mariadb --version), $(openssl version 2>/dev/null || echo 'openssl ?')"

# --- build and start -----------------------------------------------------------------------
go build -o "$WORK/myload" ./bench/myload
# The floor's plugin (bench/cleartext_floor.c), built as pammodule builds auth_iamdb.so.
for d in /usr/include/mariadb/server /usr/include/mysql/server /usr/local/include/mariadb/server; do
	[ -f "$d/mysql/plugin_auth.h" ] && FLOOR_INC=$d && break
done
[ -n "${FLOOR_INC:-}" ] || die "MariaDB's server plugin headers are missing (apt-get install -y libmariadbd-dev)"
"${CC:-cc}" -std=c11 -O2 -Wall -Wextra -fPIC -shared -DMYSQL_DYNAMIC_PLUGIN -I"$FLOOR_INC" \
	-o "$WORK/cleartext_floor.so" bench/cleartext_floor.c || die "cannot build bench/cleartext_floor.c"
start_dev
if [ "$HARDEN" = 1 ]; then
	# The hardened other, as the product writes it (into a staging directory).
	mkdir "$WORK/pamstage"
	: >"$WORK/pamstage/pam_iamdb.so"
	bin/iamdb native-setup --engine mariadb --mariadb-auth pam --socket /run/iamdb/bench.sock --module "$WORK/pamstage/pam_iamdb.so" \
		--pam-dir "$WORK/pamstage" --cnf "$WORK/pamstage/my.cnf" --harden-pam-other --apply >"$WORK/pamstage.log" 2>&1 ||
		{ cat "$WORK/pamstage.log"; die "native-setup --harden-pam-other failed"; }
	cp "$WORK/pamstage/other" "$WORK/other.hardened"
fi
[ -n "${IAMDB_PG_NATIVE_PORT:-}" ] || die "D/env lacks IAMDB_PG_NATIVE_PORT: native mode is off (dev's log says why)"
[ -n "${IAMDB_MYSQL_NATIVE_PORT:-}" ] || die "D/env lacks IAMDB_MYSQL_NATIVE_PORT: native mode is off for MariaDB (is it installed? dev's log says why)"
[ "${IAMDB_PG_BACKEND_ADDR##*:}" = "$IAMDB_PG_NATIVE_PORT" ] || die "PostgreSQL's native port $IAMDB_PG_NATIVE_PORT is not its own port ($IAMDB_PG_BACKEND_ADDR)"
[ "${IAMDB_MYSQL_BACKEND_ADDR##*:}" = "$IAMDB_MYSQL_NATIVE_PORT" ] || die "MariaDB's native port $IAMDB_MYSQL_NATIVE_PORT is not its own port ($IAMDB_MYSQL_BACKEND_ADDR)"
PG_PORT=$IAMDB_PG_NATIVE_PORT
MY_PORT=$IAMDB_MYSQL_NATIVE_PORT
unset PGHOST PGPORT PGUSER PGDATABASE PGSSLMODE PGPASSWORD PGSERVICE PGOPTIONS
export PGCONNECT_TIMEOUT=10
PG_PID=$(pgrep -P "$DEV_PID" -x postgres | head -1)
MY_PID=$(pgrep -P "$DEV_PID" -x mariadbd | head -1)
[ -n "$PG_PID" ] && [ -n "$MY_PID" ] || die "cannot find iamdb dev's postgres and mariadbd processes"
say "iamdb dev: pid $DEV_PID; PostgreSQL 127.0.0.1:$PG_PORT and MariaDB 127.0.0.1:$MY_PORT, native and password logins on the same port"

# ===========================================================================================
# PostgreSQL
# ===========================================================================================
ADMIN_PW=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).password))' "$IAMDB_PG_ADMIN_URL")
PG_ADMIN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres sslmode=verify-full sslrootcert=$IAMDB_CA_FILE"
BENCH_PW=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
PGPASSWORD=$ADMIN_PW psql -X -q -v ON_ERROR_STOP=1 -d "$PG_ADMIN" \
	-c "CREATE USER bench_iam WITH LOGIN; GRANT rds_iam TO bench_iam;" \
	-c "CREATE USER bench_pw WITH LOGIN PASSWORD '$BENCH_PW';"
PGPASSWORD=$ADMIN_PW pgbench -i -q -s "$SCALE" "$PG_ADMIN" >"$WORK/init.log" 2>&1 || { cat "$WORK/init.log"; die "pgbench -i failed"; }
PGPASSWORD=$ADMIN_PW psql -X -q -v ON_ERROR_STOP=1 -d "$PG_ADMIN" \
	-c "GRANT SELECT ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO bench_iam, bench_pw;"

# The token for PostgreSQL's own port, as the README makes it (valid 15 minutes: the
# PostgreSQL part takes about 2.5 minutes with the defaults).
mint_token "$PG_PORT" bench_iam
PG_TOKEN=$TOKEN
say "token by: $TOKEN_BY (PostgreSQL: ${#PG_TOKEN} bytes)"

declare -A CONN PASS
CONN[native]="host=127.0.0.1 port=$PG_PORT user=bench_iam dbname=postgres sslmode=require"
PASS[native]=$PG_TOKEN
CONN[direct]="host=127.0.0.1 port=$PG_PORT user=bench_pw dbname=postgres sslmode=require"
PASS[direct]=$BENCH_PW
for k in native direct; do
	got=$(PGPASSWORD=${PASS[$k]} psql -X -At -d "${CONN[$k]}" -c "select current_user || ' ' || coalesce((select version from pg_stat_ssl where pid = pg_backend_pid()), 'no-ssl')") ||
		die "PostgreSQL $k: cannot log in"
	say "check PostgreSQL $k: $got"
done
# The native login really goes through PAM: a wrong token is refused with PAM's wording.
if refused=$(PGPASSWORD=not-a-token psql -X -At -d "${CONN[native]}" -c "select 1" 2>&1); then
	die "PostgreSQL native: a wrong token was accepted"
fi
grep -q 'PAM authentication failed for user "bench_iam"' <<<"$refused" || die "PostgreSQL native: unexpected refusal: $refused"
say "check PostgreSQL native, wrong token: refused by PAM (FATAL: PAM authentication failed for user \"bench_iam\")"
say ""

declare -A RUNS CPU OPS ALL
# pg_run MODE KEY I: one pgbench run; MODE is -C (reconnect) or "" (connections kept).
pg_run() {
	local mode=$1 k=$2 i=$3 f="$WORK/pg-$2$1-$3.txt" c0 c1 s0 s1 cl tx failed
	c0=$(cpu_ms "$DEV_PID") s0=$(tree_cpu_ms "$PG_PID")
	: >"$f.cpu"
	# shellcheck disable=SC2086
	PGPASSWORD=${PASS[$k]} timed_ms "$f.cpu" pgbench -n $mode -S -T "$T" -c "$C" -j "$J" "${CONN[$k]}" >"$f" 2>&1 ||
		{ cat "$f"; die "pgbench $mode $k failed"; }
	sleep 0.2 # the postmaster reaps the last backends (tree_cpu_ms counts live ones too)
	c1=$(cpu_ms "$DEV_PID") s1=$(tree_cpu_ms "$PG_PID") cl=$(cat "$f.cpu")
	tx=$(txs "$f")
	ALL[pg$mode-$k]=$((${ALL[pg$mode-$k]:-0} + c1 - c0 + s1 - s0 + cl))
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$f")
	RUNS[pg$mode-$k]="${RUNS[pg$mode-$k]:-} $(tps "$f")"
	CPU[pg$mode-$k]=$((${CPU[pg$mode-$k]:-0} + c1 - c0))
	OPS[pg$mode-$k]=$((${OPS[pg$mode-$k]:-0} + tx))
	local per=transaction
	[ "$mode" = -C ] && per=login
	say "$(printf '  run %d %-7s %10s tps  (%s; failed: %s; iamdb dev CPU %d ms = %s µs per %s; CPU per %s: PostgreSQL %s µs, pgbench %s µs)' "$i" "$k" "$(tps "$f")" \
		"$(grep -E '^(average connection time|latency average)' "$f" | tr '\n' ';' | sed 's/;$//')" "${failed:-0}" \
		"$((c1 - c0))" "$(per_op_us "$((c1 - c0))" "$tx")" "$per" "$per" "$(per_op_us "$((s1 - s0))" "$tx")" "$(per_op_us "$cl" "$tx")")"
}
declare -A MED
# medians PREFIX WHAT: MED[PREFIX-K] is the median of RUNS[PREFIX-K]; says them.
medians() {
	local k
	for k in native direct; do
		# shellcheck disable=SC2086
		MED[$1-$k]=$(median ${RUNS[$1-$k]})
		say "$(printf '%-7s %10s %s' "$k" "${MED[$1-$k]}" "$2")"
	done
}

say "## (a) PostgreSQL: new TLS logins per second: pgbench -n -C -S -T $T -c $C -j $J (reconnect per transaction), median of $REPEAT"
for i in $(seq 1 "$REPEAT"); do
	for k in $(order "$i"); do pg_run -C "$k" "$i"; done
done
medians pg-C "logins/s (median)"
say ""
say "## (b) PostgreSQL: steady select-only TPS: pgbench -n -S -T $T -c $C -j $J (connections kept), median of $REPEAT"
for i in $(seq 1 "$REPEAT"); do
	for k in $(order "$i"); do pg_run "" "$k" "$i"; done
done
medians pg "tps (median)"
say ""

# ===========================================================================================
# MariaDB
# ===========================================================================================
admin() { mariadb --no-defaults --protocol=tcp --host=127.0.0.1 --port="$MY_PORT" --user="$IAMDB_MYSQL_ADMIN_USER" \
	--password="$IAMDB_MYSQL_ADMIN_PASSWORD" --ssl-ca="$IAMDB_CA_FILE" --ssl-verify-server-cert --batch "$@"; }
# bench_iam: a native user, made as the docs say (IDENTIFIED WITH AWSAuthenticationPlugin,
# REQUIRE SSL, rds_iam); bench_pam: the same through PAM (IDENTIFIED VIA pam USING the dev
# service); bench_pw: mysql_native_password, REQUIRE SSL as well.
bin/iamdb create-db-user --native --mysql "$IAMDB_MYSQL_ADMIN_DSN" --ca-file "$IAMDB_CA_FILE" bench_iam >"$WORK/dbuser.log" 2>&1 ||
	{ cat "$WORK/dbuser.log"; die "create-db-user --native failed"; }
bin/iamdb create-db-user --native --pam-service "$IAMDB_MYSQL_PAM_SERVICE" --mysql "$IAMDB_MYSQL_ADMIN_DSN" --ca-file "$IAMDB_CA_FILE" bench_pam >>"$WORK/dbuser.log" 2>&1 ||
	{ cat "$WORK/dbuser.log"; die "create-db-user --native --pam-service failed"; }
admin -e "CREATE DATABASE bench;
CREATE USER 'bench_pw'@'%' IDENTIFIED WITH mysql_native_password USING PASSWORD('$BENCH_PW') REQUIRE SSL;
GRANT SELECT ON bench.* TO 'bench_iam'@'%', 'bench_pam'@'%', 'bench_pw'@'%';"
# bench_floor: the floor's user, in dev's throwaway server only (its plugin directory is its own).
install -m 0755 "$WORK/cleartext_floor.so" "$(admin -N -e "SELECT @@plugin_dir")/cleartext_floor.so"
admin -e "INSTALL SONAME 'cleartext_floor';
CREATE USER 'bench_floor'@'%' IDENTIFIED WITH bench_cleartext_floor AS '$BENCH_PW' REQUIRE SSL;
GRANT SELECT ON bench.* TO 'bench_floor'@'%';"
[ "$(admin -N -e "SELECT plugin FROM mysql.user WHERE user = 'bench_iam'")" = AWSAuthenticationPlugin ] ||
	die "bench_iam is not an AWSAuthenticationPlugin user: iamdb dev could not build the plugin (apt-get install -y libmariadbd-dev)"
say "MariaDB users: $(admin -N -e "SELECT GROUP_CONCAT(CONCAT(user, ' ', plugin, IF(authentication_string = '', '', CONCAT(' ', IF(plugin IN ('pam', 'AWSAuthenticationPlugin'), authentication_string, '<hash>'))), ' ssl_type=', ssl_type) ORDER BY user SEPARATOR '; ') FROM mysql.user WHERE user LIKE 'bench%'")"
MYLOAD_PASSWORD=$IAMDB_MYSQL_ADMIN_PASSWORD "$WORK/myload" -mode prepare -addr "127.0.0.1:$MY_PORT" \
	-user "$IAMDB_MYSQL_ADMIN_USER" -ca "$IAMDB_CA_FILE" -server-name localhost -rows "$ROWS" >>"$OUT"

mint_token "$MY_PORT" bench_iam
MY_TOKEN=$TOKEN
mint_token "$MY_PORT" bench_pam
PAM_TOKEN=$TOKEN
say "token by: $TOKEN_BY (MariaDB: ${#MY_TOKEN} bytes)"

declare -A ARGS
ARGS[native]="-addr 127.0.0.1:$MY_PORT -user bench_iam -server-name localhost"
PASS[native]=$MY_TOKEN
ARGS[direct]="-addr 127.0.0.1:$MY_PORT -user bench_pw -server-name localhost"
PASS[direct]=$BENCH_PW
ARGS[pam]="-addr 127.0.0.1:$MY_PORT -user bench_pam -server-name localhost"
PASS[pam]=$PAM_TOKEN
ARGS[floor]="-addr 127.0.0.1:$MY_PORT -user bench_floor -server-name localhost"
PASS[floor]=$BENCH_PW
for k in native direct pam floor; do
	# shellcheck disable=SC2086
	MYLOAD_PASSWORD=${PASS[$k]} "$WORK/myload" -mode connect -c 1 -d 200ms ${ARGS[$k]} -ca "$IAMDB_CA_FILE" -db bench >"$WORK/check" 2>&1 || true
	grep -q ', 0 failed$' "$WORK/check" || { cat "$WORK/check"; die "MariaDB $k: cannot log in"; }
	say "check MariaDB $k: $(sed -n 's/^myload connect: //p' "$WORK/check")"
done
for k in native pam floor; do
	# shellcheck disable=SC2086
	if refused=$(MYLOAD_PASSWORD=not-a-token "$WORK/myload" -mode connect -c 1 -d 100ms ${ARGS[$k]} -ca "$IAMDB_CA_FILE" -db bench 2>&1) &&
		grep -q ', 0 failed$' <<<"$refused"; then
		die "MariaDB $k: a wrong token was accepted"
	fi
	say "check MariaDB $k, wrong token: refused"
done
say ""

# my_run MODE KEY I: one myload run.
my_run() {
	local mode=$1 k=$2 i=$3 out="$WORK/my-$1-$2-$3" c0 c1 s0 s1 cl n
	c0=$(cpu_ms "$DEV_PID") s0=$(cpu_ms "$MY_PID")
	: >"$out.cpu"
	# shellcheck disable=SC2086
	MYLOAD_PASSWORD=${PASS[$k]} timed_ms "$out.cpu" "$WORK/myload" -mode "$mode" -c "$C" -d "${T}s" ${ARGS[$k]} -ca "$IAMDB_CA_FILE" -db bench -rows "$ROWS" >"$out" 2>&1
	c1=$(cpu_ms "$DEV_PID") s1=$(cpu_ms "$MY_PID") cl=$(cat "$out.cpu")
	grep -q ', 0 failed$' "$out" || { cat "$out"; die "myload $mode $k: failures"; }
	n=$(count "$out")
	RUNS[my$mode-$k]="${RUNS[my$mode-$k]:-} $(rate "$out")"
	CPU[my$mode-$k]=$((${CPU[my$mode-$k]:-0} + c1 - c0))
	OPS[my$mode-$k]=$((${OPS[my$mode-$k]:-0} + ${n:-0}))
	ALL[my$mode-$k]=$((${ALL[my$mode-$k]:-0} + c1 - c0 + s1 - s0 + cl))
	local per=query
	[ "$mode" = connect ] && per=login
	say "$(printf '  run %d %-7s %10s /s  (%s; iamdb dev CPU %d ms = %s µs per %s; CPU per %s: mariadbd %s µs, myload %s µs)' "$i" "$k" "$(rate "$out")" \
		"$(sed -n 's/^myload [a-z]*: //p' "$out")" "$((c1 - c0))" "$(per_op_us "$((c1 - c0))" "${n:-0}")" "$per" "$per" \
		"$(per_op_us "$((s1 - s0))" "${n:-0}")" "$(per_op_us "$cl" "${n:-0}")")"
}

say "## (c) MariaDB: new TLS logins per second: myload -mode connect -c $C -d ${T}s (connect, select 1, close), median of $REPEAT"
if [ "$HARDEN" = 1 ]; then
	say "   native: AWSAuthenticationPlugin; pam: through PAM with the system's $OTHER; hardened: pam with the hardened $OTHER (iamdb native-setup --harden-pam-other), switched in for those runs only; direct: password logins; floor: the AuthSwitch to mysql_clear_password and a password checked in mariadbd (bench/cleartext_floor.c), no verifier"
fi
for i in $(seq 1 "$REPEAT"); do
	keys="$(order "$i" | sed 's/ / floor /') pam"
	[ "$HARDEN" = 1 ] && keys="$keys hardened"
	for k in $keys; do
		if [ "$k" = hardened ]; then
			ARGS[hardened]=${ARGS[pam]} PASS[hardened]=${PASS[pam]}
			other_use "$WORK/other.hardened"
			my_run connect "$k" "$i"
			other_use "$OTHER_BACKUP"
		else
			my_run connect "$k" "$i"
		fi
	done
done
medians myconnect "logins/s (median)"
for k in floor pam $([ "$HARDEN" = 1 ] && echo hardened); do
	# shellcheck disable=SC2086
	MED[myconnect-$k]=$(median ${RUNS[myconnect-$k]})
	say "$(printf '%-7s %10s %s' "$k" "${MED[myconnect-$k]}" "logins/s (median)")"
done
say ""

# keep_loaded's share: the same native logins with the option taken out of dev's PAM service
# file (libpam reads it at every pam_start), ABBA against the file as written; then restored.
PAMFILE=/etc/pam.d/$IAMDB_MYSQL_PAM_SERVICE
grep -q ' keep_loaded' "$PAMFILE" || die "$PAMFILE has no keep_loaded"
cp "$PAMFILE" "$WORK/pam.keep"
sed 's/ keep_loaded//' "$WORK/pam.keep" >"$WORK/pam.nokeep"
say "## (c2) MariaDB pam logins with and without pam_iamdb.so's keep_loaded ($PAMFILE), as (c) with $C clients and with 1 (logins one at a time), median of $REPEAT"
C_ALL=$C
for C in "$C_ALL" 1; do
	for k in keep unload; do ARGS[$k$C]=${ARGS[pam]} PASS[$k$C]=${PASS[pam]}; done
	for i in $(seq 1 "$REPEAT"); do
		for k in $(order "$i" | sed 's/native/keep/; s/direct/unload/'); do
			cp "$WORK/pam.$([ "$k" = keep ] && echo keep || echo nokeep)" "$PAMFILE"
			my_run connect "$k$C" "$i"
		done
	done
	for k in keep unload; do
		# shellcheck disable=SC2086
		MED[myconnect-$k$C]=$(median ${RUNS[myconnect-$k$C]})
		say "$(printf '%-7s %2d clients %10s logins/s (median); CPU per login (client + mariadbd + iamdb dev) %s µs' "$k" "$C" "${MED[myconnect-$k$C]}" "$(per_op_us "${ALL[myconnect-$k$C]}" "${OPS[myconnect-$k$C]}")")"
	done
done
C=$C_ALL
cp "$WORK/pam.keep" "$PAMFILE"
say ""
say "## (d) MariaDB: steady point selects per second: myload -mode select -c $C -d ${T}s (prepared SELECT c FROM sbtest1 WHERE id = ?), median of $REPEAT"
for i in $(seq 1 "$REPEAT"); do
	for k in $(order "$i"); do my_run select "$k" "$i"; done
done
medians myselect "selects/s (median)"
say ""

# --- summary -------------------------------------------------------------------------------
met() { python3 -c "
import sys
try: print('yes' if float(sys.argv[1]) >= float(sys.argv[2]) else '**NO**')
except ValueError: print('n/a')" "$1" "$2"; }
say "## Summary (medians of $REPEAT runs, native and direct interleaved on the same server and port)"
say "| measurement | native (IAM token: PostgreSQL via PAM, MariaDB via AWSAuthenticationPlugin) | direct (password) | native / direct | target | met |"
say "|---|---|---|---|---|---|"
# row LABEL NATIVE DIRECT RATIO TARGET: one line of a summary table.
row() { say "| $1 | $2 | $3 | **$4×** | ≥ $5× | $(met "$4" "$5") |"; }
# line LABEL KEY TARGET: the medians' row; native / direct.
line() { row "$1" "${MED[$2-native]}" "${MED[$2-direct]}" "$(ratio "${MED[$2-native]}" "${MED[$2-direct]}")" "$3"; }
line "(a) PostgreSQL new TLS logins/s (\`pgbench -C -S\`; direct: SCRAM-SHA-256)" pg-C 0.90
line "(b) PostgreSQL steady \`pgbench -S\` tps" pg 0.98
line "(c) MariaDB new TLS logins/s (\`myload -mode connect\`; direct: mysql_native_password)" myconnect 0.90
say "| (c) … the floor: the AuthSwitch to mysql_clear_password, a password checked in mariadbd, no verifier | ${MED[myconnect-floor]} | ${MED[myconnect-direct]} | **$(ratio "${MED[myconnect-floor]}" "${MED[myconnect-direct]}")×** | — | — |"
say "| (c) … native / floor: what the verifier costs a login beyond the protocol | ${MED[myconnect-native]} | ${MED[myconnect-floor]} (floor) | **$(ratio "${MED[myconnect-native]}" "${MED[myconnect-floor]}")×** | — | — |"
row "(c) … through PAM (auth_pam_v1, pam_iamdb.so)" "${MED[myconnect-pam]}" "${MED[myconnect-direct]}" "$(ratio "${MED[myconnect-pam]}" "${MED[myconnect-direct]}")" 0.90
if [ "$HARDEN" = 1 ]; then
	row "(c) … through PAM with the hardened $OTHER" "${MED[myconnect-hardened]}" "${MED[myconnect-direct]}" "$(ratio "${MED[myconnect-hardened]}" "${MED[myconnect-direct]}")" 0.90
fi
line "(d) MariaDB point selects/s (\`myload -mode select\`)" myselect 0.98
for c in "$C" 1; do
	say "| (c2) MariaDB pam logins/s, $c client(s): keep_loaded / without it | ${MED[myconnect-keep$c]} | ${MED[myconnect-unload$c]} | **$(ratio "${MED[myconnect-keep$c]}" "${MED[myconnect-unload$c]}")×** | — | — |"
done
say ""
say "iamdb dev process CPU (the local verifier's cost), summed over the $REPEAT login runs:"
for p in pg-C myconnect; do
	name=PostgreSQL
	[ "$p" = myconnect ] && name=MariaDB
	say "$(printf '  %-10s native: %6d ms / %7d logins = %4s µs per login;  direct (baseline, no verifier): %6d ms / %7d logins = %4s µs' "$name" \
		"${CPU[$p-native]}" "${OPS[$p-native]}" "$(per_op_us "${CPU[$p-native]}" "${OPS[$p-native]}")" \
		"${CPU[$p-direct]}" "${OPS[$p-direct]}" "$(per_op_us "${CPU[$p-direct]}" "${OPS[$p-direct]}")")"
done
say ""
say "CPU per operation of the whole system (client + database server + iamdb dev), summed over the $REPEAT runs."
say "direct / native is the rate ratio where the two cores are the limit; unlike the rates, it"
say "hardly moves when other work shares the machine:"
say "| measurement | native µs | direct µs | direct / native | target | met |"
say "|---|---|---|---|---|---|"
# cpuline LABEL KEY TARGET: the CPU per operation's row; direct / native.
cpuline() {
	local n d
	n=$(per_op_us "${ALL[$2-native]}" "${OPS[$2-native]}") d=$(per_op_us "${ALL[$2-direct]}" "${OPS[$2-direct]}")
	row "$1" "$n" "$d" "$(ratio "$d" "$n")" "$3"
}
cpuline "(a) PostgreSQL login (\`pgbench -C -S\`)" pg-C 0.90
cpuline "(b) PostgreSQL \`pgbench -S\` transaction" pg 0.98
cpuline "(c) MariaDB login (\`myload -mode connect\`)" myconnect 0.90
FLOOR_US=$(per_op_us "${ALL[myconnect-floor]}" "${OPS[myconnect-floor]}")
say "| (c) … the floor (no verifier) | $FLOOR_US | $(per_op_us "${ALL[myconnect-direct]}" "${OPS[myconnect-direct]}") | **$(ratio "$(per_op_us "${ALL[myconnect-direct]}" "${OPS[myconnect-direct]}")" "$FLOOR_US")×** | — | — |"
say "| (c) … floor / native: the verifier's share | $(per_op_us "${ALL[myconnect-native]}" "${OPS[myconnect-native]}") | $FLOOR_US (floor) | **$(ratio "$FLOOR_US" "$(per_op_us "${ALL[myconnect-native]}" "${OPS[myconnect-native]}")")×** | — | — |"
for k in pam $([ "$HARDEN" = 1 ] && echo hardened); do
	n=$(per_op_us "${ALL[myconnect-$k]}" "${OPS[myconnect-$k]}") d=$(per_op_us "${ALL[myconnect-direct]}" "${OPS[myconnect-direct]}")
	row "(c) … $k" "$n" "$d" "$(ratio "$d" "$n")" 0.90
done
cpuline "(d) MariaDB point select" myselect 0.98
say ""
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
say "results written to $OUT"
