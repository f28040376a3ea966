import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { browserUnavailable, launchChromium, openSelfContained } from './chromium.js';

const skip = browserUnavailable();
if (skip) console.warn(`browser tests skipped: ${skip}`);

describe.skipIf(skip !== undefined)('the browser test harness', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('runs inline scripts and reports page errors and network requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-browser-'));
    const file = join(dir, 'page.html');
    writeFileSync(
      file,
      `<!doctype html><p id="x">before</p><img src="https://example.invalid/a.png">
       <script>document.getElementById('x').textContent = 'after'; throw new Error('boom');</script>`,
    );
    const { page, errors } = await openSelfContained(browser, pathToFileURL(file).href);
    expect(await page.textContent('#x')).toBe('after');
    expect(errors.some((e) => e.includes('boom'))).toBe(true);
    expect(errors.some((e) => e.includes('example.invalid'))).toBe(true);
    await page.close();
  });
});
