#!/bin/sh
# Renders the SRS config template with the shared callback secret, then starts SRS.
#
# Environment:
#   SRS_CALLBACK_SECRET       the secret itself, or
#   SRS_CALLBACK_SECRET_FILE  a file that contains it (a mounted secret)
#   SRS_CONFIG_TEMPLATE       template path (default /etc/srs/srs.conf)
#   SRS_CONFIG_OUTPUT         rendered config path (default /tmp/srs.conf)
#   SRS_BINARY                SRS executable (default /usr/local/srs/objs/srs)
# With --render-only the script writes the config and exits without starting SRS.
set -eu

template="${SRS_CONFIG_TEMPLATE:-/etc/srs/srs.conf}"
output="${SRS_CONFIG_OUTPUT:-/tmp/srs.conf}"
secret="${SRS_CALLBACK_SECRET:-}"

if [ -z "$secret" ] && [ -n "${SRS_CALLBACK_SECRET_FILE:-}" ]; then
  secret=$(cat "$SRS_CALLBACK_SECRET_FILE")
fi
if [ -z "$secret" ]; then
  echo "render-config: SRS_CALLBACK_SECRET or SRS_CALLBACK_SECRET_FILE is required" >&2
  exit 1
fi

# The secret goes into URL query strings and a sed replacement unescaped, so only URL-unreserved
# characters are accepted (hex or base64url secrets qualify).
case "$secret" in
  *[!A-Za-z0-9._~-]*)
    echo "render-config: SRS_CALLBACK_SECRET must contain only A-Z, a-z, 0-9, '.', '_', '~' and '-'" >&2
    exit 1
    ;;
esac

umask 077
sed "s|__SRS_CALLBACK_SECRET__|$secret|g" "$template" > "$output.tmp"
mv "$output.tmp" "$output"

if [ "${1:-}" = "--render-only" ]; then
  exit 0
fi
exec "${SRS_BINARY:-/usr/local/srs/objs/srs}" -c "$output"
