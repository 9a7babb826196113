#!/usr/bin/env bash
# Fuzzes webslm's untrusted inputs with cargo-fuzz (libFuzzer): GGUF and safetensors headers,
# tokenizer.json and chat templates. Each target runs for N seconds (default 120), starting from
# the committed seeds in fuzz/seeds/<target>/ plus what earlier runs found (fuzz/corpus/, ignored).
# Exits non-zero when a target crashes, hangs or runs out of memory; libFuzzer leaves the input
# in fuzz/artifacts/<target>/ (reproduce with `cargo fuzz run <target> <file>`).
#
#   scripts/fuzz.sh [seconds_per_target] [target ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs="${1:-120}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(gguf_header safetensors_header tokenizer_json chat_template)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

# cargo-fuzz needs nightly-only flags (-Zsanitizer, -Cpasses=sancov). Use a nightly toolchain when
# rustup has one; otherwise let the stable compiler accept them with RUSTC_BOOTSTRAP=1.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

failed=()
for t in "${targets[@]}"; do
    echo "==> $t: ${secs}s"
    mkdir -p "fuzz/corpus/$t"
    # -rss_limit_mb: a parser that allocates without bound is a failure, not a slow run.
    # -timeout: one input taking over 10 s is a hang (the chat template fuel should stop loops).
    if ! "${fuzz[@]}" run --release "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1; then
        failed+=("$t")
    fi
done

if ((${#failed[@]})); then
    echo "FUZZ FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets x ${secs}s, no crashes"
