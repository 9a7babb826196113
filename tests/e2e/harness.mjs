// What the package's e2e tests share: the repository root, Chromium's flags, and the harness page
// (tests/e2e/pages/harness.html, which loads the built package as window.webslm) opened on a
// fresh server and browser.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FLAGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-gpu-sandbox', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

/**
 * Serves the repository, launches headless Chromium and opens the harness page, echoing the
 * page's console messages of the given types. Returns { server, browser, page }.
 */
export async function openHarness({ echo = ['error'] } = {}) {
  assert.ok(existsSync(join(ROOT, 'pkg/generated/webslm_wasm_bg.wasm')), 'run scripts/build-pkg.sh first');
  const server = await startServer(ROOT);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
  const page = await (await browser.newContext()).newPage();
  page.on('console', (m) => {
    if (echo.includes(m.type())) console.log('[page]', m.text());
  });
  await page.goto(`${server.origin}/tests/e2e/pages/harness.html`);
  await page.waitForFunction(() => document.title === 'ready');
  return { server, browser, page };
}
