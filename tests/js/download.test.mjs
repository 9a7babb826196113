// Downloads that stop halfway (issue 14, fault 3): an abort, or one failed piece, leaves every
// piece that finished in the cache, so the next load fetches only the rest.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEngine } from '../../pkg/webslm.js';
import { fakeModel, installCaches, installFetch, installNavigator, MiB } from './fakes.mjs';

const URL_ = '/m/model.safetensors';
const pieceKeys = (store) => [...store.keys()].filter((k) => k.includes('webslm_bytes')).sort();

test('an aborted download rejects with AbortError and keeps its finished pieces', async () => {
  const size = 20 * MiB; // pieces at 0, 8 and 16 MiB
  const { files, spec } = fakeModel('feature-extraction', size);
  const never = new Promise(() => {});
  installFetch(files, { hold: (_url, start) => (start === 16 * MiB ? never : null) });
  const store = installCaches();
  installNavigator();
  const controller = new AbortController();
  const loaded = [];
  const onProgress = (p) => {
    loaded.push(p.loaded);
    if (p.loaded === 16 * MiB) controller.abort();
  };
  await assert.rejects(createEngine(spec, { worker: false, onProgress, signal: controller.signal }), { name: 'AbortError' });
  assert.deepEqual(loaded, [8 * MiB, 16 * MiB]);
  assert.deepEqual(pieceKeys(store), [`${URL_}?webslm_bytes=0-8388608`, `${URL_}?webslm_bytes=8388608-16777216`]);

  // Resuming fetches the last piece only.
  const resumed = installFetch(files);
  const engine = await createEngine(spec, { worker: false });
  assert.equal(engine.loadInfo.fetchedBytes, 4 * MiB);
  assert.deepEqual(
    resumed.filter((c) => c.url === URL_).map((c) => c.range),
    [`bytes=${16 * MiB}-${size - 1}`],
  );
});

test('a failed piece still lets the pieces in flight finish and be cached', async () => {
  const size = 20 * MiB;
  const { files, spec } = fakeModel('feature-extraction', size);
  // Piece 0 fails at once; pieces 1 and 2 arrive later, after the failure is known.
  let release;
  const later = new Promise((r) => {
    release = r;
  });
  installFetch(files, { hold: (_url, start) => (start === 0 ? 'fail' : later) });
  const store = installCaches();
  installNavigator();
  setTimeout(() => release(), 50);
  await assert.rejects(createEngine(spec, { worker: false }), { name: 'NetworkError' });
  // Before the fix the load rejected at once and these two were lost.
  assert.deepEqual(pieceKeys(store), [`${URL_}?webslm_bytes=16777216-20971520`, `${URL_}?webslm_bytes=8388608-16777216`]);
});

test('an abort before the load starts fetches nothing', async () => {
  const { files, spec } = fakeModel('feature-extraction', 1 * MiB);
  const calls = installFetch(files);
  installCaches();
  installNavigator();
  await assert.rejects(createEngine(spec, { worker: false, signal: AbortSignal.abort() }), { name: 'AbortError' });
  assert.deepEqual(calls, []);
});
