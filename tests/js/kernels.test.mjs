// The `kernels` option (issue 16): it reaches the wasm side's device (WeightLoader.create and
// adapterInfo, as src/web.rs takes it), the chosen path comes back in loadInfo and checkSupport,
// and a value that is not a path is a GpuError before any byte is downloaded.

import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { checkSupport, createEngine, KERNEL_PATHS, WebslmError } from '../../pkg/webslm.js';
import { fakeModel, installCaches, installFetch, installNavigator, MiB } from './fakes.mjs';
import { state } from './stubs/wasm.mjs';

let model;
let calls;

beforeEach(() => {
  installCaches();
  installNavigator();
  model = fakeModel('text-generation', 1 * MiB);
  calls = installFetch(model.files);
  state.lastKernels = 'unset';
});

test('kernels: gpu reaches the device, and loadInfo says which path runs and why', async () => {
  const engine = await createEngine(model.spec, { worker: false, kernels: 'gpu' });
  assert.equal(state.lastKernels, 'gpu');
  assert.deepEqual(engine.loadInfo.kernels, { path: 'gpu', reason: 'requested by the caller' });
});

test('without kernels the adapter decides (the stub is a software adapter)', async () => {
  const engine = await createEngine(model.spec, { worker: false });
  assert.equal(state.lastKernels, undefined);
  assert.equal(engine.loadInfo.kernels.path, 'software');
  assert.match(engine.loadInfo.kernels.reason, /software adapter/);
});

test('an encoder takes kernels too', async () => {
  const engine = await createEngine({ ...model.spec, task: 'feature-extraction' }, { worker: false, kernels: 'software' });
  assert.equal(state.lastKernels, 'software');
  assert.equal(engine.loadInfo.kernels.path, 'software');
});

test('an unknown kernel path is a GpuError before anything is fetched', async () => {
  for (const kernels of ['fast', 'GPU ', 3]) {
    await assert.rejects(
      createEngine(model.spec, { worker: false, kernels: /** @type {any} */ (kernels) }),
      (e) => e instanceof WebslmError && e.name === 'GpuError' && /expected auto, software or gpu/.test(e.message),
    );
  }
  assert.deepEqual(calls, []);
  assert.equal(state.lastKernels, 'unset');
  assert.deepEqual([...KERNEL_PATHS], ['auto', 'software', 'gpu']);
});

test('checkSupport reports the kernel path the adapter gets, with the kernels option', async () => {
  const auto = await checkSupport(model.spec);
  assert.equal(auto.ok, true, auto.reasons.join('; '));
  assert.equal(auto.kernels?.path, 'software');
  assert.deepEqual(auto.adapter?.kernels, auto.kernels);
  const forced = await checkSupport(model.spec, { kernels: 'gpu' });
  assert.deepEqual(forced.kernels, { path: 'gpu', reason: 'requested by the caller' });
  await assert.rejects(checkSupport(model.spec, { kernels: /** @type {any} */ ('fast') }), { name: 'GpuError' });
});
