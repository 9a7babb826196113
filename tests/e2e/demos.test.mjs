// The demos in www/ driven like a person would in headless Chromium: two chat turns, a reply
// stopped mid-stream, and a text with a name and an e-mail address analysed. Screenshots go to
// docs/screenshots/ (the newest are committed). No request may leave 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHOTS = join(ROOT, 'docs', 'screenshots');
const FLAGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-gpu-sandbox', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

let server;
let browser;
const requests = [];
const pageErrors = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer(ROOT);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/**
 * Opens a demo page with the model list (local-models.json) held back until `release()`: a person
 * on a slow machine can click before the list is in, and the page must still do what was asked.
 */
async function open(path, width = 1000) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await context.route('**/www/local-models.json', async (route) => {
    await held;
    await route.continue();
  });
  const page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.origin}${path}`);
  return { page, release };
}

test('chat: two turns, then a reply stopped mid-stream', { timeout: 600_000 }, async () => {
  const { page, release } = await open('/www/chat.html');
  assert.ok(await page.isDisabled('#load'), 'Load is enabled before there is a model to load');
  release();
  await page.waitForFunction(() => !document.getElementById('input').disabled, null, { timeout: 300_000 });
  await page.fill('#temperature', '0');
  await page.fill('#max_tokens', '24');
  for (const question of ['What is the capital of France?', 'And of Italy?']) {
    await page.fill('#input', question);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant[data-finish]').length >= document.querySelectorAll('.msg.user').length, null, { timeout: 300_000 });
  }
  const replies = await page.$$eval('.msg.assistant', (els) => els.map((e) => e.textContent));
  assert.equal(replies.length, 2);
  assert.ok(replies.every((r) => r.trim().length > 0), JSON.stringify(replies));
  assert.match(await page.textContent('#stats'), /tok\/s/);
  await page.screenshot({ path: join(SHOTS, 'chat.png'), fullPage: true });

  await page.fill('#max_tokens', '200');
  await page.fill('#input', 'Write a long story about a lighthouse keeper.');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => {
    const last = [...document.querySelectorAll('.msg.assistant')].pop();
    return last && last.textContent.replace('…', '').trim().length > 0;
  }, null, { timeout: 300_000 });
  await page.click('#stop');
  await page.waitForFunction(() => [...document.querySelectorAll('.msg.assistant')].pop().dataset.finish, null, { timeout: 120_000 });
  const finish = await page.$eval('.msg.assistant:last-child', (e) => e.dataset.finish);
  assert.equal(finish, 'abort');
  assert.match(await page.textContent('#stats'), /stopped/);
  await page.context().close(); // frees the worker and its GPU memory for the next test
});

test('analysis: a name and an e-mail address are found, search and QA answer', { timeout: 600_000 }, async () => {
  const { page, release } = await open('/www/analysis.html', 375);
  assert.match(await page.textContent('#private'), /Nothing leaves this device/);
  // The click comes before the model list (as it did under CPU load): it must not be lost.
  await page.click('#analyse');
  assert.ok(await page.isDisabled('#analyse'), 'the click before the model list was lost (nothing is analysing)');
  release();
  await page.waitForFunction(() => document.querySelector('#highlighted mark'), null, { timeout: 300_000 });
  const marks = await page.$$eval('#highlighted mark', (ms) => ms.map((m) => ({ text: m.firstChild.textContent, kind: m.className })));
  assert.ok(marks.some((m) => m.text === 'maria.garcia@example.com' && m.kind === 'PII'), JSON.stringify(marks));
  await page.waitForFunction(() => document.querySelectorAll('#sentiment li').length === 4, null, { timeout: 300_000 });
  await page.click('#search-form button');
  await page.waitForFunction(() => document.querySelectorAll('#hits li').length === 4, null, { timeout: 300_000 });
  const top = await page.textContent('#hits li:first-child');
  assert.match(top, /maria\.garcia@example\.com/, 'MiniLM ranks the contact paragraph first');
  await page.click('#qa-form button');
  await page.waitForFunction(() => document.getElementById('answer').textContent.length > 0, null, { timeout: 300_000 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the page scrolls sideways at 375 px (${width})`);
  await page.screenshot({ path: join(SHOTS, 'analysis.png'), fullPage: true });
  await page.context().close();
});

test('without WebGPU the chat page says what is missing', async () => {
  const plain = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS.slice(1) });
  try {
    const page = await plain.newPage();
    await page.goto(`${server.origin}/www/chat.html`);
    await page.waitForSelector('.unsupported', { timeout: 60_000 });
    assert.match(await page.textContent('.unsupported'), /WebGPU/);
  } finally {
    await plain.close();
  }
});

test('no uncaught page errors, and no request left 127.0.0.1', () => {
  assert.deepEqual(pageErrors, []);
  const elsewhere = requests.filter((u) => !u.startsWith(server.origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(elsewhere, []);
  assert.ok(requests.length > 10);
});
