#!/usr/bin/env bash
# Is the software kernel path (what lavapipe and SwiftShader run) slower than before issue 16?
# Builds `webslm` at BASE (default 51d005d, main just before issue 16's first commit 42e71a3) in a
# target dir of its own, builds this checkout, then runs `webslm bench` alternately with each
# (ABBA order per round, so drift and other jobs on the machine hit both alike) and writes
# bench/results/software-ab-<date>.md with the medians, new/old ratios and, because the machine is
# shared, the spread of the ratio between the runs of one round.
#
#   scripts/bench/software-ab.sh [--base REV] [--rounds N] [--prompt N] [--decode N] [--models a,b]
#                                [--kv-f32] [--no-base] [--profile N] [--out FILE]
#
# Both binaries run on the adapter's own path (software on lavapipe) with their default KV cache:
# f32 before issue 16, f16 after, as users get them. --kv-f32 adds a third arm, this checkout with
# `--kv f32`, to tell the f16 cache's cost from the rest of what changed; --profile N times each
# kernel over N decoded tokens in every run and tabulates the per-kernel ms per token by arm.
# --no-base (with --kv-f32) skips the base build and compares the two arms of this checkout alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"

base=51d005d rounds=3 prompt=128 decode=32 kv_f32=false profile=0 with_base=true
out="bench/results/software-ab-$(date -u +%Y-%m-%d).md"
models=(models/SmolLM2-135M-Instruct.Q4_1.gguf models/gemma-3-270m-q4_k_m.gguf)
while (($#)); do
    case "$1" in
    --base) base="$2" && shift 2 ;;
    --rounds) rounds="$2" && shift 2 ;;
    --prompt) prompt="$2" && shift 2 ;;
    --decode) decode="$2" && shift 2 ;;
    --models) IFS=, read -r -a models <<<"$2" && shift 2 ;;
    --kv-f32) kv_f32=true && shift ;;
    --no-base) with_base=false && shift ;;
    --profile) profile="$2" && shift 2 ;;
    --out) out="$2" && shift 2 ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2 && exit 2 ;;
    esac
done

work="${AB_WORK:-/tmp/webslm-ab}"
base_src="${AB_BASE_SRC:-$work/src-$base}" base_target="${AB_BASE_TARGET:-$work/target}"
if $with_base && [[ ! -d "$base_src" ]]; then
    mkdir -p "$base_src"
    git archive "$base" | tar -x -C "$base_src"
fi
if $with_base; then
    echo "==> building $base in $base_target"
    (cd "$base_src" && CARGO_TARGET_DIR="$base_target" nice cargo build --release --quiet --bin webslm)
fi
# AB_NEW_BIN: an already built binary of this checkout (`cargo build` resolves dependency features
# without the dev-dependencies, so after `cargo test` it rebuilds naga and more: many minutes here).
new="${AB_NEW_BIN:-target/release/webslm}"
if [[ -z "${AB_NEW_BIN:-}" ]]; then
    echo "==> building this checkout"
    nice cargo build --release --quiet --bin webslm
fi
old="$base_target/release/webslm"
runs="$work/runs"
rm -rf "$runs" && mkdir -p "$runs"

# arm -> binary and extra flags.
arms=(new)
if $with_base; then arms=(old new); fi
if $kv_f32; then arms+=(newf32); fi
bin_of() { case "$1" in old) echo "$old" ;; *) echo "$new" ;; esac }
flags_of() {
    local f=()
    if [[ "$1" == newf32 ]]; then f+=(--kv f32); fi
    if ((profile > 0)); then f+=(--profile "$profile"); fi
    echo "${f[@]}"
}
bench() { # arm model round
    local json="$runs/$(basename "$2" .gguf).$1.$3.json"
    echo "==> round $3: $1 on $(basename "$2")"
    # shellcheck disable=SC2046 # flags_of prints whole words
    "$(bin_of "$1")" bench --model "$2" --runs 1 --prompts "$prompt" --decode "$decode" --cost-tokens 2 \
        $(flags_of "$1") --json "$json" >/dev/null
}
for ((r = 1; r <= rounds; r++)); do
    for m in "${models[@]}"; do
        # Odd rounds run the arms in order, even rounds reversed (ABBA, or ABCCBA with --kv-f32).
        order=("${arms[@]}")
        if ((r % 2 == 0)); then
            order=()
            for ((i = ${#arms[@]} - 1; i >= 0; i--)); do order+=("${arms[i]}"); done
        fi
        for arm in "${order[@]}"; do bench "$arm" "$m" "$r"; done
    done
done

python3 scripts/bench/software_ab_report.py "$runs" "$out" "$base" "$(git rev-parse --short HEAD)" \
    "$rounds $prompt $decode $(uptime | sed 's/.*load average: //')"
