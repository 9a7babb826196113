// The load test's own checks, on fixture files and a short stall deadline: a hang fails the run
// and its processes and the busy loops end; slow but moving tests pass.
//
//   node --test tests/load/watchdog.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function underLoad(fixture, stallSeconds) {
  const run = spawnSync(process.execPath, ['tests/load/under-load.mjs', `tests/load/fixtures/${fixture}`], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, WEBSLM_LOAD_BURNERS: '1', WEBSLM_LOAD_STALL_S: String(stallSeconds) },
  });
  return { ...run, out: run.stdout + run.stderr };
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pids of `pids` still running after `ms` (a killed process takes a moment to be reaped). */
async function survivors(pids, ms) {
  const deadline = Date.now() + ms;
  while (pids.some(alive) && Date.now() < deadline)
    await new Promise((resolve) => {
      setTimeout(resolve, 100);
    });
  return pids.filter(alive);
}

test('a test that never ends is a hang: the run fails and nothing it started is left', async () => {
  const run = underLoad('hangs.mjs', 2);
  assert.equal(run.status, 1, run.out);
  assert.match(run.out, /HANG: no test began or ended for 2 s; running: never ends/);
  assert.match(run.out, /hangs\.mjs: hang in/);
  const pids = [
    Number(/fixture pid (\d+)/.exec(run.out)?.[1]),
    ...(/busy pids ([\d ]+)/.exec(run.out)?.[1].split(' ').map(Number) ?? []),
  ];
  assert.equal(pids.length, 2, run.out);
  assert.deepEqual(await survivors(pids, 5000), [], 'processes left running');
});

test('tests that are slow but keep ending pass', () => {
  const run = underLoad('passes.mjs', 3);
  assert.equal(run.status, 0, run.out);
  assert.match(run.out, /passes\.mjs: pass in/);
});
