// `node --import ./tests/js/register.mjs --test tests/js/`: the package's modules run in Node
// with the generated wasm glue replaced by stubs/wasm.mjs (a model made of plain JS that follows
// src/web.rs's contract) and the catalogue read from src/catalogue/models.json, so these tests
// need no wasm build and no GPU. What they check is the JS package's own logic.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
