#!/usr/bin/env bash
# The main job (README): build, fetch the default model, print the adapter and a generation.
# The browser demo (issues 7-8) will be served from here too once it exists.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
cargo build --release
scripts/fetch-models.sh smollm2-135m-instruct
./target/release/webslm info
./target/release/webslm generate --model models/SmolLM2-135M-Instruct.Q4_1.gguf \
    --prompt "The three most useful things to know about the Moon are" --max-tokens 48 --temperature 0
