#!/usr/bin/env bash
# `npm start` on a fresh machine: install the npm packages and the recognizer if missing, build the
# local stack with esbuild (scripts/local-server-build.ts says why), then serve.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
bash scripts/system-deps.sh
node --import tsx scripts/local-server-build.ts
exec node --enable-source-maps .build/local/server.mjs
