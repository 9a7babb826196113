// Module resolution hooks (see register.mjs): pkg/generated/* -> tests/js/stubs/*.
const STUBS = {
  '/generated/webslm_wasm.js': new URL('./stubs/wasm.mjs', import.meta.url).href,
  '/generated/catalogue.js': new URL('./stubs/catalogue.mjs', import.meta.url).href,
};

export async function resolve(specifier, context, next) {
  for (const [suffix, url] of Object.entries(STUBS)) {
    if (specifier.endsWith(suffix)) return { url, shortCircuit: true };
  }
  return next(specifier, context);
}
