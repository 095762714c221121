// Browser acceptance test of the viewer (issue 5): an investigator logs in (the API's OpenAPI
// document is validated as the viewer fetches it), finds the seed by phone number, expands, opens a
// lead's explanation, colours the canvas by community and adds a key person, saves and submits a
// case map; a supervisor opens it, comments and approves; the approved status and the audit
// entries are checked. A screenshot is taken at each step into $ARTIFACTS (default ./artifacts).
//
// Environment: FRAUDNET_URL, SEED_PHONE, INV_USER, INV_PASS, SUP_USER, SUP_PASS,
// CHROMIUM (default /usr/bin/chromium), ARTIFACTS.
import { chromium } from 'playwright-core';
import SwaggerParser from '@apidevtools/swagger-parser';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`set ${k}`);
  return v;
};
const URL_ = env('FRAUDNET_URL', 'http://127.0.0.1:8080/');
const SEED_PHONE = env('SEED_PHONE');
const INV = [env('INV_USER', 'investigator'), env('INV_PASS')];
const SUP = [env('SUP_USER', 'supervisor'), env('SUP_PASS')];
const ART = env('ARTIFACTS', path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts'));
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const TIMEOUT = Number(env('STEP_TIMEOUT_MS', '30000'));

fs.mkdirSync(ART, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudnet-chromium-'));
let passed = 0;
let failed = 0;
let shot = 0;

const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1440, height: 900 },
  locale: 'zh-CN',
  acceptDownloads: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = ctx.pages()[0] ?? await ctx.newPage();
page.setDefaultTimeout(TIMEOUT);
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));

async function screenshot(name) {
  shot += 1;
  const file = path.join(ART, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed += 1;
    await screenshot(name);
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed += 1;
    try { await screenshot(name + '-FAILED'); } catch (_) { /* page gone */ }
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    throw e;
  }
}

async function login([user, pass]) {
  await page.goto(URL_);
  await page.waitForSelector('#login-user', { state: 'visible' });
  await page.fill('#login-user', user);
  await page.fill('#login-password', pass);
  await page.click('#login-submit');
  await page.waitForSelector('#app', { state: 'visible' });
  assert.match(await page.textContent('#whoami'), new RegExp(user));
}

async function logout() {
  await page.click('#logout');
  await page.waitForSelector('#login-screen', { state: 'visible' });
}

