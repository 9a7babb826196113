#!/usr/bin/env bash
# The real-GPU benchmark (issue 16): on a machine with a hardware GPU, `webslm bench` on both
# kernel paths (`--kernels software` and `--kernels gpu`) for every GGUF in models/, then the
# browser bench (scripts/bench/browser.mjs) in Chromium on the real adapter on both paths, into
# one report, bench/results/gpu-<date>.md (the raw JSON next to it, in bench/results/gpu-<date>/).
#
#   scripts/bench/gpu.sh [--runs 3] [--decode 64] [--prompts 128] [--skip-browser]
#                        [--browser-models smollm2,gemma3,qwen] [--webslm target/release/webslm]
#                        [--out FILE.md]
#   scripts/bench/gpu.sh --allow-software     # a smoke test on a software adapter: not a result
#
# It stops, before any benchmark, when `webslm info` says the adapter is a software one
# (lavapipe, SwiftShader, WARP): their timings say nothing about real GPUs. --allow-software
# runs anyway for a smoke test, writes to /tmp unless --out says otherwise, and marks the report
# as not a result. Build the binary where cargo is (`cargo build --release`) and carry it:
# --webslm (or $WEBSLM) points at it; the browser bench needs pkg/ built (scripts/build-pkg.sh),
# node_modules (playwright-core) and /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

webslm=${WEBSLM:-target/release/webslm}
command="scripts/bench/gpu.sh $*" # for the report, before the options are shifted away
runs=3 decode=64 prompts=128 allow_software=0 browser=1 out= browser_models=smollm2,gemma3,qwen
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --decode) decode=$2; shift 2 ;;
        --prompts) prompts=$2; shift 2 ;;
        --webslm) webslm=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --allow-software) allow_software=1; shift ;;
        --skip-browser) browser=0; shift ;;
        --browser-models) browser_models=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "gpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
[[ -x $webslm ]] || { echo "gpu.sh: $webslm is missing: cargo build --release (or --webslm PATH)" >&2; exit 2; }

# The adapter, before anything else: a software adapter is a clear error unless --allow-software.
info=$("$webslm" info)
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$info" "$1"; }
adapter="$(field adapter) ($(field backend))"
if [[ $(field software) == True ]]; then
    if [[ $allow_software == 0 ]]; then
        echo "gpu.sh: no hardware GPU: the adapter is $adapter, a software adapter (a CPU emulating a GPU)." >&2
        echo "        This script measures real GPUs; run it on a machine with one (--allow-software: smoke test only)." >&2
        exit 3
    fi
    echo "gpu.sh: SMOKE TEST on the software adapter $adapter: the output is not a result" >&2
fi

date=$(date -u +%Y-%m-%d)
if [[ -z $out ]]; then
    if [[ $allow_software == 1 ]]; then out=/tmp/webslm-gpu-smoke-$date.md; else out=bench/results/gpu-$date.md; fi
fi
raw=${out%.md}
mkdir -p "$raw"

mapfile -t models < <(ls models/*.gguf)
[[ ${#models[@]} -gt 0 ]] || { echo "gpu.sh: no GGUF in models/ (scripts/fetch-models.sh)" >&2; exit 2; }

for model in "${models[@]}"; do
    name=$(basename "$model" .gguf)
    for path in software gpu; do
        echo "== webslm bench $name --kernels $path" >&2
        "$webslm" bench --model "$model" --kernels "$path" --runs "$runs" --prompts "$prompts" \
            --decode "$decode" --json "$raw/native-$name-$path.json" >&2
    done
done

if [[ $browser == 1 ]]; then
    soft=()
    [[ $allow_software == 1 ]] && soft=(--allow-software)
    # The ids www/bench.js knows for the shipped GGUFs.
    for path in software gpu; do
        echo "== browser bench --kernels $path" >&2
        node scripts/bench/browser.mjs --real-gpu "${soft[@]}" --kernels "$path" --models "$browser_models" \
            --runs "$runs" --prompt-tokens 32 --decode-tokens "$decode" --threads 1 \
            --out "$raw/browser-$path.json" >&2
    done
fi

python3 scripts/bench/gpu_report.py --raw "$raw" --adapter "$adapter" --smoke "$allow_software" \
    --command "$command" > "$out"
echo "wrote $out (raw JSON in $raw/)" >&2
