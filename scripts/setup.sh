#!/usr/bin/env bash
# Installs whatever this machine lacks for `npm run demo` (mode: demo) or `npm test` (mode: test),
# then returns. Every step is idempotent and cached under $BAKEOFF_CACHE (default ~/.cache/bakeoff),
# so the second run takes seconds. Parts the user already has are used instead of built:
# TEMPORAL_ADDRESS / a `temporal` on PATH, DATABASE_URL, BAKEOFF_MODEL_DIR.
set -euo pipefail
mode="${1:-all}"
case "$mode" in demo|test|all) ;; *) echo "usage: scripts/setup.sh [demo|test|all]" >&2; exit 2 ;; esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."
P=scripts/provision
step() { printf '\n[setup] %s\n' "$*" >&2; }
t0=$(date +%s)

step "node dependencies"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Not `npm ci`: npm 11 refuses a lock file whose optional per-platform packages (@swc/core-darwin-*,
  # win32-*) the registry here does not serve, although nothing on Linux needs them. `npm install`
  # honours the lock file for everything it can resolve.
  npm install --no-audit --no-fund >&2
else
  echo "[setup] node_modules up to date" >&2
fi

step "faiss-node native addon (against Debian's libfaiss)"
bash "$P/faiss.sh"

step "compile TypeScript"
npx tsc -p tsconfig.json

step "embedding model"
bash "$P/model.sh"

step "evaluation data (FAQ-derived, from Debian doc packages)"
bash "$P/data.sh"

if [ -z "${TEMPORAL_ADDRESS:-}" ] || [ "$mode" != demo ]; then
  step "Temporal CLI (dev server + Web UI) and tctl"
  bash "$P/temporal.sh"
fi

if [ "$mode" != demo ]; then
  step "time-skipping test server"
  bash "$P/testserver.sh"
  step "PostgreSQL 15 + pgvector"
  bash "$P/postgres.sh" --for-tests
  step "Debian chromium (Web UI browser test)"
  bash "$P/browser.sh"
fi

printf '\n[setup] ready in %ss\n' "$(( $(date +%s) - t0 ))" >&2
