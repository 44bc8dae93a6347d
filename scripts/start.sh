#!/usr/bin/env bash
# `npm start` on a fresh machine: install the npm packages and the recognizer if missing, build the
# local stack with esbuild (scripts/local-server-build.ts says why), then serve.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
bash scripts/system-deps.sh --runtime
# The build prints node's arguments for the built server, one a line; a failed build stops here (set -e).
printed=$(node --import tsx scripts/local-server-build.ts)
mapfile -t server_args <<< "$printed"
exec node "${server_args[@]}"
