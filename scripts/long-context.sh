#!/usr/bin/env bash
# The whole long-context matrix (tests/model_long_context.rs, ignored tests included): the three
# shipped GGUFs scored on the 1.7k-token passage and generating after it, against llama.cpp.
# About an hour on lavapipe, so CI runs a slice (scripts/test.sh); this writes the full run's
# output to tests/fixtures/models/long_context.out for the record.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
out=tests/fixtures/models/long_context.out
{
    echo "# scripts/long-context.sh at $(git rev-parse --short HEAD) on $(date -u +%F)"
    cargo test --release --test model_long_context -- --include-ignored --nocapture --test-threads 1 2>&1 \
        | grep -v XDG_RUNTIME_DIR
} | tee "$out"
