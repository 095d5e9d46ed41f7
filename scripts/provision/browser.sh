#!/usr/bin/env bash
# Debian's chromium for the Web UI browser test (test/ui/web-ui.test.ts), driven by playwright-core.
# playwright's own browser download needs its CDN, which this machine cannot reach; Debian's package
# comes from the apt registry. Only needed in test mode.
PROVISION_PART=browser
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM_BIN="${BAKEOFF_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM_BIN" ] && [ -z "${BAKEOFF_CHROMIUM:-}" ] && dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q 'install ok installed'; then
  log "reusing chromium $(dpkg-query -W -f='${Version}' chromium)"
elif [ -n "${BAKEOFF_CHROMIUM:-}" ]; then
  [ -x "$BAKEOFF_CHROMIUM" ] || die "BAKEOFF_CHROMIUM=$BAKEOFF_CHROMIUM is not an executable"
  log "using BAKEOFF_CHROMIUM=$BAKEOFF_CHROMIUM"
else
  # Fonts: without any, chromium renders boxes and screenshots are unreadable.
  timed "chromium install" apt_ensure chromium fonts-dejavu-core
fi

# Headless start-up check: the package installs fine on machines where the binary cannot run
# (missing shared libraries), and the test should say so here rather than time out later.
version=$("$CHROMIUM_BIN" --headless --no-sandbox --disable-gpu --version 2>&1) \
  || die "chromium at $CHROMIUM_BIN does not start: $version"
# (Debian's wrapper script may print a harmless shell warning first; the version is the last line.)
log "chromium ready: $(printf '%s\n' "$version" | tail -n 1)"
