# bench/lib.sh — what the gateway benchmarks (bench/pg.sh, bench/mysql.sh) source: the
# results file and say/die, a work directory with the cleanup of everything they start,
# iamdb dev started with its D/env sourced, the header naming the machine, a token minted as
# the README does, the arithmetic of medians and ratios, and holders of idle connections.
#
# Before sourcing: BENCH (the script's short name: pg, mysql) and the script's arguments.
# After: $ROOT (the repository, the current directory), $OUT (the results file, from $1 or
# bench/results/$BENCH-<UTC time>.txt), $PROF (where profiles go: $OUT without .txt, then
# -NAME-cpu.pprof and -NAME-allocs.pprof), $WORK (a temporary directory), and BENCH_PIDS, an
# array: the pid of every other process a benchmark starts goes in it, to be stopped on exit
# before iamdb dev.
set -euo pipefail

BENCH_ARGS="$*"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=${1:-bench/results/$BENCH-$(date -u +%Y%m%dT%H%M%SZ).txt}
mkdir -p "$(dirname "$OUT")"
: >"$OUT"
PROF=${OUT%.txt}

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

# start_dev [ARG…] builds bin/iamdb, runs "iamdb dev ARG…" in $DEV (a separate process,
# $DEV_PID) and sources its D/env. With --pprof, profile_start can profile it.
start_dev() {
	go build -o bin/iamdb ./cmd/iamdb
	bin/iamdb dev --dir "$DEV" "$@" >"$WORK/dev.out" 2>"$WORK/dev.log" &
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
# median1 X…: the median of the numbers among X… to one decimal, "n/a" without any.
median1() {
	python3 -c "
import sys, statistics
xs = []
for x in sys.argv[1:]:
    try: xs.append(float(x))
    except ValueError: pass
print(f'{statistics.median(xs):.1f}' if xs else 'n/a')" "$@"
}
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }
# rss_kib PID: the resident memory of a process (VmRSS), in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# cpu_ms PID: user+system CPU time of a process (all its threads), in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"; }
# tree_cpu_ms PID: user+system CPU time of PID and of every process under it, in ms: the
# live ones' own and their reaped children's (cutime+cstime of /proc/PID/stat). A server
# that forks a process per connection (postgres) keeps the time of its exited backends in
# its cutime/cstime, so the difference of two readings is all the tree spent in between.
tree_cpu_ms() {
	python3 - "$1" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
parent, ticks = {}, {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        with open(f"/proc/{p}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        continue  # gone meanwhile
    parent[int(p)] = int(rest[1])
    ticks[int(p)] = sum(int(x) for x in rest[11:15])  # utime stime cutime cstime
root, total = int(sys.argv[1]), 0
for p in ticks:
    q = p
    while q > 1 and q != root:
        q = parent.get(q, 0)
    if q == root:
        total += ticks[p]
print(total * 1000 // hz)
PY
}
# listen_pid PORT: the pid of the process listening on TCP PORT (ss; as root, for servers
# running as other users).
listen_pid() { ss -Hltnp "sport = :$1" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1; }
# us_per PID_MS0 MS1 N: microseconds of CPU per one of N, from two readings in ms.
us_per() { python3 -c "import sys; a, b, n = map(float, sys.argv[1:]); print(f'{(b - a) * 1000 / n:.1f}' if n else 'n/a')" "$1" "$2" "$3"; }
# verdict VALUE OP TARGET (OP: ge or le): "met", "NOT met", or "n/a" for a missing value.
verdict() {
	python3 -c "
import sys
try: v, t = float(sys.argv[1]), float(sys.argv[3])
except ValueError: print('n/a'); sys.exit()
print('met' if (v >= t if sys.argv[2] == 'ge' else v <= t) else 'NOT met')" "$1" "$2" "$3"
}

# profile_start NAME SECONDS: fetches, in the background, a CPU profile of the iamdb dev
# process over the next SECONDS and its allocations over the same SECONDS (allocs, a delta
# profile) from its /debug/pprof/ (iamdb dev --pprof; IAMDB_OPS_ADDR of D/env), into
# $PROF-NAME-cpu.pprof and $PROF-NAME-allocs.pprof. profile_end waits for them.
PROF_PIDS=()
profile_start() {
	local url="http://$IAMDB_OPS_ADDR/debug/pprof"
	curl -fsS -o "$PROF-$1-cpu.pprof" "$url/profile?seconds=$2" &
	PROF_PIDS=($!)
	curl -fsS -o "$PROF-$1-allocs.pprof" "$url/allocs?seconds=$2" &
	PROF_PIDS+=($!)
	BENCH_PIDS+=("${PROF_PIDS[@]}")
}

# profile_end NAME N WHAT: waits for profile_start's fetches and says the top 25 functions
# of the CPU profile by cumulative and by flat time and of the allocation profile by
# objects and bytes (go tool pprof -top), with the allocations per one of the N WHAT that
# ran meanwhile.
profile_end() {
	local name=$1 n=$2 what=$3 pid cpu="$PROF-$1-cpu.pprof" allocs="$PROF-$1-allocs.pprof"
	for pid in "${PROF_PIDS[@]}"; do
		wait "$pid" || die "profile $name: curl of $IAMDB_OPS_ADDR/debug/pprof failed (iamdb dev --pprof?)"
	done
	say "#### profile $name: CPU, top 25 by cumulative time ($cpu)"
	go tool pprof -top -cum -nodecount=25 "$cpu" 2>&1 | tee -a "$OUT"
	say "#### profile $name: CPU, top 25 by flat time"
	go tool pprof -top -nodecount=25 "$cpu" 2>&1 | grep -v -E '^(File|Build ID|Type|Time|Duration):' | tee -a "$OUT"
	local objects bytes
	objects=$(go tool pprof -top -nodecount=1 -sample_index=alloc_objects "$allocs" 2>/dev/null | sed -n 's/.* of \([0-9]*\) total.*/\1/p')
	bytes=$(go tool pprof -top -nodecount=1 -sample_index=alloc_space -unit=B "$allocs" 2>/dev/null | sed -n 's/.* of \([0-9]*\)B total.*/\1/p')
	say "#### profile $name: allocations, top 25 by objects ($allocs): $(python3 -c "import sys; o, b, n = (float(x or 0) for x in sys.argv[1:]); print(f'{o / n:.1f} objects, {b / n:.0f} bytes' if n else 'n/a')" "$objects" "$bytes" "$n") per $what"
	go tool pprof -top -nodecount=25 -sample_index=alloc_objects "$allocs" 2>&1 | grep -v -E '^(File|Build ID|Type|Time|Duration):' | tee -a "$OUT"
	say "#### profile $name: allocations, top 25 by bytes"
	go tool pprof -top -nodecount=25 -sample_index=alloc_space "$allocs" 2>&1 | grep -v -E '^(File|Build ID|Type|Time|Duration):' | tee -a "$OUT"
}

# login_split NAME ENGINE: the CPU of one login through the gateway split into its parts,
# from the CPU profile $PROF-NAME-cpu.pprof of a connect phase (issue 19, item 3): each
# part's cumulative time as a share of the gateway's whole connection handling, as go tool
# pprof -top -cum counts it. A connection runs on two goroutines (Gateway.serveConn up to
# the question for the password, then serveConn.func1 from the answer on), so the whole is
# the sum of both roots. The parts overlap nowhere but "login" (loginChecks and
# loginAuthorized), which holds the token, policy, membership, acquisition and check rows.
# ENGINE (pg or mysql) names the engine in the heading only: one engine runs per profile.
login_split() {
	local cpu="$PROF-$1-cpu.pprof"
	go tool pprof -top -cum -nodecount=100000 "$cpu" 2>/dev/null >"$WORK/split.txt"
	say "#### the login's CPU, split (profile $1, $2; share of the gateway's connection handling)"
	python3 - "$WORK/split.txt" <<'PY' | tee -a "$OUT"
import re, sys
rows = {}
unit = {'s': 1, 'ms': 1e-3, 'us': 1e-6, 'µs': 1e-6, 'ns': 1e-9, 'min': 60, 'h': 3600}
row = re.compile(r'^\s*\S+\s+\S+%\s+\S+%\s+([0-9.]+)(min|h|ms|us|µs|ns|s)\s+\S+%\s+(.*)$')
for line in open(sys.argv[1]):
    m = row.match(line)
    if m:
        rows[m[3]] = max(rows.get(m[3], 0), float(m[1]) * unit[m[2]])
def cum(pat):
    # the sum over the distinct functions the pattern names (roots of separate goroutines,
    # or the two halves of the login); each function's own cumulative time counts once
    return sum(s for name, s in rows.items() if re.search(pat, name))
total = cum(r'gateway\.\(\*Gateway\)\.serveConn(\.func1)?$')
parts = [
    ("TLS handshake (server side)", r'crypto/tls\.\(\*Conn\)\.serverHandshake$'),
    ("login decision and backend session (login)", r'gateway\.(loginChecks|loginAuthorized)\['),
    ("  token verification", r'token\.\(\*Verifier\[.*\]\)\.Verify$'),
    ("  rds-db:connect policy (with verification)", r'access\.\(\*Authorizer\)\.Authorize$'),
    ("  rds_iam membership", r'gateway\.\(\*membership\)\.isIAM$'),
    ("  session from the pool or dialled (acquire)", r'gateway\.\(\*pool\[.*\]\)\.acquire$'),
    ("    pooled session's check: round trip", r'gateway\.\(\*pgBackend\)\.simpleQuery$|gateway\.\(\*mysqlBackend\)\.initDB$'),
    ("    pooled session's check: socket peek", r'gateway\.peekIdle$'),
    ("audit event recorded", r'audit\.\(\*Journal\)\.Record$'),
    ("log lines", r'log/slog\.\(\*Logger\)\.log$'),
]
if not total:
    print("(no samples of the connection handling in the profile)")
    sys.exit()
print(f"| part | CPU seconds | share |")
print(f"|---|---|---|")
print(f"| connection handling, whole | {total:.2f} | 100 % |")
rest = total
for label, pat in parts:
    s = cum(pat)
    if not label.startswith(' '):
        rest -= s
    print(f"| {label} | {s:.2f} | {100 * s / total:.1f} % |")
print(f"| the rest: startup message, the replies, the queries relayed, close | {rest:.2f} | {100 * rest / total:.1f} % |")
PY
}

# pool_checks: the gateway's checks of pooled sessions so far (iamdb_gateway_pool_checks_total
# from its ops server: "peek" a look at the socket, "query" a round trip).
pool_checks() {
	say "#### checks of pooled backend sessions so far (/metrics)"
	curl -fsS "http://$IAMDB_OPS_ADDR/metrics" 2>/dev/null | grep '^iamdb_gateway_pool_checks_total' | tee -a "$OUT" || say "(none)"
}

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

# hold_mem NAME LABEL PID CMD…: resident memory per idle connection. Reads PID's VmRSS,
# runs CMD (bench/idleconns) through hold_open, lets the server settle, reads VmRSS again
# and closes the connections; sets MEM[NAME] (an associative array the caller declares)
# to the KiB per connection opened, and says it on a line starting with LABEL.
# When PID is iamdb dev's with --pprof (DEV_PID, IAMDB_OPS_ADDR), it also takes a heap
# profile while the connections are held ($PROF-NAME-heap.pprof, with gc=1: what they keep
# live) and says its top.
hold_mem() {
	local name=$1 label=$2 pid=$3 before after per=n/a heap=''
	shift 3
	sleep 3
	before=$(rss_kib "$pid")
	hold_open "$@"
	sleep 2 # let the server settle (goroutines parked, buffers released)
	after=$(rss_kib "$pid")
	if [ "$pid" = "${DEV_PID:-}" ] && [ -n "${IAMDB_OPS_ADDR:-}" ] &&
		curl -fsS -o "$PROF-$name-heap.pprof" "http://$IAMDB_OPS_ADDR/debug/pprof/heap?gc=1" 2>/dev/null; then
		heap=$PROF-$name-heap.pprof
	fi
	hold_close "$name"
	if [ "${OPENED:-0}" -gt 0 ]; then
		per=$(python3 -c "import sys; print(f'{(int(sys.argv[2])-int(sys.argv[1]))/int(sys.argv[3]):.1f}')" "$before" "$after" "$OPENED")
	fi
	MEM[$name]=$per
	say "$(printf '%-28s %5s open  VmRSS %7s -> %7s KiB  = %6s KiB per connection' "$label" "${OPENED:-0}" "$before" "$after" "$per")"
	if [ -n "$heap" ]; then
		say "#### heap profile $name (in use while held, after a GC), top 12"
		go tool pprof -top -nodecount=12 -sample_index=inuse_space "$heap" 2>&1 | grep -v -E '^(File|Build ID|Type|Time|Duration):' | tee -a "$OUT"
	fi
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
# rate OUTPUT: the rate myload reports. count OUTPUT: its operations.
rate() { sed -n 's/^myload [a-z]*: .*: \([0-9]*\)\/s, \([0-9]*\) failed$/\1/p' "$1" | head -1; }
count() { sed -n 's/^myload [a-z]*: \([0-9]*\) in .*/\1/p' "$1" | head -1; }
