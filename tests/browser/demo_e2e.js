// Drive the Voila demo in headless Chromium: wait for the canvas, paint a stroke, press Inpaint, check the result.
// usage: node demo_e2e.js URL SCREENSHOT.png [TIMEOUT_S]   (env CHROMIUM: the browser binary; USER_DATA_DIR)
// Prints one JSON line {ok, ...}; exit status 0 only when every check passed.
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [url, shot, timeoutArg] = process.argv.slice(2);
const T = (parseFloat(timeoutArg) || 180) * 1000;
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

function log(msg) { process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}\n`); }

(async () => {
  const userDir = process.env.USER_DATA_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'gdn-chromium-'));
  const t0 = Date.now();
  const report = { ok: false, url };
  let ctx;
  let page;
  const hardStop = setTimeout(() => { log('hard timeout'); process.exit(3); }, T + 30000);
  try {
    ctx = await chromium.launchPersistentContext(userDir, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: flags,
      viewport: { width: 1280, height: 1500 }, timeout: 60000,
    });
    page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(T);
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    await page.goto(url, { waitUntil: 'load', timeout: T });
    log('page loaded');
    const canvas = page.locator('.gdn-canvas canvas, canvas.gdn-canvas').first();
    await canvas.waitFor({ state: 'visible', timeout: T });
    // the photo arrives after the view exists (on_client_ready): wait until the canvas is painted
    await page.waitForFunction(() => {
      const c = document.querySelector('.gdn-canvas canvas, canvas.gdn-canvas');
      if (!c || c.width < 8) return false;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4 * 97) if (d[i] > 0) return true;
      return false;
    }, null, { timeout: T });
    report.canvas_ready_s = (Date.now() - t0) / 1000;
    log('canvas painted');
    const box = await canvas.boundingBox();
    const y = box.y + box.height * 0.45;
    await page.mouse.move(box.x + box.width * 0.30, y);
    await page.mouse.down();
    for (let i = 1; i <= 12; i++) await page.mouse.move(box.x + box.width * (0.30 + 0.25 * i / 12), y);
    await page.mouse.up();
    await page.waitForFunction(() => /hole: [1-9]/.test(document.querySelector('.gdn-status').textContent), null,
      { timeout: T });
    report.hole_status = (await page.locator('.gdn-status').textContent()).trim();
    // the stroke shows on the canvas (red tint in the middle of the stroke)
    report.stroke_rgb = await page.evaluate(() => {
      const c = document.querySelector('.gdn-canvas canvas, canvas.gdn-canvas');
      const p = c.getContext('2d').getImageData(Math.round(c.width * 0.42), Math.round(c.height * 0.45), 1, 1).data;
      return [p[0], p[1], p[2]];
    });
    log(`stroke drawn: ${report.hole_status}`);
    await page.locator('.gdn-inpaint').click();
    await page.waitForFunction(() => /inpainted \d+x\d+ px|failed/.test(document.querySelector('.gdn-status').textContent), null,
      { timeout: T });
    report.status = (await page.locator('.gdn-status').textContent()).trim();
    log(report.status);
    await page.waitForFunction(() => {
      const img = document.querySelector('img.gdn-result, .gdn-result img');
      return img && img.complete && img.naturalWidth > 0;
    }, null, { timeout: 30000 });
    report.result_size = await page.evaluate(() => {
      const img = document.querySelector('img.gdn-result, .gdn-result img');
      return [img.naturalWidth, img.naturalHeight];
    });
    report.download = await page.evaluate(() => {
      const a = document.querySelector('.gdn-download a');
      return a ? { name: a.getAttribute('download'), png: a.href.startsWith('data:image/png;base64,') } : null;
    });
    await page.waitForTimeout(500);
    await page.screenshot({ path: shot, fullPage: true });
    report.ok = /inpainted \d+x\d+ px/.test(report.status) && report.download && report.download.png
      && report.stroke_rgb[0] > 150 && report.stroke_rgb[0] > report.stroke_rgb[1] + 60;
    report.seconds = (Date.now() - t0) / 1000;
  } catch (e) {
    report.error = String(e && e.message ? e.message.split('\n')[0] : e);
    if (page) { try { await page.screenshot({ path: shot, fullPage: true }); } catch (_) { /* ignore */ } }
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    clearTimeout(hardStop);
  }
  process.stdout.write(JSON.stringify(report) + '\n');
  process.exit(report.ok ? 0 : 1);
})();
