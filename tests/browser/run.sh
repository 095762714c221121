#!/usr/bin/env bash
# Browser acceptance test of the viewer (issue 5): builds fraudnet, makes a case (the demo
# generator when the binary has it, else the committed fixtures), imports it, creates an
# investigator and a supervisor, runs community detection, serves on a free loopback port and drives headless Chromium
# through tests/browser/viewer.test.mjs. Screenshots land in tests/browser/artifacts/.
#
# With CI=true a missing Chromium or Node is a failure; elsewhere the test is skipped with a note.
# Environment: CHROMIUM (default /usr/bin/chromium), PERSONS (generated case size, default 2000),
# SEED_PHONE (overrides the seed's phone), KEEP_TMP=1 keeps the work directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"

missing() {
  if [ "${CI:-}" = "true" ]; then
    echo "browser test: $1 is missing (install Debian's chromium and nodejs); failing because CI=true" >&2
    exit 1
  fi
  echo "browser test SKIPPED: $1 is missing (install Debian's chromium and nodejs)" >&2
  exit 0
}
[ -x "$chromium" ] || missing "$chromium"
command -v node >/dev/null || missing node
command -v npm >/dev/null || missing npm

export ROCKSDB_LIB_DIR="${ROCKSDB_LIB_DIR:-/usr/lib/x86_64-linux-gnu}"
target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --quiet --bin fraudnet)
bin="$target/debug/fraudnet"

if [ ! "$here/node_modules/.package-lock.json" -nt "$here/package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent)
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "${KEEP_TMP:-}" = "1" ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

db="$work/db"
seed_phone="${SEED_PHONE:-}"
if "$bin" generate --help >/dev/null 2>&1; then
  "$bin" generate --out "$work/case" --persons "${PERSONS:-2000}" --seed 7 >/dev/null
  files=$(find "$work/case" -type f \( -name '*.csv' -o -name '*.jsonl' \) | sort)
  # shellcheck disable=SC2086
  "$bin" import --db "$db" $files >/dev/null
  "$bin" communities --db "$db" >/dev/null
  if [ -z "$seed_phone" ] && [ -f "$work/case/truth.json" ]; then
    seed_phone="$(node -e '
      const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      if (t.seed_phone) { console.log(t.seed_phone); process.exit(0); }
      const s = JSON.stringify(t.seed_phone_ref ?? t.seed ?? t);
      const m = s.match(/(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}/);
      if (m) console.log(m[0]);' "$work/case/truth.json")"
  fi
else
  echo "fraudnet has no generate command yet: using the committed fixtures" >&2
  "$bin" import --db "$db" "$root"/fixtures/formats/*.csv "$root"/fixtures/formats/*.jsonl >/dev/null
  "$bin" communities --db "$db" >/dev/null
  seed_phone="${seed_phone:-13907971234}"
fi
[ -n "$seed_phone" ] || { echo "browser test: could not find the seed's phone in truth.json (set SEED_PHONE)" >&2; exit 1; }

inv_pass="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
sup_pass="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$bin" user add browser-inv --role investigator --password "$inv_pass" --db "$db" >/dev/null
"$bin" user add browser-sup --role supervisor --password "$sup_pass" --db "$db" >/dev/null

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})')"
"$bin" serve --db "$db" --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  if node -e 'require("http").get(process.argv[1],r=>process.exit(r.statusCode===200?0:1)).on("error",()=>process.exit(1))' \
      "http://127.0.0.1:$port/" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/serve.log" >&2; echo "server exited" >&2; exit 1; fi
  sleep 0.2
done

rm -rf "$here/artifacts"
FRAUDNET_URL="http://127.0.0.1:$port/" SEED_PHONE="$seed_phone" \
  INV_USER=browser-inv INV_PASS="$inv_pass" SUP_USER=browser-sup SUP_PASS="$sup_pass" \
  CHROMIUM="$chromium" ARTIFACTS="$here/artifacts" \
  timeout 600 node "$here/viewer.test.mjs"
