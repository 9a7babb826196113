#!/usr/bin/env bash
# wasm-bindgen-cli must be exactly the wasm-bindgen version in Cargo.lock (the glue it writes must
# match the crate). Installs it when missing or different (about 9 minutes); with --check it only
# says what to do.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" == "$want" ]]; then
    exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
    echo "wasm-bindgen-cli $want is needed (found: ${have:-none}): run scripts/wasm-bindgen-cli.sh" >&2
    exit 1
fi
echo "installing wasm-bindgen-cli $want (about 9 minutes, once)" >&2
rustup target add wasm32-unknown-unknown
cargo install wasm-bindgen-cli --version "$want"
