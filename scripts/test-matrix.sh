#!/usr/bin/env bash
# The full test matrix of issue 16, too slow for CI: every kernel suite and every model golden on
# both kernel paths (WEBSLM_KERNELS=software|gpu) and on each device variant
# (WEBSLM_DEVICE_VARIANT: subgroups on and off, no shader-f16, weights split into small parts),
# at the tolerances the tests have. Cells run one after another (the machine has 2 cores), and
# bench/results/test-matrix-<date>.md is rewritten after each, so a run cut short still reports
# what it measured. CI (scripts/test.sh) runs a slice of it.
#
#   scripts/test-matrix.sh [--fresh] [--suites a,b] [--configs software/plain,gpu/no-f16] [--out FILE]
#
# Per-cell logs go to target/test-matrix/; the report lists pass/fail per cell and, per GGUF and
# config, the f16-KV-cache argmax agreement and perplexity that tests/model_goldens.rs measured.
# Cells accumulate over runs (a later run of a cell replaces its result) until --fresh, so the
# matrix can be run in parts, most important first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"

# Cheap suites first, then the model goldens, so a short run still covers every kernel.
all_suites=(kernels_matmul kernels_ops kernels_mask loop_limit quant_fixtures layers kv_ring gpu_stats
    decoder_fixtures encoder_goldens model_goldens encoder_minilm)
all_configs=(software/plain gpu/plain gpu/no-subgroups gpu/no-f16 gpu/split software/no-subgroups
    software/no-f16 software/split)
suites=("${all_suites[@]}") configs=("${all_configs[@]}")
out="bench/results/test-matrix-$(date -u +%Y-%m-%d).md"
fresh=false
while (($#)); do
    case "$1" in
    --fresh) fresh=true && shift ;;
    --suites) IFS=, read -r -a suites <<<"$2" && shift 2 ;;
    --configs) IFS=, read -r -a configs <<<"$2" && shift 2 ;;
    --out) out="$2" && shift 2 ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2 && exit 2 ;;
    esac
done

# Split weights: 4 KiB parts for the kernel suites' small tensors (every weight splits), 512 KiB
# for real models (a 4 KiB split of a 262144-row embedding would be 40,000 dispatches; 512 KiB
# still splits every FFN projection and the embeddings into 2-700 parts).
split_for() {
    case "$1" in
    model_goldens | encoder_minilm) echo 524288 ;;
    *) echo 4096 ;;
    esac
}

logs=target/test-matrix
mkdir -p "$logs" "$(dirname "$out")"
results="$logs/results.tsv"
if $fresh || [[ ! -f "$results" ]]; then : >"$results"; fi
echo "==> building the test binaries"
nice cargo test --release --no-run $(printf -- '--test %s ' "${suites[@]}") 2>&1 | tail -1

for config in "${configs[@]}"; do
    for suite in "${suites[@]}"; do
        path="${config%%/*}" variant="${config#*/}"
        case "$variant" in
        plain) spec="" ;;
        split) spec="split=$(split_for "$suite")" ;;
        *) spec="$variant" ;;
        esac
        log="$logs/$suite.${config/\//.}.log"
        echo "==> $suite on $config (WEBSLM_KERNELS=$path WEBSLM_DEVICE_VARIANT=$spec)"
        start=$SECONDS
        if WEBSLM_KERNELS="$path" WEBSLM_DEVICE_VARIANT="$spec" CI=true \
            nice cargo test --release --test "$suite" -- --nocapture --test-threads=1 >"$log" 2>&1; then
            status=pass
        else
            status=FAIL
        fi
        printf '%s\t%s\t%s\t%s\t%s\n' "$suite" "$config" "$status" "$((SECONDS - start))" "$log" >>"$results"
        echo "    $status in $((SECONDS - start)) s"
        python3 scripts/test_matrix_report.py "$results" "$out" "${all_suites[*]}" "${all_configs[*]}"
    done
done
echo "==> $out"
