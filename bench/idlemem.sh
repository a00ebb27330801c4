#!/usr/bin/env bash
# bench/idlemem.sh — what one idle client connection costs the gateway process before
# login, the basis of the defaults of max_client_conns and max_unauthenticated_per_ip
# (docs/configuration.md): resident memory (VmRSS) and file descriptors of bin/iamdb dev
# (authority and both gateways in one process) before and after N connections that
#
#   pg-tcp       connect to the PostgreSQL gateway and send nothing (the flood of issue 15)
#   pg-startup   SSLRequest, TLS 1.3, StartupMessage; the password prompt left unanswered
#   mysql-tcp    connect to the MySQL gateway, read its greeting and send nothing
#
# usage: bench/idlemem.sh [RESULTS_FILE]   (default bench/results/idlemem-<UTC time>.txt)
#
# Environment: BENCH_IDLE (2000) connections per state, opened from 127.0.0.2 … 127.0.0.9
# (a quarter of them per address at most, below the default per-address cap). The tcp
# states are read within a second or two of opening: the gateway closes them after its
# 10 s startup timeout. Needs: go, python3. Loopback only.
BENCH=idlemem
source "$(dirname "$0")/lib.sh"
N=${BENCH_IDLE:-2000}
NEED_PACKAGES="python3" need go python3
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

fds() { ls "/proc/$1/fd" | wc -l; }

header "iamdb gateway memory per idle connection before login" "BENCH_IDLE=$N" "$(python3 --version)"
start_dev
GW_PID=$DEV_PID
say "default limits: RLIMIT_NOFILE of iamdb dev $(awk '/Max open files/ {print $4}' "/proc/$GW_PID/limits") (soft)"

cat >"$WORK/hold.py" <<'EOF'
# hold.py STATE PORT N: opens N connections in STATE from 127.0.0.2-9, prints "open N",
# holds them until standard input ends.
import socket, ssl, struct, sys
state, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
held, failed = [], 0
for i in range(n):
    try:
        s = socket.socket()
        s.bind(("127.0.0.%d" % (2 + i % 8), 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        if state == "pg-startup":
            s.sendall(struct.pack("!II", 8, 80877103))
            assert s.recv(1) == b"S"
            s = ctx.wrap_socket(s)
            body = struct.pack("!I", 3 << 16) + b"user\0nosuchuser\0database\0postgres\0\0"
            s.sendall(struct.pack("!I", len(body) + 4) + body)
            assert s.recv(9)[:1] == b"R"  # AuthenticationCleartextPassword
        elif state == "mysql-tcp":
            assert len(s.recv(4)) == 4
        held.append(s)
    except Exception as e:
        failed += 1
        if failed == 1:
            print("failed: %r" % (e,), flush=True)
print("open %d" % len(held), flush=True)
sys.stdin.read()
EOF

# hold STATE PORT: opens N connections in STATE, reads the gateway's VmRSS and fds.
hold() {
	local state=$1 port=$2
	sleep 3
	local before_rss before_fds
	before_rss=$(rss_kib "$GW_PID")
	before_fds=$(fds "$GW_PID")
	hold_open python3 "$WORK/hold.py" "$state" "$port" "$N"
	sleep 1
	local after_rss after_fds
	after_rss=$(rss_kib "$GW_PID")
	after_fds=$(fds "$GW_PID")
	hold_close "$state"
	# Per connection the gateway still holds (its descriptors): a slow opener's first
	# connections may have reached a timeout before the last was open.
	local held=$((after_fds - before_fds)) per=n/a
	if [ "$held" -gt 0 ]; then
		per=$(python3 -c "import sys; print(f'{(int(sys.argv[2])-int(sys.argv[1]))/int(sys.argv[3]):.1f}')" "$before_rss" "$after_rss" "$held")
	fi
	say "$(printf '%-12s %5s opened, %5s held  VmRSS %7s -> %7s KiB = %6s KiB per connection  fds %5s -> %5s' \
		"$state" "${OPENED:-0}" "$held" "$before_rss" "$after_rss" "$per" "$before_fds" "$after_fds")"
}
hold pg-tcp "$IAMDB_PG_PORT"
hold mysql-tcp "$IAMDB_MYSQL_PORT"
hold pg-startup "$IAMDB_PG_PORT"
