// The static file server of the demos (`node scripts/serve.mjs [port]`: www/ at
// http://127.0.0.1:8080/) and of the browser tests, on 127.0.0.1 only. It serves the repository
// (pkg/, models/, tests/) with HTTP Range support and records every request. Under /corrupt/ it
// serves a file with one byte flipped (the integrity test); under /flaky/ it drops the
// connection the first time the fourth 8 MiB piece of a file is asked for (the resume test); under
// /hub/ it is a mirror of the catalogue's pinned hub URLs (scripts/hub_mirror.mjs); under /gated/ it
// refuses everything with HTTP 401, as the hub refuses a gated model to a user without access.
// With `isolated` (`--isolated` on the command line) every response carries the headers that make
// a page cross-origin isolated: SharedArrayBuffer, which wllama's threads need (the browser bench).
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mirrorPath } from './hub_mirror.mjs';

const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm', '.css': 'text/css',
};

// COOP + COEP make the page crossOriginIsolated; CORP lets a COEP page (or worker) embed each file.
const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

export async function startServer(root, port = 0, { isolated = false } = {}) {
  const requests = [];
  const ranges = [];
  const dropped = new Set();
  const server = createServer(async (req, res) => {
    // setHeader before writeHead: writeHead merges these into every response, errors included.
    if (isolated) for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push(url.pathname);
    if (url.pathname === '/' || url.pathname === '/www') {
      res.writeHead(302, { location: '/www/' }).end();
      return;
    }
    if (url.pathname.startsWith('/gated/')) {
      // What the hub answers a user who has not accepted a gated model's licence.
      res.writeHead(401).end();
      return;
    }
    if (url.pathname.endsWith('/')) url.pathname += 'index.html';
    const prefix = ['/corrupt/', '/flaky/'].find((p) => url.pathname.startsWith(p));
    const corrupt = prefix === '/corrupt/';
    const rel = normalize(decodeURIComponent(prefix ? url.pathname.slice(prefix.length - 1) : url.pathname));
    if (rel.includes('..')) {
      res.writeHead(403).end();
      return;
    }
    const path = rel.startsWith('/hub/') ? mirrorPath(root, rel.slice('/hub'.length)) : join(root, rel);
    try {
      if (!path) throw new Error('not pinned by the catalogue');
      const info = await stat(path);
      if (!info.isFile()) throw new Error('not a file');
      const type = TYPES[extname(path)] ?? 'application/octet-stream';
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (range && !prefix && req.method !== 'HEAD') {
        // The common case, read from disk piece by piece (models are hundreds of MB).
        const [a, b] = [Number(range[1]), Math.min(Number(range[2]), info.size - 1)];
        ranges.push({ key: `${url.pathname} ${a}-${b}`, ok: true });
        res.writeHead(206, { 'content-type': type, 'content-length': b - a + 1, 'content-range': `bytes ${a}-${b}/${info.size}`, 'cache-control': 'no-store' });
        createReadStream(path, { start: a, end: b }).pipe(res);
        return;
      }
      const body = await readFile(path);
      if (corrupt) body[body.length >> 1] ^= 0xff;
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'accept-ranges': 'bytes' }).end();
        return;
      }
      if (range) {
        const [a, b] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
        const key = `${url.pathname} ${a}-${b}`;
        if (prefix === '/flaky/' && a === 3 * (8 << 20) && !dropped.has(key)) {
          // Half the piece, then the connection drops (as a lost network does mid-download).
          dropped.add(key);
          ranges.push({ key, ok: false });
          res.writeHead(206, { 'content-type': type, 'content-length': b - a + 1, 'content-range': `bytes ${a}-${b}/${body.length}` });
          res.write(body.subarray(a, a + ((b - a) >> 1)), () => req.socket.destroy());
          return;
        }
        ranges.push({ key, ok: true });
        res.writeHead(206, {
          'content-type': type, 'content-length': b - a + 1, 'content-range': `bytes ${a}-${b}/${body.length}`,
          'cache-control': 'no-store',
        });
        res.end(body.subarray(a, b + 1));
        return;
      }
      res.writeHead(200, {
        'content-type': type,
        'content-length': body.length,
        'accept-ranges': 'bytes',
        'cache-control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { origin: `http://127.0.0.1:${server.address().port}`, isolated, requests, ranges, close: () => server.close() };
}

// `node scripts/serve.mjs [port] [--isolated]`: serve the repository for the demos until stopped.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = new URL('..', import.meta.url).pathname;
  const args = process.argv.slice(2);
  const isolated = args.includes('--isolated');
  const port = Number(args.find((a) => !a.startsWith('--')) ?? 8080);
  const { origin } = await startServer(root, port, { isolated });
  console.log(`webslm demos: ${origin}/www/ (chat: ${origin}/www/chat.html, text analysis: ${origin}/www/analysis.html, browser bench: ${origin}/www/bench.html)`);
  if (isolated) console.log('cross-origin isolated: pages may use SharedArrayBuffer (wllama threads)');
}
