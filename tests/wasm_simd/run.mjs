// Runs tests/wasm_simd's `selftest` export (see lib.rs) in Node: exit 0 when every simd128 dot
// product agrees with the scalar one.
import { readFileSync } from 'node:fs';

const [file] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(readFileSync(file), {});
const code = instance.exports.selftest();
if (code !== 0) {
  console.error(`wasm simd128 selftest failed: code ${code} (1000 * (format index + 1) + case; 9999 = no simd128)`);
  process.exit(1);
}
console.log('wasm simd128 selftest: every dot product matches the scalar one');
