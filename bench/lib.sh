# bench/lib.sh — what the gateway benchmarks (bench/pg.sh, bench/mysql.sh) source: the
# results file and say/die, a work directory with the cleanup of everything they start,
# iamdb dev started with its D/env sourced, the header naming the machine, a token minted as
# the README does, the arithmetic of medians and ratios, and holders of idle connections.
#
# Before sourcing: BENCH (the script's short name: pg, mysql) and the script's arguments.
# After: $ROOT (the repository, the current directory), $OUT (the results file, from $1 or
# bench/results/$BENCH-<UTC time>.txt), $WORK (a temporary directory), and BENCH_PIDS, an
# array: the pid of every other process a benchmark starts goes in it, to be stopped on exit
# before iamdb dev.
set -euo pipefail

BENCH_ARGS="$*"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=${1:-bench/results/$BENCH-$(date -u +%Y%m%dT%H%M%SZ).txt}
mkdir -p "$(dirname "$OUT")"
: >"$OUT"

say() { printf '%s\n' "$*" | tee -a "$OUT"; }
die() { say "$BENCH.sh: $*"; exit 1; }

WORK=$(mktemp -d /tmp/iamdb-bench.XXXXXX)
chmod 755 "$WORK"
DEV="$WORK/dev"
DEV_PID=
BENCH_PIDS=()
bench_cleanup() {
	local status=$?
	set +e
	if [ "$status" -ne 0 ] && [ -f "$WORK/dev.log" ]; then
		echo "$BENCH.sh: failed ($status); the end of iamdb dev's log:" >&2
		tail -n 40 "$WORK/dev.log" >&2
		[ -n "$DEV_PID" ] && ! kill -0 "$DEV_PID" 2>/dev/null && echo "$BENCH.sh: iamdb dev (pid $DEV_PID) is no longer running" >&2
	fi
	local pid
	for pid in "${BENCH_PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	if [ -n "$DEV_PID" ]; then
		kill -INT "$DEV_PID" 2>/dev/null # drains, then stops and removes the throwaway servers
		for _ in $(seq 1 300); do kill -0 "$DEV_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DEV_PID" 2>/dev/null
		wait "$DEV_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# need TOOL… dies naming the packages in $NEED_PACKAGES unless every TOOL is on PATH.
need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || die "$tool is missing (apt-get install -y $NEED_PACKAGES)"
	done
}

# header TITLE SETTINGS SOFTWARE: the results' first lines: what ran, where, on what.
header() {
	say "# $1"
	say "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	say "command:  bench/$BENCH.sh${BENCH_ARGS:+ $BENCH_ARGS}  ($2)"
	say "machine:  $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
	say "software: $(go version | cut -d' ' -f3-), $3"
	say "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-minute load average at the start; other work on the machine skews the absolute numbers)"
	say "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
	say ""
}

# start_dev builds bin/iamdb, runs "iamdb dev" in $DEV (a separate process, $DEV_PID) and
# sources its D/env.
start_dev() {
	go build -o bin/iamdb ./cmd/iamdb
	bin/iamdb dev --dir "$DEV" >"$WORK/dev.out" 2>"$WORK/dev.log" &
	DEV_PID=$!
	for _ in $(seq 1 900); do
		grep -q '^ready' "$WORK/dev.out" 2>/dev/null && break
		kill -0 "$DEV_PID" 2>/dev/null || { cat "$WORK/dev.log"; die "iamdb dev exited"; }
		sleep 0.1
	done
	grep -q '^ready' "$WORK/dev.out" || die "iamdb dev not ready after 90s"
	# shellcheck disable=SC1091
	source "$DEV/env"
}

# mint_token PORT USER sets TOKEN to a token for localhost:PORT as USER, signed with D/env's
# admin keys by the AWS CLI v2 as the README does (or by "iamdb token" where the CLI is
# missing; the two are byte-identical), and TOKEN_BY to which. It is valid 15 minutes.
mint_token() {
	mkdir -p "$WORK/awshome"
	local -a signer=(bin/iamdb token)
	TOKEN_BY="iamdb token"
	if [ -x /usr/bin/aws ]; then
		signer=(/usr/bin/aws rds generate-db-auth-token)
		TOKEN_BY="aws rds generate-db-auth-token (AWS CLI v2)"
	fi
	TOKEN=$(HOME="$WORK/awshome" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		"${signer[@]}" --hostname localhost --port "$1" --username "$2")
}

median() { python3 -c "import sys, statistics; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.0f}')" "$@"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }
# rss_kib PID: the resident memory of a process (VmRSS), in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# cpu_ms PID: user+system CPU time of a process, in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"; }

# hold_open CMD…: runs CMD… in the background (HOLDER_PID, in BENCH_PIDS), its standard
# input a fifo held open on fd 9 and its output in $WORK/hold.out, and waits (2 minutes at
# most) until it prints "open N" or exits. CMD holds its connections until its input ends.
hold_open() {
	mkfifo "$WORK/hold.in"
	"$@" <"$WORK/hold.in" >"$WORK/hold.out" 2>&1 &
	HOLDER_PID=$!
	BENCH_PIDS+=("$HOLDER_PID")
	exec 9>"$WORK/hold.in"
	for _ in $(seq 1 1200); do
		grep -q '^open ' "$WORK/hold.out" && break
		kill -0 "$HOLDER_PID" 2>/dev/null || break
		sleep 0.1
	done
}

# hold_close NAME: sets OPENED to the N of the holder's "open N", says its "failed" lines
# prefixed with NAME, then ends its input and waits for it.
hold_close() {
	OPENED=$(sed -n 's/^open \([0-9]*\).*/\1/p' "$WORK/hold.out")
	grep '^failed' "$WORK/hold.out" | sed "s/^/  $1: /" | tee -a "$OUT" || true
	exec 9>&-
	wait "$HOLDER_PID" 2>/dev/null || true
	unset 'BENCH_PIDS[-1]'
	rm -f "$WORK/hold.in"
}

# tps OUTPUT: the tps pgbench reports. txs OUTPUT: its transactions.
tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | head -1; }
txs() { sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$1" | head -1; }
# per_op_us MS OPS: MS milliseconds over OPS operations, in µs.
per_op_us() { python3 -c "import sys; print(f'{float(sys.argv[1])*1000/max(1,float(sys.argv[2])):.0f}')" "$1" "$2"; }
# cpu_tree_ms PID: user+system CPU time of a process and of its children that have ended
# and been waited for (a PostgreSQL postmaster's backends), in ms.
cpu_tree_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15 + $16 + $17) * 1000 / hz)}' "/proc/$1/stat"; }
# timed_ms FILE CMD…: runs CMD, appending its user+system CPU time in ms to FILE (a line);
# returns CMD's status.
timed_ms() {
	local f=$1 TIMEFORMAT='%3U %3S' st
	shift
	{ time "$@" 2>&3; } 3>&2 2>"$f.time"
	st=$?
	awk '{print int(($1 + $2) * 1000)}' "$f.time" >>"$f"
	return $st
}
