// The browser tests under CPU load (issue 14): one busy-looping process per core keeps every core
// busy while the demos and the package run end to end, one test file at a time. A slow machine
// must make the pages slower, never stuck, so this fails when a test fails or when no test begins
// or ends for the stall deadline (a hang), and it always ends the burners and the tests it started.
//
//   node tests/load/under-load.mjs [test files or folders]     (default: tests/e2e/)
//   WEBSLM_LOAD_BURNERS=n   busy processes (default: one per core)
//   WEBSLM_LOAD_STALL_S=s   seconds without a test beginning or ending that count as a hang (360)
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REPORTER = join(ROOT, 'tests', 'load', 'progress-reporter.mjs');
/** Between SIGTERM (Playwright closes its browsers on it) and SIGKILL of what is left. */
const GRACE_MS = 10_000;

function nonNegative(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`${name}=${raw} is not a number of 0 or more`);
    process.exit(2);
  }
  return n;
}

/** The *.test.mjs files of the arguments (a folder gives its own, in name order). */
function testFiles(args) {
  return args.flatMap((arg) => {
    const path = join(ROOT, arg);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      console.error(`${arg}: no such test file or folder`);
      process.exit(2);
    }
    if (!stat.isDirectory()) return [path];
    return readdirSync(path)
      .filter((f) => f.endsWith('.test.mjs'))
      .sort()
      .map((f) => join(path, f));
  });
}

const burnerCount = Math.floor(nonNegative('WEBSLM_LOAD_BURNERS', availableParallelism()));
const stallMs = nonNegative('WEBSLM_LOAD_STALL_S', 360) * 1000;
const files = testFiles(process.argv.length > 2 ? process.argv.slice(2) : ['tests/e2e/']);

const burners = [];
let current = null; // the test file's process

/**
 * Each test file runs in its own process group (detached), so one signal reaches everything it
 * started that stayed in the group, also after the file's own process has ended.
 */
function signalTests(signal) {
  if (!current) return;
  try {
    process.kill(-current.pid, signal);
  } catch {
    // the group is gone already
  }
}

function stopBurners() {
  for (const b of burners) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
}

// Whatever ends this process, the busy loops and the tests end with it.
process.on('exit', () => {
  stopBurners();
  signalTests('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    stopBurners();
    signalTests('SIGTERM');
    setTimeout(() => process.exit(130), 2000).unref();
  });
}

/**
 * Runs one file with the progress reporter in the tests' own process (its events come live
 * there; see progress-reporter.mjs). Resolves to 'pass', 'fail' or 'hang'.
 */
function runFile(file) {
  // Run from inside `node --test` (watchdog.test.mjs), the file would inherit NODE_TEST_CONTEXT and
  // talk the runner's binary protocol instead of using the reporter.
  const { NODE_TEST_CONTEXT, ...env } = process.env;
  current = spawn(process.execPath, [`--test-reporter=${REPORTER}`, '--test-reporter-destination=stdout', file], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let lastProgress = Date.now();
  let running = '(before its first test)';
  let hung = false;
  createInterface({ input: current.stdout }).on('line', (line) => {
    console.log(line);
    // Only the reporter's begin/pass/fail lines count: a stuck page can still print.
    const m = /^\[\s*[\d.]+ s\] (begin|pass |fail ) (.*)$/.exec(line);
    if (!m) return;
    lastProgress = Date.now();
    running = m[1] === 'begin' ? m[2] : `(after ${m[2]})`;
  });
  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress < stallMs) return;
    hung = true;
    clearInterval(watchdog);
    console.error(`HANG: no test began or ended for ${stallMs / 1000} s; running: ${running}`);
    signalTests('SIGTERM');
    setTimeout(() => signalTests('SIGKILL'), GRACE_MS).unref();
  }, 1000);
  return new Promise((resolve) =>
    current.on('exit', (code) => {
      clearInterval(watchdog);
      resolve(hung ? 'hang' : code === 0 ? 'pass' : 'fail');
    }),
  );
}

for (let i = 0; i < burnerCount; i++) {
  burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}
console.log(
  `under load: ${burnerCount} busy processes on ${availableParallelism()} cores (busy pids ${burners.map((b) => b.pid).join(' ')}); a hang is ${stallMs / 1000} s without a test beginning or ending`,
);

const started = Date.now();
const results = [];
for (const file of files) {
  const name = relative(ROOT, file);
  console.log(`== ${name}`);
  const t0 = Date.now();
  const result = await runFile(file);
  signalTests('SIGKILL'); // anything the file left behind in its group
  results.push(`${name}: ${result} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
stopBurners();
const wall = ((Date.now() - started) / 1000).toFixed(1);
console.log(`under load (${burnerCount} busy processes), ${wall} s wall:\n  ${results.join('\n  ')}`);
if (results.some((r) => !r.includes(': pass in'))) {
  console.error('FAIL under load');
  process.exit(1);
}
