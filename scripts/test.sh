#!/usr/bin/env bash
# The test command (README): every kernel against its CPU twin on the native GPU, plus the
# format fixtures and error paths. With CI=true a missing GPU adapter fails the GPU tests instead
# of skipping them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# lavapipe and the Vulkan loader complain without a runtime dir; Vulkan is the native backend
# on Linux (set WGPU_BACKEND yourself to try another).
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
cargo test --release "$@"
