#!/usr/bin/env bash
# Starts redis-server bound to 127.0.0.1 with append-only persistence in DIR on PORT, in the
# background, and prints its pid. Usage: scripts/redis-up.sh PORT DIR
set -euo pipefail
port="$1"
dir="$2"
# Another server on the port would pass the readiness check below in place of this one.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is already in use; pick another" >&2
  exit 1
fi
mkdir -p "$dir"
redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --dir "$dir" \
  --appendonly yes --save '' --daemonize no --logfile "$dir/redis.log" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$pid"
    exit 0
  fi
  sleep 0.1
done
echo "redis-server did not start on port $port; see $dir/redis.log" >&2
kill "$pid" 2>/dev/null || true
exit 1
