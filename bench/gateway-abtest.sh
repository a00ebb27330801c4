#!/usr/bin/env bash
# Interleaves two builds of the gateway's Connect benchmarks so that the machine's load falls on
# both alike: bench/gateway-abtest.sh OLD_REV (default c71c8d9) — builds OLD_REV and the work tree.
set -euo pipefail
old=${1:-c71c8d9}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
git -C "$root" worktree add -q "$tmp/old" "$old"
trap 'git -C "$root" worktree remove --force "$tmp/old"; rm -rf "$tmp"' EXIT
(cd "$tmp/old" && go test -c -o "$tmp/gw-old.test" ./internal/gateway/)
(cd "$root" && go test -c -o "$tmp/gw-new.test" ./internal/gateway/)
for i in 1 2 3; do
	for v in old new; do
		dir=$tmp/old/internal/gateway
		[ "$v" = new ] && dir=$root/internal/gateway
		(cd "$dir" && "$tmp/gw-$v.test" -test.run '^$' -test.bench 'Connect$' -test.benchtime 2s 2>&1 |
			grep -E '^Benchmark' | sed "s/^/$v /")
	done
done
