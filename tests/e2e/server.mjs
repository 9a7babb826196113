// A static file server for the browser tests, on 127.0.0.1 only. It serves the repository
// (pkg/, models/, tests/), records every request it answers, and under /corrupt/ serves a file
// with one byte flipped (for the integrity test).
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm', '.css': 'text/css',
};

export async function startServer(root) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push(url.pathname);
    const corrupt = url.pathname.startsWith('/corrupt/');
    const rel = normalize(decodeURIComponent(corrupt ? url.pathname.slice('/corrupt'.length) : url.pathname));
    if (rel.includes('..')) {
      res.writeHead(403).end();
      return;
    }
    const path = join(root, rel);
    try {
      if (!(await stat(path)).isFile()) throw new Error('not a file');
      const body = await readFile(path);
      if (corrupt) body[body.length >> 1] ^= 0xff;
      res.writeHead(200, {
        'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close() };
}
