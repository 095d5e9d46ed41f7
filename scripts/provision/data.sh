#!/usr/bin/env bash
# Evaluation data: the Perl and Python FAQs from Debian's perl-doc and python3.11-doc, turned into a
# corpus (FAQ answers without their question headings + distractor sections of the same manuals) and
# labelled cases with a fixed train/dev split, checksummed in manifest.json. See src/data/.
# Needs the compiled builder (npx tsc, run by scripts/setup.sh before this script).
PROVISION_PART=data
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DATA_DIR="${BAKEOFF_DATA_DIR:-$BAKEOFF_CACHE/data}"
BUILDER="$REPO_ROOT/dist/data/build-faq-dataset.js"

need_cmd node "install Node.js 20+"
need_cmd dpkg-query "the evaluation data is built from Debian packages (perl-doc, python3.11-doc)"
apt_ensure perl-doc python3.11-doc
[ -f "$BUILDER" ] || die "missing $BUILDER: compile the project first (npx tsc -p tsconfig.json)"

build_dataset() {
  node "$BUILDER" --out "$DATA_DIR" || die "dataset build failed (see output above)"
}

# --check exits 0 when manifest.json matches the installed package versions and the builder version
# and every file's checksum verifies; anything else (missing, stale, corrupted) means rebuild.
if node "$BUILDER" --check --out "$DATA_DIR"; then
  log "reusing $DATA_DIR"
else
  log "building FAQ dataset into $DATA_DIR"
  timed "dataset build" build_dataset
fi
