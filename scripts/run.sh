#!/usr/bin/env bash
# The main job (README): build, fetch the default model, and run what webslm can do today.
# Today that is the GPU kernel library: print the adapter and a quick kernel benchmark against
# the CPU twins. Text generation (issue 4) and the browser demo (issues 7-8) will extend this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
cargo build --release
scripts/fetch-models.sh smollm2-135m-instruct
./target/release/webslm info
./target/release/webslm bench-kernels --quick
