// A node:test reporter for the load test: one line when a test begins and one when it ends,
// stamped with the seconds since the file began, so tests/load/under-load.mjs can tell a slow run
// (lines keep coming) from a stuck one (none for the stall deadline). A failure prints its error.
//
// It must run in the tests' own process (`node --test-reporter=… FILE`, not `node --test`): Node
// 20 hands a file's events to a `--test` runner only when the whole file has ended, and the begin
// event is `test:dequeue` (`test:start` too comes only when the test has ended).
const started = Date.now();
const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`;
const indent = (text) =>
  String(text)
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
const secs = (data) => `${((data.details?.duration_ms ?? 0) / 1000).toFixed(1)} s`;

export default async function* progress(source) {
  let pass = 0;
  let fail = 0;
  for await (const { type, data } of source) {
    if (type === 'test:dequeue') {
      yield `${stamp()} begin ${data.name}\n`;
    } else if (type === 'test:pass') {
      pass++;
      yield `${stamp()} pass  ${data.name} (${secs(data)})\n`;
    } else if (type === 'test:fail') {
      fail++;
      const err = data.details?.error;
      const why = err?.cause?.stack ?? err?.cause?.message ?? err?.stack ?? err?.message ?? String(err);
      yield `${stamp()} fail  ${data.name} (${secs(data)})\n${indent(why)}\n`;
    }
  }
  yield `${stamp()} ${pass} passed, ${fail} failed\n`;
}
