#!/usr/bin/env bash
# The main job (README): build the CLI and the browser package, fetch the models, print a CLI
# generation (so a terminal-only user sees the model work), then serve the demos on
# http://127.0.0.1:8080/www/ until stopped (Ctrl+C). Set WEBSLM_NO_SERVE=1 to skip serving.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
cargo build --release
scripts/fetch-models.sh
./target/release/webslm info
./target/release/webslm generate --model models/SmolLM2-135M-Instruct.Q4_1.gguf \
    --prompt "The three most useful things to know about the Moon are" --max-tokens 48 --temperature 0
echo
if [[ -n "${WEBSLM_NO_SERVE:-}" ]]; then
    exit 0
fi
# The browser package needs wasm-bindgen-cli at Cargo.lock's version and npm's wasm-opt.
scripts/wasm-bindgen-cli.sh
[[ -d node_modules ]] || npm ci --no-audit --no-fund
scripts/build-pkg.sh
exec node scripts/serve.mjs 8080
