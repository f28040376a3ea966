/*
 * The HTML reports in a real browser: a run report of the x86 example (FIFO) and of the Arm
 * example on 2-level, and the sweep report of the bundled study (examples/study-flood, all 120
 * runs). Each page must draw every plot with its data (the page says how many values each plot
 * drew, and the plot's canvas holds pixels of its series' colours), log no error and load
 * nothing. Screenshots are kept in test-artifacts/.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { main, type CliIo } from '@evtchn/cli';
import { browserUnavailable, keepScreenshot, launchChromium, openSelfContained } from './chromium.js';

const skip = browserUnavailable();
if (skip) console.warn(`browser tests skipped: ${skip}`);

const root = fileURLToPath(new URL('../../', import.meta.url));
const quiet: CliIo = { out: () => {}, err: () => {}, env: {} };

/** What the page code below needs of a plot's element (the checks run without the DOM library's types). */
interface PlotEl {
  id: string;
  dataset: Record<string, string | undefined>;
  querySelector(sel: 'canvas'): { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null } | null;
}

/** What each plot of the page drew: values, and canvas pixels of the colours of its series with data. */
async function drawn(page: Page): Promise<Array<{ id: string; points: number; expected: number; rendered: boolean; colouredPixels: number }>> {
  await page.waitForFunction(
    () => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(sel: string): ArrayLike<PlotEl> } }).document;
      return Array.from(doc.querySelectorAll('.plot')).every((el) => el.dataset.rendered === '1');
    },
    undefined,
    { timeout: 10_000 },
  );
  return page.$$eval('.plot', (els) =>
    els.map((el) => {
      const e = el as unknown as PlotEl;
      const canvas = e.querySelector('canvas')!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const colours = (e.dataset.colors ?? '')
        .split(',')
        .filter(Boolean)
        .map((h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
      // A series' own colour, or its bar fill (the colour at 80 % over white).
      const targets = colours.flatMap((c: number[]) => [c, c.map((v) => Math.round(v * 0.8 + 255 * 0.2))]);
      let coloured = 0;
      for (let p = 0; p < data.length; p += 4) {
        if (data[p + 3]! < 200) continue;
        if (targets.some((t: number[]) => Math.abs(t[0]! - data[p]!) <= 24 && Math.abs(t[1]! - data[p + 1]!) <= 24 && Math.abs(t[2]! - data[p + 2]!) <= 24)) coloured++;
      }
      return { id: e.id, points: Number(e.dataset.points), expected: Number(e.dataset.expectedPoints), rendered: e.dataset.rendered === '1', colouredPixels: coloured };
    }),
  );
}

describe.skipIf(skip !== undefined)('HTML reports in the browser', () => {
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'evtchn-report-browser-'));
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function check(file: string, screenshot: string, expectedPlots: string[]): Promise<void> {
    const { page, errors } = await openSelfContained(browser, pathToFileURL(file).href);
    try {
      const plots = await drawn(page);
      expect(plots.map((p) => p.id)).toEqual(expectedPlots);
      for (const p of plots) {
        expect(p.rendered, p.id).toBe(true);
        expect(p.points, p.id).toBeGreaterThan(0);
        expect(p.points, p.id).toBe(p.expected);
        expect(p.colouredPixels, `${p.id}: pixels of its series' colours`).toBeGreaterThanOrEqual(20);
      }
      // The tables are there too.
      expect(await page.locator('table').count()).toBeGreaterThan(1);
      const shot = await keepScreenshot(page, screenshot);
      console.log(`screenshot: ${shot}`);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }

  it('draws a run report of the x86 example (FIFO): latency, fairness, interrupt time, queue depth', async () => {
    const file = join(dir, 'x86.html');
    expect(await main(['run', `${root}examples/x86-dom0-fifo/platform.yaml`, '--duration', '5ms', '--report', file, '--no-progress'], quiet)).toBe(0);
    const queues = ['queue-depth-0', 'queue-depth-1', 'queue-depth-2', 'queue-depth-3'];
    await check(file, 'run-report-x86-fifo', [
      'latency-cdf-priority',
      'latency-hist-priority',
      'latency-cdf-domain',
      'latency-hist-domain',
      'ports-counts',
      'ports-wait',
      'vcpu-interrupt-time',
      ...queues,
    ]);
  });

  it('draws a run report of the Arm example on 2-level, with the pending selector words', async () => {
    const config = join(dir, 'arm-2level.yaml');
    writeFileSync(config, readFileSync(`${root}examples/arm-vtimer/platform.yaml`, 'utf8').replace('guest: { name: linux }', 'guest: { name: linux, fifo: false }'));
    const file = join(dir, 'arm.html');
    expect(await main(['run', config, '--duration', '30ms', '--report', file, '--no-progress'], quiet)).toBe(0);
    await check(file, 'run-report-arm-2level', [
      'latency-cdf-priority',
      'latency-hist-priority',
      'latency-cdf-domain',
      'latency-hist-domain',
      'ports-counts',
      'ports-wait',
      'vcpu-interrupt-time',
      'queue-depth-1',
      'queue-depth-2',
      'pending-words',
    ]);
  });

  it('draws the sweep report of the bundled study (examples/study-flood, 120 runs)', async () => {
    const file = join(dir, 'flood.html');
    // Worker threads run the built CLI; without a build the sweep runs in this thread.
    const jobs = existsSync(`${root}packages/cli/dist/sweep/worker.js`) ? '2' : '1';
    const start = performance.now();
    expect(await main(['sweep', `${root}examples/study-flood/study.yaml`, '--out', join(dir, 'flood'), '--jobs', jobs, '--report', file, '--no-progress'], quiet)).toBe(0);
    console.log(`examples/study-flood: 120 runs in ${((performance.now() - start) / 1000).toFixed(1)} s with --jobs ${jobs}`);
    await check(file, 'sweep-report-study-flood', ['metric-0', 'metric-1', 'metric-2', 'metric-3', 'metric-4']);
  }, 180_000);
});