let mapId = null;
try {
  await step('investigator-login', async () => {
    await login(INV);
    // Chinese by default.
    assert.equal(await page.textContent('#expand-btn'), '从选中对象扩展');
  });

  await step('api-document-validates', async () => {
    // The OpenAPI document clients are generated from, as the logged-in viewer fetches it.
    const doc = await page.evaluate(async () => (await fetch('api/openapi.json')).json());
    const api = await SwaggerParser.validate(doc);
    assert.ok(Object.keys(api.paths).length >= 20, 'the document lists the API');
  });

  await step('search-seed-by-phone', async () => {
    await page.fill('#search-input', SEED_PHONE);
    await page.click('#search-go');
    await page.waitForSelector('.search-item');
    const first = page.locator('.search-item').first();
    assert.match(await first.getAttribute('data-ref'), /^phone:/);
    await first.click();
    await page.waitForFunction(() => window.fraudnet.cy.nodes().length >= 1);
  });

  await step('expand', async () => {
    await page.click('#expand-btn');
    await page.waitForSelector('#leads-list .lead');
    const n = await page.locator('#leads-list .lead').count();
    assert.ok(n >= 5, `only ${n} leads`);
    const nodes = await page.evaluate(() => window.fraudnet.cy.nodes().length);
    assert.ok(nodes > n / 2, `canvas shows ${nodes} nodes for ${n} leads`);
  });

  await step('lead-explanation', async () => {
    // Open the best person lead.
    const lead = page.locator('#leads-list .lead[data-ref^="person:"]').first();
    await lead.click();
    await page.waitForSelector('#lead-detail .explanation-path');
    const text = await page.textContent('#lead-detail');
    assert.ok(text.length > 10);
    const highlighted = await page.evaluate(() => window.fraudnet.cy.elements('.hl').length);
    assert.ok(highlighted >= 2, 'explanation path highlighted on the canvas');
  });

  await step('colour-by-community', async () => {
    await page.click('#tabs button[data-tab="communities"]');
    await page.waitForSelector('#run-detail .community .key-person');
    // A key person of the largest community joins the canvas and is selected.
    const before = await page.evaluate(() => window.fraudnet.cy.nodes().length);
    await page.locator('#run-detail .key-person').first().click();
    await page.waitForFunction((n) => window.fraudnet.cy.nodes().length >= n && window.fraudnet.cy.$(':selected').length === 1, before);
    await page.click('#colour-run-btn');
    await page.waitForFunction(() => window.fraudnet.cy.nodes().filter((n) => n.data('community') !== undefined).length > 0);
    const r = await page.evaluate(() => {
      const nodes = window.fraudnet.cy.nodes();
      const coloured = nodes.filter((n) => n.data('community') !== undefined);
      return { nodes: nodes.length, coloured: coloured.length,
        communities: new Set(coloured.map((n) => n.data('community'))).size,
        colours: new Set(coloured.map((n) => n.style('background-color'))).size };
    });
    assert.ok(r.coloured >= r.nodes / 2, `only ${r.coloured} of ${r.nodes} nodes have a community`);
    assert.ok(r.colours >= Math.min(2, r.communities), `communities not told apart by colour: ${JSON.stringify(r)}`);
    assert.equal(await page.inputValue('#colour-by'), 'community');
  });

  await step('save-and-submit-case-map', async () => {
    await page.click('#tabs button[data-tab="maps"]');
    await page.fill('#map-name', '宁都回流人员 浏览器测试');
    await page.fill('#map-notes', '种子及首批线索');
    await page.click('#map-save');
    await page.waitForSelector('#map-info #map-status[data-status="draft"]');
    mapId = await page.evaluate(() => window.fraudnet.map.id);
    assert.match(mapId, /^cm-/);
    await page.click('#map-submit');
    await page.waitForSelector('#map-info #map-status[data-status="submitted"]');
    await page.waitForSelector(`#maps-list .map-item[data-id="${mapId}"]`);
  });

  await logout();

  await step('supervisor-opens-submitted-map', async () => {
    await login(SUP);
    await page.click('#tabs button[data-tab="review"]');
    await page.waitForSelector(`#review-list .review-item[data-id="${mapId}"]`);
    await page.click(`#review-list .review-item[data-id="${mapId}"]`);
    await page.waitForSelector('#review-panel', { state: 'visible' });
    await page.waitForSelector('#review-info #map-status[data-status="submitted"]');
    const nodes = await page.evaluate(() => window.fraudnet.cy.nodes().length);
    assert.ok(nodes >= 5, `the reopened map shows ${nodes} entities`);
  });

  await step('supervisor-comments', async () => {
    await page.fill('#comment-text', '证据链完整，同意立案');
    await page.click('#comment-add');
    await page.waitForFunction(() => document.querySelector('#review-info').textContent.includes('证据链完整'));
  });

  await step('supervisor-approves', async () => {
    await page.click('#approve-btn');
    await page.waitForSelector('#review-info #map-status[data-status="approved"]');
    const status = await page.evaluate(async (id) => {
      const r = await fetch('/api/casemaps/' + id);
      return (await r.json()).meta.status;
    }, mapId);
    assert.equal(status, 'approved');
  });

  await step('audit-entries', async () => {
    await page.click('#tabs button[data-tab="audit"]');
    await page.fill('#audit-ref', 'casemap:' + mapId);
    await page.click('#audit-refresh');
    await page.waitForSelector('#audit-list tr[data-action="casemap_approve"]');
    const actions = await page.$$eval('#audit-list tr', (rows) => rows.map((r) => r.dataset.action));
    for (const a of ['casemap_create', 'casemap_submit', 'casemap_open', 'casemap_comment', 'casemap_approve']) {
      assert.ok(actions.includes(a), `${a} missing from ${actions}`);
    }
    await page.click('#audit-verify');
    await page.waitForFunction(() => document.querySelector('#audit-verify-result').textContent.includes('审计链完整'));
  });
} catch (_) {
  // reported by step()
} finally {
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
if (consoleErrors.length) console.log('browser console errors:\n  ' + consoleErrors.join('\n  '));
console.log(`screenshots: ${ART}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
