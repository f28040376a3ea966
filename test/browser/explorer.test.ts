/*
 * The explorer page (evtchn explore) in a real browser: stepping through a conformance vector
 * shows at each upcall the ports the replay delivered, a deliberately altered expected file
 * is shown as a difference at its step, and a 1500-port FIFO scenario steps in well under a
 * second per step. Screenshots are kept in test-artifacts/.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { main, type CliIo } from '@evtchn/cli';
import { readScenario, runDeliveryReplay } from '@evtchn/conformance';
import { browserUnavailable, keepScreenshot, launchChromium, openSelfContained } from './chromium.js';

const skip = browserUnavailable();
if (skip) console.warn(`browser tests skipped: ${skip}`);

const root = fileURLToPath(new URL('../../', import.meta.url));
const quiet: CliIo = { out: () => {}, err: () => {}, env: {} };
const HAND_01 = join(root, 'conformance/delivery/hand_01_fifo_strict_priority.json');

async function explore(dir: string, name: string, scenario: string, expected?: string): Promise<string> {
  const out = join(dir, `${name}.html`);
  expect(await main(['explore', scenario, '-o', out, ...(expected ? ['--expect', expected] : [])], quiet)).toBe(0);
  return pathToFileURL(out).href;
}

async function shownStep(page: Page): Promise<number> {
  return Number(await page.getAttribute('body', 'data-step'));
}

describe.skipIf(skip !== undefined)('the explorer in Chromium', () => {
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'evtchn-explorer-'));
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('steps through hand_01 with the keyboard; at each upcall the page shows the ports the replay delivered', async () => {
    const scenario = readScenario(HAND_01) as { steps: Array<{ op: string }> };
    const lines = runDeliveryReplay(scenario);
    const { page, errors } = await openSelfContained(browser, await explore(dir, 'hand01', HAND_01));
    expect(await shownStep(page)).toBe(0);
    const seen: Array<{ step: number; delivered: unknown }> = [];
    for (let i = 1; i < scenario.steps.length; i++) {
      await page.keyboard.press('ArrowRight');
      expect(await shownStep(page)).toBe(i);
      if (scenario.steps[i]!.op === 'upcall') seen.push({ step: i, delivered: JSON.parse((await page.getAttribute('#actual', 'data-delivered'))!) });
    }
    const fromReplay = scenario.steps.flatMap((s, i) => (s.op === 'upcall' ? [{ step: i, delivered: (JSON.parse(lines[i]!) as { delivered: unknown }).delivered }] : []));
    expect(seen).toEqual(fromReplay);
    expect(seen.length).toBeGreaterThan(2);
    // Back, jumps and deep links land where they say.
    await page.keyboard.press('ArrowLeft');
    expect(await shownStep(page)).toBe(scenario.steps.length - 2);
    await page.keyboard.press('Home');
    expect(await shownStep(page)).toBe(0);
    await page.goto(`${page.url().split('#')[0]}#step=8`);
    expect(await shownStep(page)).toBe(8);
    // The queues before the first upcall: READY bits and the HEAD chains drawn from the event words.
    await page.fill('#jump', '7');
    await page.dispatchEvent('#jump', 'change');
    expect(await shownStep(page)).toBe(7);
    const queues = await page.$$eval('.queue', (els) => els.map((e) => (e as unknown as { textContent: string }).textContent));
    expect(queues.find((q) => q.startsWith('prio 7'))).toMatch(/HEAD → 1 → 2/);
    await keepScreenshot(page, 'explorer-hand01-step7');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('highlights the step whose expected line was altered', async () => {
    const expected = readFileSync(HAND_01.replace(/\.json$/, '.expected.jsonl'), 'utf8').split('\n');
    const upcalls = expected.flatMap((l, i) => (l.includes('"upcall"') ? [i] : []));
    const victim = upcalls[1]!;
    expected[victim] = expected[victim]!.replace(/"delivered":\[(\d+),(\d+)/, '"delivered":[$2,$1');
    const altered = join(dir, 'altered.expected.jsonl');
    writeFileSync(altered, expected.join('\n'));
    const { page, errors } = await openSelfContained(browser, await explore(dir, 'altered', HAND_01, altered));
    expect(await page.$$eval('#steps .step[data-differs="1"]', (els) => els.map((e) => Number((e as unknown as { dataset: { i: string } }).dataset.i)))).toEqual([victim]);
    expect(await page.isVisible('#first-diff')).toBe(true);
    await page.click('#first-diff');
    expect(await shownStep(page)).toBe(victim);
    expect(await page.getAttribute('#expected', 'class')).toContain('differs');
    expect(await page.textContent('#verdict')).toContain('differs');
    // The swapped ports are marked in both lines; the rest of each line is left unmarked.
    const swapped = /"delivered":\[(\d+),(\d+)/.exec(readFileSync(HAND_01.replace(/\.json$/, '.expected.jsonl'), 'utf8').split('\n')[victim]!)!;
    const markedActual = await page.textContent('#actual mark.diff');
    const markedExpected = await page.textContent('#expected mark.diff');
    expect(markedActual).not.toBe('');
    expect(markedActual).not.toBe(markedExpected);
    expect(`${swapped[1]},${swapped[2]}`).toContain(markedActual);
    expect(`${swapped[2]},${swapped[1]}`).toContain(markedExpected);
    await keepScreenshot(page, 'explorer-hand01-difference');
    // A matching step says so.
    await page.keyboard.press('ArrowLeft');
    expect(await page.textContent('#verdict')).toContain('matches');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('draws the 2-level words and steps a 1500-port FIFO scenario in under a second per step', async () => {
    const { page: p2, errors: e2 } = await openSelfContained(browser, await explore(dir, 'hand04', join(root, 'conformance/delivery/hand_04_2l_multiword_resume.json')));
    expect(await p2.locator('.grid').count()).toBeGreaterThan(2);
    await p2.keyboard.press('End');
    expect(e2).toEqual([]);
    await p2.close();

    const steps: unknown[] = [];
    for (let i = 0; i < 1500; i++) steps.push({ op: 'bind', vcpu: i % 2, priority: i % 16 });
    for (let r = 0; r < 4; r++) {
      for (let p = 1 + r; p <= 1500; p += 3) steps.push({ op: 'send', port: p });
      steps.push({ op: 'upcall', vcpu: 0 }, { op: 'upcall', vcpu: 1 });
    }
    const big = join(dir, 'fifo1500.json');
    writeFileSync(big, JSON.stringify({ format: 'evtchn-replay/1', abi: 'fifo', vcpus: 2, steps }));
    const loadStart = performance.now();
    const { page, errors } = await openSelfContained(browser, await explore(dir, 'fifo1500', big));
    await page.waitForSelector('#ports table');
    const loadMs = performance.now() - loadStart;
    const times: number[] = [];
    const timed = async (action: () => Promise<void>, step: number): Promise<void> => {
      const t = performance.now();
      await action();
      await page.waitForFunction((s) => (globalThis as unknown as { document: { body: { dataset: { step: string } } } }).document.body.dataset.step === String(s), step);
      times.push(performance.now() - t);
    };
    await timed(() => page.keyboard.press('End'), steps.length - 1);
    await timed(() => page.keyboard.press('ArrowLeft'), steps.length - 2);
    await timed(() => page.keyboard.press('Home'), 0);
    for (let i = 1; i <= 3; i++) await timed(() => page.keyboard.press('ArrowRight'), i);
    await timed(async () => void (await page.goto(`${page.url().split("#")[0]}#step=2000`)), 2000);
    console.log(`explorer, 1500 FIFO ports, ${steps.length} steps: load ${loadMs.toFixed(0)} ms, steps ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
    for (const t of times) expect(t).toBeLessThan(1000);
    expect(await page.locator('#ports tbody tr').count()).toBe(1500);
    await keepScreenshot(page, 'explorer-fifo1500');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('steps through a run of the Arm example: a domain picker, the vGIC list registers and the pCPUs, no error', async () => {
    const out = join(dir, 'arm-run.html');
    expect(await main(['explore', join(root, 'examples/arm-vtimer/platform.yaml'), '--duration', '2ms', '-o', out], quiet)).toBe(0);
    const { page, errors } = await openSelfContained(browser, pathToFileURL(out).href);
    expect(await page.isVisible('#domain')).toBe(true);
    const options = await page.$$eval('#domain option', (els) => els.length);
    expect(options).toBeGreaterThan(1);
    for (let o = 0; o < options; o++) {
      await page.selectOption('#domain', String(o));
      await page.keyboard.press('End');
      expect(await page.locator('#arch .chip').count()).toBeGreaterThan(0);
      expect(await page.textContent('#arch')).toMatch(/running on pCPU|not running/);
    }
    // Some step shows a handler of the picked domain running, named from the run's trace.
    let handled = '';
    for (let i = 0; i < 60 && !handled; i++) {
      await page.keyboard.press(i === 0 ? 'Home' : 'ArrowRight');
      handled = (await page.textContent('#handlers')) ?? '';
    }
    expect(handled).toMatch(/handlers ran for port \d+/);
    await keepScreenshot(page, 'explorer-arm-run');
    expect(errors).toEqual([]);
    await page.close();
  });
});
