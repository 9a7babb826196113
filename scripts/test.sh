#!/usr/bin/env bash
# The test command (README): every kernel against its CPU twin on the native GPU, the format
# fixtures and error paths, the models against their references, then the browser package in
# headless Chromium. With CI=true a missing GPU adapter fails the GPU tests instead
# of skipping them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# lavapipe and the Vulkan loader complain without a runtime dir; Vulkan is the native backend
# on Linux (set WGPU_BACKEND yourself to try another).
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
cargo test --release "$@"
# A slice of scripts/test-matrix.sh (the full matrix: every kernel suite and model golden on both
# kernel paths and each device variant; its output is bench/results/test-matrix-*.md). The kernel
# suites already loop over both paths and their variants; here the host-side counts (compute
# passes, queue writes, bind groups per decoded token) on the other kernel path, and a real model
# on the real-GPU kernels with subgroups off (workgroup-memory reductions, what the browser build
# runs: wgpu reports no subgroups on the web): SmolLM2 against its fp32 and llama.cpp goldens on
# the f16 KV cache.
WEBSLM_KERNELS=gpu cargo test --release --test gpu_stats
WEBSLM_KERNELS=gpu WEBSLM_DEVICE_VARIANT=no-subgroups cargo test --release --test model_goldens smollm2_matches_references
# LoRA adapters on the real-GPU kernels (about 10 s): their prefill runs the tiled GEMM, whose f16
# weight tile a Q8_0 adapter must not go through (Precision::Exact).
WEBSLM_KERNELS=gpu cargo test --release --test lora --test lora_encoder

# The JS package's own logic in Node, with the wasm glue stubbed (tests/js/register.mjs): aborts,
# storage faults, the error kinds and sampling defaults against the Rust side.
node --import ./tests/js/register.mjs --test tests/js/

# The wasm32 simd128 CPU kernels against the scalar ones, in Node (a small crate of src/simd alone,
# about 20 s to build).
scripts/test-wasm-simd.sh

# The browser package end to end in headless Chromium (tests/e2e/). It needs Chromium, the npm
# packages and wasm-bindgen-cli (.ci/run installs them); under CI=true they are required.
if [[ -x /usr/bin/chromium && -d node_modules/playwright-core ]] && command -v wasm-bindgen >/dev/null; then
    scripts/build-pkg.sh
    node --test --test-concurrency=1 tests/e2e/
    # The page and worker machinery again with every core kept busy: a slow machine must make the
    # pages slower, never stuck, so a test failing or none ending for the stall deadline fails
    # here (issue 14). These files cover loading, generation, aborts, device loss, specs and the
    # demos; structured.test.mjs and kernels.test.mjs only generate through the same calls with
    # another option, and under load took 338 s of CI's 60 minutes, so they run once, above.
    node --test tests/load/ # the hang detection itself, on fixtures (seconds)
    node tests/load/under-load.mjs tests/e2e/abort.test.mjs tests/e2e/browser.test.mjs \
        tests/e2e/demos.test.mjs tests/e2e/device_loss.test.mjs tests/e2e/hub_mirror.test.mjs \
        tests/e2e/specs.test.mjs
elif [[ "${CI:-}" == "true" ]]; then
    echo "CI=true but Chromium, node_modules or wasm-bindgen is missing for the browser tests" >&2
    exit 1
else
    echo "SKIPPED browser tests: install chromium, run npm ci, and install wasm-bindgen-cli (see .ci/run)" >&2
fi
