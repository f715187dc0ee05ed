#!/usr/bin/env bash
# npm start: dependencies, build, then Redis and all five services (scripts/start.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
node scripts/build.mjs
exec node scripts/start.mjs "$@"
