#!/usr/bin/env bash
# The wasm32 simd128 CPU kernels (src/simd/wasm128.rs) against the scalar ones, run in Node:
# tests/wasm_simd compiles src/simd alone for wasm32 with +simd128 and exports `selftest`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR=target/wasm_simd
RUSTFLAGS="-C target-feature=+simd128" cargo build --release --quiet \
    --manifest-path tests/wasm_simd/Cargo.toml --target wasm32-unknown-unknown
node tests/wasm_simd/run.mjs target/wasm_simd/wasm32-unknown-unknown/release/wasm_simd.wasm
