#!/usr/bin/env bash
# npm test: dependencies, build, typecheck, then every jest suite against a Redis started for
# this run on a free port and stopped afterwards. Prints "N passed, N failed" as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh --with-browser
node scripts/build.mjs
echo "typecheck" >&2
npx tsc -p tsconfig.json --noEmit

port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
run_dir=$(mktemp -d -t castplane-test-XXXXXX)
redis_pid=$(bash scripts/redis-up.sh "$port" "$run_dir/redis")
cleanup() {
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT

status=0
REDIS_URL="redis://127.0.0.1:$port" npx jest --ci --json --outputFile="$run_dir/results.json" "$@" || status=$?

if [[ -f "$run_dir/results.json" ]]; then
  node -e "
    const r = require(process.argv[1]);
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log('tests: ' + r.numPassedTests + ' passed, ' + r.numFailedTests + ' failed' + (skipped ? ', ' + skipped + ' skipped' : ''));
  " "$run_dir/results.json"
fi
exit "$status"
