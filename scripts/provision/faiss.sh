#!/usr/bin/env bash
# Builds faiss-node's native addon offline against Debian's libfaiss-dev (1.7.3).
# faiss-node 0.5.1's own install script downloads a prebuild, then git-clones faiss: neither works
# here, and .npmrc sets ignore-scripts so npm never tries. Instead we patch its one source file
# (scripts/provision/faiss/*.patch: faiss 1.7.3 idx_t, an nprobe setter, C++ exceptions turned into
# JS errors, Float32Array input) and build it with plain CMake (scripts/provision/faiss/CMakeLists.txt).
# The addon is cached in $BAKEOFF_CACHE keyed by faiss-node version, Node ABI and recipe hash, and
# copied into node_modules/faiss-node/build/Release/ (a fresh `npm ci` never has it).
#
# Why not cmake-js: on Linux it only contributes the Node header path and the output directory,
# and it gets the headers by downloading them. Node's headers are already on this machine.
PROVISION_PART=faiss
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RECIPE_DIR="$REPO_ROOT/scripts/provision/faiss"
FAISS_NODE_DIR="$REPO_ROOT/node_modules/faiss-node"
ADDON_API_DIR="$REPO_ROOT/node_modules/node-addon-api"
EXPECTED_VERSION=0.5.1
# sha256 of faiss-node 0.5.1's src/faiss.cc, the file the patch applies to.
EXPECTED_SRC_SHA=b6c71f71706005e50b1e876658ec2e102716c00d5028cc0e8579bae54058b5ef
PATCH_FILE="$RECIPE_DIR/faiss-node-$EXPECTED_VERSION.patch"

need_cmd node "install Node.js 20 (Debian: nodejs)"
[ -f "$FAISS_NODE_DIR/package.json" ] || die "node_modules/faiss-node is missing: run 'npm ci' first"
[ -f "$ADDON_API_DIR/napi.h" ] || die "node_modules/node-addon-api is missing: run 'npm ci' first"
version=$(node -p "require('$FAISS_NODE_DIR/package.json').version")
[ "$version" = "$EXPECTED_VERSION" ] || die "faiss-node $version installed, but $PATCH_FILE targets $EXPECTED_VERSION"

# The addon links libfaiss.a statically; these also bring the runtime libraries (OpenBLAS, LAPACK, libgomp).
apt_ensure libfaiss-dev libopenblas-dev liblapack-dev

abi=$(node -p process.versions.modules)
recipe=$(cat "$RECIPE_DIR/CMakeLists.txt" "$PATCH_FILE" | sha256sum | cut -c1-12)
key="faiss-node-$version-abi$abi-$recipe"
cached="$BAKEOFF_CACHE/faiss/$key/faiss-node.node"
target="$FAISS_NODE_DIR/build/Release/faiss-node.node"

# Node's own headers (node_api.h): npm's nodedir setting, then beside the running node, then Debian's path.
find_node_headers() {
  local nodedir candidates=()
  nodedir=$(npm config get nodedir 2>/dev/null || true)
  [ -n "$nodedir" ] && [ "$nodedir" != undefined ] && [ "$nodedir" != null ] && candidates+=("$nodedir/include/node")
  candidates+=("$(dirname "$(dirname "$(command -v node)")")/include/node" /usr/include/node)
  local dir
  for dir in "${candidates[@]}"; do
    [ -f "$dir/node_api.h" ] && { printf '%s\n' "$dir"; return 0; }
  done
  return 1
}

build_addon() {
  apt_ensure cmake g++ make patch
  local headers work
  headers=$(find_node_headers) \
    || die "Node headers (node_api.h) not found in npm's nodedir, beside $(command -v node) or /usr/include/node (Debian: apt-get install libnode-dev)"
  log "Node headers: $headers"
  work="$BAKEOFF_CACHE/build/$key"
  rm -rf "$work" && mkdir -p "$work/src"
  cp "$FAISS_NODE_DIR/src/faiss.cc" "$work/src/faiss.cc"
  echo "$EXPECTED_SRC_SHA  $work/src/faiss.cc" | sha256sum -c --quiet - >/dev/null 2>&1 \
    || die "node_modules/faiss-node/src/faiss.cc differs from faiss-node $EXPECTED_VERSION's; cannot apply $PATCH_FILE"
  log "patching faiss.cc with $(basename "$PATCH_FILE")"
  patch --quiet -d "$work/src" -p1 < "$PATCH_FILE" || die "patch $PATCH_FILE did not apply"
  log "cmake configure + build in $work"
  cmake -S "$RECIPE_DIR" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
    -DFAISS_NODE_SRC="$work/src" -DNODE_API_INCLUDE_DIR="$headers" -DNODE_ADDON_API_DIR="$ADDON_API_DIR" \
    >"$work/cmake.log" 2>&1 || die "cmake configure failed, see $work/cmake.log"
  cmake --build "$work/build" -j "$(nproc)" >"$work/build.log" 2>&1 || die "compile failed, see $work/build.log"
  mkdir -p "$(dirname "$cached")"
  cp "$work/build/faiss-node.node" "$cached.tmp" && mv "$cached.tmp" "$cached"
  rm -rf "$work"
}

if [ -f "$cached" ]; then
  log "reusing $cached"
else
  log "building $key"
  timed "faiss-node build" build_addon
fi

if ! cmp -s "$cached" "$target" 2>/dev/null; then
  mkdir -p "$(dirname "$target")"
  cp "$cached" "$target.tmp" && mv "$target.tmp" "$target"
  log "installed $target"
fi

# Smoke check: the addon loads and carries the project's binding patch (nprobe really set).
node -e "
const f = require('$FAISS_NODE_DIR');
const ivf = f.Index.fromFactory(2, 'IVF2,Flat', f.MetricType.METRIC_INNER_PRODUCT);
if (typeof ivf.setNprobe !== 'function') throw new Error('addon lacks setNprobe: the binding patch is missing');
ivf.train(Float32Array.from({ length: 2 * 100 }, (_, i) => ((i * 7919) % 101) / 101));
ivf.setNprobe(2);
if (ivf.getNprobe() !== 2) throw new Error('setNprobe had no effect');
" || die "the built addon failed its smoke check ($target); delete $cached to rebuild"
log "faiss-node $version ready (Node ABI $abi)"
