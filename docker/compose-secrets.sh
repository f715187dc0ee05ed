#!/bin/sh
# Writes random secrets for docker/compose.yml into an env file (default .data/compose.env,
# which git ignores). Values already in the file are kept, so tokens issued earlier stay valid.
#
#   sh docker/compose-secrets.sh [OUTPUT_FILE]
#   docker compose --env-file .data/compose.env -f docker/compose.yml up --build
#
# The same file works for Kubernetes:
#   kubectl -n castplane create secret generic castplane-secrets --from-env-file=.data/compose.env
set -eu

output="${1:-.data/compose.env}"

# The required secrets of docker/compose.yml and of the Kubernetes Secret castplane-secrets.
SECRET_NAMES="AUTH_JWT_SECRET
SRS_CALLBACK_SECRET
LIVEKIT_API_KEY
LIVEKIT_API_SECRET
SDK_SETTINGS_ENCRYPTION_KEY"

random_hex() {
  od -An -tx1 -N "$1" /dev/urandom | tr -d ' \n'
}

generate() {
  case "$1" in
    AUTH_JWT_SECRET) random_hex 32 ;;
    SRS_CALLBACK_SECRET) random_hex 16 ;;
    LIVEKIT_API_KEY) printf 'API%s' "$(random_hex 6)" ;;
    LIVEKIT_API_SECRET) random_hex 24 ;;
    SDK_SETTINGS_ENCRYPTION_KEY) random_hex 32 ;;
    *)
      echo "compose-secrets: no generator for $1" >&2
      exit 1
      ;;
  esac
}

umask 077
mkdir -p "$(dirname "$output")"
touch "$output"
for name in $SECRET_NAMES; do
  if ! grep -q "^$name=." "$output"; then
    printf '%s=%s\n' "$name" "$(generate "$name")" >> "$output"
  fi
done
echo "compose-secrets: secrets are in $output" >&2
