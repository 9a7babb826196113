#!/usr/bin/env bash
# Builds the browser package in pkg/: the wasm (wasm32-unknown-unknown, release) and its
# wasm-bindgen glue (--target web, wasm-bindgen-cli at exactly the crate's version) go to
# pkg/generated/ (git-ignored, never edited by hand), then wasm-opt shrinks the wasm when
# binaryen is installed. The hand-written modules (pkg/*.js, one per job; pkg/webslm.js re-exports
# the API; pkg/webslm.d.ts) import from pkg/generated/ through pkg/wasm.js and pkg/models.js.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/wasm-bindgen-cli.sh --check

cargo build --release --lib --target wasm32-unknown-unknown
rm -rf pkg/generated
wasm-bindgen --target web --out-dir pkg/generated --out-name webslm_wasm \
    target/wasm32-unknown-unknown/release/webslm.wasm
# npm's binaryen (package.json): Debian's wasm-opt 108 emits a wasm that fails to load.
opt=node_modules/.bin/wasm-opt
if [[ -x "$opt" ]]; then
    "$opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-reference-types \
        --enable-multivalue --enable-sign-ext --enable-mutable-globals \
        pkg/generated/webslm_wasm_bg.wasm -o pkg/generated/webslm_wasm_bg.wasm
else
    echo "node_modules/.bin/wasm-opt missing (npm install): the wasm is not size-optimised" >&2
fi
# The catalogue, shared with the CLI, as an ES module.
{ printf 'export default '; cat src/catalogue/models.json; printf ';\n'; } > pkg/generated/catalogue.js
raw=$(stat -c %s pkg/generated/webslm_wasm_bg.wasm)
gz=$(gzip -9 -c pkg/generated/webslm_wasm_bg.wasm | wc -c)
echo "pkg/generated/webslm_wasm_bg.wasm: $raw bytes, $gz gzipped"
