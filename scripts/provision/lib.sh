#!/usr/bin/env bash
# Shared helpers for the provisioning scripts: where things are cached, how we log and fail.
# Every script is idempotent: it checks for its product first and prints what it reuses.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Built tools live outside the clone so a fresh clone (CI) reuses them; state is per checkout.
BAKEOFF_CACHE="${BAKEOFF_CACHE:-$HOME/.cache/bakeoff}"
BAKEOFF_HOME="${BAKEOFF_HOME:-$REPO_ROOT/.bakeoff}"
BAKEOFF_BIN="$BAKEOFF_CACHE/bin"
mkdir -p "$BAKEOFF_CACHE" "$BAKEOFF_BIN" "$BAKEOFF_HOME"
export BAKEOFF_CACHE BAKEOFF_HOME BAKEOFF_BIN REPO_ROOT

log() { printf '[provision:%s] %s\n' "${PROVISION_PART:-setup}" "$*" >&2; }
die() { printf '[provision:%s] ERROR: %s\n' "${PROVISION_PART:-setup}" "$*" >&2; exit 1; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || die "missing command '$1': $2"; }

# Install Debian packages only when some are missing; apt-get update runs at most once per hour.
apt_ensure() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "Debian packages missing: ${missing[*]} (run: sudo apt-get install ${missing[*]})"
  local stamp="$BAKEOFF_CACHE/.apt-updated"
  if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +60 2>/dev/null)" ]; then
    log "apt-get update"
    apt-get update -qq -o DPkg::Lock::Timeout=600 >&2 || die "apt-get update failed"
    touch "$stamp"
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install failed for: ${missing[*]}"
}

# Run a step with a timing line, so docs/setup.md figures can be read off the logs.
timed() {
  local label="$1"; shift
  local t0; t0=$(date +%s)
  "$@"
  log "$label took $(( $(date +%s) - t0 ))s"
}
