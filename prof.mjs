import { chromium } from 'playwright-core';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const p = await b.newPage({ viewport: { width: 1280, height: 800 } });
await p.goto('file:///tmp/big.html#step=2000');
for (const s of [2001, 2002, 3000, 3506]) {
  const t = Date.now();
  await p.goto('file:///tmp/big.html#step=' + s);
  await p.waitForFunction((x) => document.body.dataset.step === String(x), s);
  const t2 = Date.now();
  const m = await p.evaluate(() => { const t0 = performance.now(); document.getElementById('prev').click(); return [performance.now() - t0, window.__T]; });
  console.log(s, 'nav', t2 - t, 'ms; prev click (script only)', JSON.stringify(m));
}
await b.close();
