// Storage faults (issue 14, fault 4): a storage shortfall is a QuotaExceededError, with the bytes
// needed and available, before any byte is fetched; a Cache API that refuses to open means
// loading without a cache, with one console warning.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEngine, WebslmError } from '../../pkg/webslm.js';
import { fakeModel, installCaches, installFetch, installNavigator, MiB } from './fakes.mjs';

test('a quota shortfall is a QuotaExceededError with needed and available bytes, before any weight fetch', async () => {
  const size = 20 * MiB;
  const { files, spec } = fakeModel('feature-extraction', size);
  const calls = installFetch(files);
  installCaches();
  installNavigator({ quota: 10 * MiB, usage: 1 * MiB });
  await assert.rejects(createEngine(spec, { worker: false }), (e) => {
    assert.ok(e instanceof WebslmError);
    assert.equal(e.name, 'QuotaExceededError');
    assert.equal(e.needed, size);
    assert.equal(e.available, 9 * MiB);
    return true;
  });
  // config.json alone, read first for the checkpoint's task (pkg/task.js).
  assert.deepEqual(
    calls.map((c) => c.url),
    ['/m/config.json'],
    'nothing but config.json may be fetched before the quota check',
  );
});

test('the quota check counts only the pieces not cached yet', async () => {
  const size = 20 * MiB;
  const { files, spec } = fakeModel('feature-extraction', size);
  installFetch(files);
  const store = installCaches();
  // Two of the three 8 MiB pieces are cached: 4 MiB are missing, 5 MiB available.
  const bytes = files['/m/model.safetensors'];
  store.set('/m/model.safetensors?webslm_bytes=0-8388608', bytes.slice(0, 8 * MiB));
  store.set('/m/model.safetensors?webslm_bytes=8388608-16777216', bytes.slice(8 * MiB, 16 * MiB));
  installNavigator({ quota: 6 * MiB, usage: 1 * MiB });
  const engine = await createEngine(spec, { worker: false });
  assert.equal(engine.loadInfo.fetchedBytes, 4 * MiB);
});

test('caches.open failing means no cache and a console warning, not a crash', async () => {
  const size = 9 * MiB;
  const { files, spec } = fakeModel('feature-extraction', size);
  const calls = installFetch(files);
  installCaches({ openThrows: new DOMException('The operation is insecure.', 'SecurityError') });
  // No quota to check without a cache: a tiny quota must not matter.
  installNavigator({ quota: 1, usage: 0 });
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.join(' '));
  try {
    const engine = await createEngine(spec, { worker: false });
    const out = await engine.embeddings.create({ input: ['a', 'b'] });
    assert.equal(out.data.length, 2);
    assert.equal(engine.loadInfo.fromCache, false);
    const again = await createEngine(spec, { worker: false });
    assert.equal(again.loadInfo.fetchedBytes, size, 'without a cache the second load downloads again');
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1, `one warning, got ${JSON.stringify(warnings)}`);
  assert.match(warnings[0], /Cache API is unavailable.*insecure/);
  assert.equal(calls.filter((c) => c.url === '/m/model.safetensors').length, 4, '2 pieces, twice');
});
