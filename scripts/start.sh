#!/usr/bin/env bash
# `npm start` on a fresh machine: install the npm packages and the recognizer if missing, then serve.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
bash scripts/system-deps.sh
exec node --import tsx bin/local.ts
