// Open built book pages in headless Chromium at a given width and measure what a reader sees: for each page, the
// width of its content column, every table's full width (data-key, scrollWidth) and the room it has (the column,
// or a narrower box around it that scrolls), and whether its provenance list is there. usage: node book_widths.js WIDTH FILE.html...   (env CHROMIUM: the browser binary)
// Prints one JSON line: {width, pages: {file: {column, tables: [{key, width, room}], facts}}}.
const { chromium } = require('playwright-core');

const [widthArg, ...files] = process.argv.slice(2);
const width = parseInt(widthArg, 10) || 1280;
const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: flags });
  const page = await browser.newPage({ viewport: { width, height: 1000 } });
  const pages = {};
  for (const file of files) {
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    pages[file] = await page.evaluate(() => {
      const column = document.querySelector('article.bd-article, main article, main') || document.body;
      // a table fits when neither it nor any box between it and the column scrolls sideways, and it is no
      // wider than the column
      const room = (t) => {
        let w = column.clientWidth;
        for (let el = t; el && el !== column; el = el.parentElement) {
          if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') w = Math.min(w, el.clientWidth);
        }
        return w;
      };
      const tables = [...column.querySelectorAll('table')].map((t) => ({
        key: t.dataset.key || (t.closest('[data-key]') || {}).dataset?.key || '',
        width: t.scrollWidth,
        room: room(t),
      }));
      return { column: column.clientWidth, tables, facts: !!document.querySelector('ul.gdn-facts') };
    });
  }
  await browser.close();
  process.stdout.write(`${JSON.stringify({ width, pages })}\n`);
})().catch((e) => { process.stderr.write(`${e.stack || e}\n`); process.exit(2); });
