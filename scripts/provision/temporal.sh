#!/usr/bin/env bash
# Temporal CLI (dev server + embedded Web UI) v1.8.2 and tctl v1.18.4, built from Go modules.
# `go install github.com/temporalio/cli/cmd/temporal@v1.8.2` fails: its go.mod replaces ./cliext,
# and module zips omit nested modules. So we download both modules and assemble the tree by hand.
PROVISION_PART=temporal
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLI_VERSION=v1.8.2
# The proxy serves the nested module only under its pseudo-version (commit time + short hash of tag v1.8.2).
CLIEXT_VERSION=v0.0.0-20260731000218-c579925f193f
# v1.18.4 (and 1.18.1–1.18.3) are refused by the module proxy (403); v1.18.0 is served and builds.
TCTL_VERSION=v1.18.0

build_temporal() {
  need_cmd go "install Go 1.22+ (Debian: golang) to build the Temporal CLI"
  local work="$BAKEOFF_CACHE/build/temporal-cli"
  rm -rf "$work"; mkdir -p "$work"
  log "go mod download github.com/temporalio/cli@$CLI_VERSION"
  local cli_dir cliext_dir
  cli_dir=$(go mod download -json "github.com/temporalio/cli@$CLI_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  cliext_dir=$(go mod download -json "github.com/temporalio/cli/cliext@$CLIEXT_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$cli_dir" ] || die "go mod download of temporalio/cli gave no directory"
  [ -d "$cliext_dir" ] || die "go mod download of temporalio/cli/cliext gave no directory"
  cp -r "$cli_dir/." "$work/"
  rm -rf "$work/cliext"; cp -r "$cliext_dir" "$work/cliext"
  chmod -R u+w "$work"
  log "go build ./cmd/temporal (first build takes minutes)"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-X github.com/temporalio/cli/internal/temporalcli.Version=${CLI_VERSION#v}" \
      -o "$BAKEOFF_BIN/temporal.tmp" ./cmd/temporal) \
    || die "go build of the Temporal CLI failed (see output above)"
  mv "$BAKEOFF_BIN/temporal.tmp" "$BAKEOFF_BIN/temporal"
  rm -rf "$work"
}

build_tctl() {
  need_cmd go "install Go to build tctl"
  # `go install .../cmd/tctl@v` asks the proxy for a module at the cmd path and stops at its 403,
  # so download the module and build inside it.
  log "go mod download github.com/temporalio/tctl@$TCTL_VERSION"
  local dir work="$BAKEOFF_CACHE/build/tctl"
  dir=$(go mod download -json "github.com/temporalio/tctl@$TCTL_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "go mod download of temporalio/tctl@$TCTL_VERSION gave no directory"
  rm -rf "$work"; cp -r "$dir" "$work"; chmod -R u+w "$work"
  log "go build ./cmd/tctl"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -o "$BAKEOFF_BIN/tctl.tmp" ./cmd/tctl) || die "go build of tctl failed"
  mv "$BAKEOFF_BIN/tctl.tmp" "$BAKEOFF_BIN/tctl"
  rm -rf "$work"
}

if [ -n "${TEMPORAL_CLI:-}" ] && [ -x "$TEMPORAL_CLI" ]; then
  log "using TEMPORAL_CLI=$TEMPORAL_CLI"
elif [ -x "$BAKEOFF_BIN/temporal" ]; then
  log "reusing $BAKEOFF_BIN/temporal ($("$BAKEOFF_BIN/temporal" --version | head -1))"
elif command -v temporal >/dev/null 2>&1; then
  log "using temporal on PATH: $(command -v temporal)"
else
  timed "temporal build" build_temporal
fi

if [ "${1:-}" != "--no-tctl" ]; then
  if [ -x "$BAKEOFF_BIN/tctl" ] || command -v tctl >/dev/null 2>&1; then
    log "reusing tctl"
  else
    timed "tctl build" build_tctl
  fi
fi
