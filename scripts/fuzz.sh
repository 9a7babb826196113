#!/usr/bin/env bash
# Fuzzes webslm's untrusted inputs with cargo-fuzz (libFuzzer): GGUF headers and vocabularies,
# safetensors headers, tokenizer.json, HF config.json / tokenizer_config.json and chat templates
# (fuzz/harness.rs says what each target does). Each target runs for N seconds (default 120),
# starting from the committed seeds in fuzz/seeds/<target>/, the committed crash inputs in
# fuzz/regressions/<target>/ and what earlier runs found (fuzz/corpus/, ignored).
# Exits non-zero when a target crashes, hangs or runs out of memory; libFuzzer leaves the input in
# fuzz/artifacts/<target>/. Reproduce with `cargo +nightly fuzz run <target> <file>`, fix, then
# commit the input to fuzz/regressions/<target>/ so tests/fuzz_replay.rs replays it on stable.
#
#   scripts/fuzz.sh [seconds_per_target] [target ...]
#
# FUZZ_SANITIZER (default none, or address) picks cargo-fuzz's sanitizer. None by default: the
# code under test is safe Rust, so what fuzzing can find here is panics, hangs and runaway memory,
# which libFuzzer catches without ASan; ASan would only add a slower build and slower runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs="${1:-120}"
shift || true
targets=("$@")
sanitizer="${FUZZ_SANITIZER:-none}"

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
# Optimised with debug assertions (cargo-fuzz's default): an arithmetic overflow in a parser is a
# crash here rather than a wrapped size.
flags=(--sanitizer "$sanitizer")

((${#targets[@]})) || mapfile -t targets < <("${fuzz[@]}" list)

# One build for every target: they share all their dependencies, and `run` below then finds
# them built.
echo "==> building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)"
start=$SECONDS
"${fuzz[@]}" build "${flags[@]}"
echo "==> built in $((SECONDS - start)) s"

failed=()
for t in "${targets[@]}"; do
    echo "==> $t: ${secs}s"
    mkdir -p "fuzz/corpus/$t" "fuzz/regressions/$t"
    # -rss_limit_mb: a parser that allocates without bound is a failure, not a slow run.
    # -timeout: one input taking over 10 s is a hang (the chat template fuel should stop loops).
    if ! "${fuzz[@]}" run "${flags[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/regressions/$t" -- \
        -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1; then
        failed+=("$t")
    fi
done

if ((${#failed[@]})); then
    echo "FUZZ FAILED: ${failed[*]} (inputs in fuzz/artifacts/; commit each to fuzz/regressions/<target>/ with the fix)" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets x ${secs}s, no crashes"
