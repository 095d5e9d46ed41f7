#!/usr/bin/env bash
# PostgreSQL 15 (Debian binaries) + pgvector built from Debian's *source* package: Debian 12 ships
# no pgvector binary, but trixie's source package builds against postgresql-server-dev-15.
# The trixie deb-src line lives in an isolated apt tree under $BAKEOFF_CACHE, so the system's own
# sources (and what `apt-get install` picks) never change.
# With DATABASE_URL set the user already has a server: nothing is installed, unless --for-tests
# (the test suite starts its own private clusters whatever DATABASE_URL says).
PROVISION_PART=postgres
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_MAJOR=15
PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"
PG_CONFIG="$PG_BIN/pg_config"
PGVECTOR_SUITE="${PGVECTOR_SUITE:-trixie}"
PGVECTOR_VERSION_FILE="$BAKEOFF_CACHE/pgvector.version"

if [ -n "${DATABASE_URL:-}" ] && [ "${1:-}" != "--for-tests" ]; then
  log "DATABASE_URL is set: using that server (it needs pgvector: CREATE EXTENSION vector); no local PostgreSQL installed"
  exit 0
fi

# apt-get options that point every list, cache and source file at our own tree.
APT_SRC_DIR="$BAKEOFF_CACHE/apt-src"
APT_SRC_OPTS=(
  -o "Dir::Etc::SourceList=$APT_SRC_DIR/sources.list"
  -o "Dir::Etc::SourceParts=$APT_SRC_DIR/sources.list.d"
  -o "Dir::State::Lists=$APT_SRC_DIR/lists"
  -o "Dir::Cache=$APT_SRC_DIR/cache"
  # Root-owned cache dirs: the _apt sandbox user could not write there.
  -o "APT::Sandbox::User=root"
)

installed_pgvector_version() {
  sed -n "s/^default_version = '\(.*\)'/\1/p" "$("$PG_CONFIG" --sharedir)/extension/vector.control"
}

build_pgvector() {
  [ "$(id -u)" = 0 ] || die "pgvector installs into $($PG_CONFIG --pkglibdir): run this script as root (or sudo)"
  need_cmd make "install make (Debian: make)"
  need_cmd dpkg-source "install dpkg-dev (apt-get source unpacks with it)"

  mkdir -p "$APT_SRC_DIR/sources.list.d" "$APT_SRC_DIR/lists/partial" "$APT_SRC_DIR/cache/archives/partial"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $PGVECTOR_SUITE main" \
    > "$APT_SRC_DIR/sources.list"
  log "apt-get update (isolated source list: deb-src $PGVECTOR_SUITE main)"
  apt-get "${APT_SRC_OPTS[@]}" update -qq >&2 || die "apt-get update of the $PGVECTOR_SUITE source index failed"

  local work="$BAKEOFF_CACHE/build/pgvector"
  rm -rf "$work"; mkdir -p "$work"
  log "apt-get source pgvector ($PGVECTOR_SUITE) into $work"
  (cd "$work" && apt-get "${APT_SRC_OPTS[@]}" source -qq pgvector >&2) \
    || die "apt-get source pgvector failed (is dpkg-dev installed? does $PGVECTOR_SUITE still carry pgvector?)"
  local src
  src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -1)
  [ -n "$src" ] || die "apt-get source gave no pgvector-* directory in $work"
  local debian_version
  debian_version=$(cd "$src" && dpkg-parsechangelog -S Version)

  # OPTFLAGS= drops pgvector's default -march=native, as Debian's own build does.
  log "make && make install pgvector $debian_version (PG_CONFIG=$PG_CONFIG)"
  make -C "$src" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS= >&2 || die "pgvector build failed (see output above)"
  make -C "$src" -s PG_CONFIG="$PG_CONFIG" OPTFLAGS= install >&2 || die "pgvector make install failed"

  echo "$debian_version" > "$PGVECTOR_VERSION_FILE"
  # The source index (~20 MB) is only needed for this build.
  rm -rf "$work" "$APT_SRC_DIR/lists" "$APT_SRC_DIR/cache"
  log "installed pgvector $debian_version (extension version $(installed_pgvector_version))"
}

timed "apt postgresql-$PG_MAJOR + server-dev" apt_ensure "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" dpkg-dev make
[ -x "$PG_CONFIG" ] || die "missing $PG_CONFIG after installing postgresql-server-dev-$PG_MAJOR"

# BAKEOFF_REBUILD_PGVECTOR=1 forces a rebuild (e.g. after a PostgreSQL upgrade).
if [ -f "$("$PG_CONFIG" --sharedir)/extension/vector.control" ] && [ -z "${BAKEOFF_REBUILD_PGVECTOR:-}" ]; then
  log "reusing pgvector $(installed_pgvector_version) ($(cat "$PGVECTOR_VERSION_FILE" 2>/dev/null || echo 'not built by us'))"
else
  timed "pgvector build" build_pgvector
fi
log "PostgreSQL binaries: $PG_BIN ($("$PG_BIN/postgres" --version))"
