/*
 * Shared launcher for the browser tests (HTML run report, sweep report, explorer). They drive a
 * real Chromium through playwright-core: Debian's `chromium` package (`apt-get install -y
 * chromium`, which `.ci/run` does) or any binary named by `CHROMIUM_PATH`.
 *
 * Where no browser is installed, `browserUnavailable` says why: the tests skip with that reason on
 * a developer's machine and fail under CI (`CI` set), so CI can never pass without running them.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Path of the Chromium binary the tests use, or `undefined` when there is none. */
export function chromiumPath(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/**
 * Why the browser tests cannot run here, or `undefined` when they can. Under CI a missing browser
 * is not a reason to skip: the caller's `describe.skipIf` gets `false` and the launch fails loudly.
 */
export function browserUnavailable(): string | undefined {
  if (chromiumPath()) return undefined;
  if (process.env.CI) return undefined;
  return 'no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH)';
}

/** Launches headless Chromium. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) {
    throw new Error('browser tests need Chromium: apt-get install -y chromium, or set CHROMIUM_PATH');
  }
  // --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
}

/** Folder for screenshots and other artefacts the browser tests keep (git-ignored). */
export const ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts');

/** Saves a full-page screenshot under {@link ARTIFACTS_DIR} and returns its path. */
export async function keepScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Opens `html` (a self-contained page: it must need no network) in a new page and collects every
 * console error and page error, so a test can assert the page logged none. Requests that leave
 * the page are aborted and recorded as errors.
 */
export async function openSelfContained(
  browser: Browser,
  fileUrl: string,
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    errors.push(`network request: ${url}`);
    return route.abort();
  });
  await page.goto(fileUrl);
  return { page, errors };
}
