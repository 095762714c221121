#!/usr/bin/env bash
# Loopback load test of the expansion API on the demo case (issue 5), with a release build:
#   bash tests/browser/load.sh [DEMO_DIR]
# Prepares the demo case in DEMO_DIR (default fraudnet-demo; `fraudnet demo --no-serve` when it has
# no store yet: 100,000 persons, a few minutes), adds a load-test account, serves the store on a free
# loopback port and runs tests/browser/load.mjs against it (cold and warm phases, 32 clients, 30 s
# each; settings through its environment: CLIENTS, SECONDS, HOPS, LIMIT, PHASES, WARM_SEEDS, OUT).
# Needs Node. BIN=path/to/fraudnet skips the build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
demo="${1:-fraudnet-demo}"
command -v node >/dev/null || { echo "load test: node is missing" >&2; exit 1; }
if [ -z "${BIN:-}" ]; then
  export ROCKSDB_LIB_DIR="${ROCKSDB_LIB_DIR:-/usr/lib/x86_64-linux-gnu}"
  (cd "$root" && cargo build --quiet --release --bin fraudnet)
  BIN="${CARGO_TARGET_DIR:-$root/target}/release/fraudnet"
fi
if [ ! -d "$demo/db" ]; then
  "$BIN" demo --dir "$demo" --no-serve >/dev/null
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

user="load-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
pass="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$BIN" user add "$user" --role investigator --password "$pass" --db "$demo/db" >/dev/null

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})')"
"$BIN" serve --db "$demo/db" --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
  if node -e 'require("http").get(process.argv[1],r=>process.exit(r.statusCode===200?0:1)).on("error",()=>process.exit(1))' \
      "http://127.0.0.1:$port/" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/serve.log" >&2; echo "server exited" >&2; exit 1; fi
  sleep 0.5
done
echo "load test on $demo ($(grep -m1 '^snapshot' "$work/serve.log")); uptime: $(uptime)"
FRAUDNET_URL="http://127.0.0.1:$port/" USER_NAME="$user" PASS="$pass" CASE="$demo/case" \
  SERVER_PID="$server_pid" node "$here/load.mjs"
