# examples/lib.sh — what every examples/NNN/run sources: it builds bin/iamdb, starts
# "iamdb dev" in a temporary directory (with the extra flags in IAMDB_DEV_FLAGS), sources
# its D/env, and stops everything on exit. The AWS CLI is Debian's v2 (/usr/bin/aws) with
# an empty home, so nothing of the machine's AWS configuration leaks in.
#
# After sourcing: $WORK (a temporary directory, the current directory), $DEV (D), every
# variable of D/env, and the functions below.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXAMPLE=$(basename "$(cd "$(dirname "$0")" && pwd)")
WORK=$(mktemp -d "/tmp/iamdb-example-$EXAMPLE.XXXXXX")
chmod 755 "$WORK"
DEV="$WORK/dev"
DEV_PID=

say() { printf '%s: %s\n' "$EXAMPLE" "$*"; }
fail() { say "FAIL: $*" >&2; exit 1; }

cleanup() {
	local status=$?
	set +e
	if [ "$status" -ne 0 ] && [ -f "$WORK/dev.log" ]; then
		echo "$EXAMPLE: failed ($status); the end of iamdb dev's log:" >&2
		tail -n 30 "$WORK/dev.log" >&2
	fi
	if [ -n "$DEV_PID" ]; then
		kill -INT "$DEV_PID" 2>/dev/null
		for _ in $(seq 1 300); do kill -0 "$DEV_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DEV_PID" 2>/dev/null
		wait "$DEV_PID" 2>/dev/null
	fi
	cd /
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Build first: the Go caches live under the real home.
(cd "$ROOT" && go build -o bin/iamdb ./cmd/iamdb)
IAMDB="$ROOT/bin/iamdb"

# The AWS CLI sees only what the example sets: an empty home and config.
export HOME="$WORK/home"
mkdir -p "$HOME/.aws"
export AWS_CONFIG_FILE="$HOME/.aws/config" AWS_SHARED_CREDENTIALS_FILE="$HOME/.aws/credentials"
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE \
	AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_EC2_METADATA_SERVICE_ENDPOINT
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSSLMODE PGSERVICE PGOPTIONS MYSQL_PWD
export PGCONNECT_TIMEOUT=10
# pip's AWS CLI v1, where scripts/setup had to put it in a virtual environment.
if [ -x "$ROOT/.tools/awscli-v1/bin/python3" ]; then
	export PATH="$ROOT/.tools/awscli-v1/bin:$PATH"
fi
AWS_BIN=/usr/bin/aws
[ -x "$AWS_BIN" ] || fail "the AWS CLI v2 is missing (apt-get install -y awscli)"
for tool in psql; do
	command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup installs it)"
done

cd "$WORK"
# shellcheck disable=SC2086
"$IAMDB" dev --dir "$DEV" ${IAMDB_DEV_FLAGS:-} >"$WORK/dev.out" 2>"$WORK/dev.log" &
DEV_PID=$!
for _ in $(seq 1 900); do
	grep -q '^ready' "$WORK/dev.out" 2>/dev/null && break
	kill -0 "$DEV_PID" 2>/dev/null || { cat "$WORK/dev.log" >&2; fail "iamdb dev exited"; }
	sleep 0.1
done
grep -q '^ready' "$WORK/dev.out" || fail "iamdb dev not ready after 90s"
# shellcheck disable=SC1091
source "$DEV/env"

# aws runs the AWS CLI v2 against the authority (Debian's 2.9 honours only --endpoint-url).
aws() { "$AWS_BIN" --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }

# expect_eq WHAT GOT WANT fails unless GOT = WANT.
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; say "ok: $1 = $3"; }

# expect_contains WHAT TEXT SUBSTRING fails unless TEXT contains SUBSTRING.
expect_contains() { case "$2" in *"$3"*) say "ok: $1";; *) fail "$1: '$2' lacks '$3'";; esac; }

# dev_log_has SUBSTRING… succeeds when one line of iamdb dev's log has them all.
dev_log_has() {
	local line
	while IFS= read -r line; do
		local all=1 s
		for s in "$@"; do case "$line" in *"$s"*) ;; *) all=0;; esac; done
		[ "$all" = 1 ] && return 0
	done <"$WORK/dev.log"
	return 1
}

# on_instance PROFILE CMD… runs CMD on the "EC2 instance" of iamdb dev's --imds-profile
# PROFILE (a name; the ARN's name for another account's): no access keys, only that
# instance's metadata endpoint, $IAMDB_IMDS_ENDPOINT_<PROFILE> of D/env.
on_instance() (
	local var
	var=IAMDB_IMDS_ENDPOINT_$(printf %s "$1" | tr 'a-z' 'A-Z' | tr -c 'A-Z0-9' '_')
	[ -n "${!var:-}" ] || fail "D/env has no $var: iamdb dev needs --imds-profile $1"
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
	export AWS_EC2_METADATA_SERVICE_ENDPOINT=${!var} AWS_EC2_METADATA_DISABLED=false
	shift
	"$@"
)

# as_account ID CMD… runs CMD as the admin of iamdb dev's extra account ID (--account ID).
as_account() (
	[ -f "$DEV/env-$1" ] || fail "iamdb dev has no account $1: it needs --account $1"
	# shellcheck disable=SC1090
	source "$DEV/env-$1"
	shift
	"$@"
)
