import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (name: string, entry = 'src/index.ts'): string =>
  fileURLToPath(new URL(`./packages/${name}/${entry}`, import.meta.url));

/**
 * One fast-check seed per test run for the property tests (test/reliability): `FC_SEED=<n>`
 * replays a run; unset (or `random`) picks a fresh one, so every CI run explores new cases. The
 * tests print it with the command that replays it.
 */
const fcSeed = /^-?\d+$/.test(process.env.FC_SEED ?? '') ? process.env.FC_SEED! : String(Math.floor(Math.random() * 2 ** 31));

// Tests run against the TypeScript sources of every workspace package, so a change in one
// package is seen by the tests of the others without a rebuild.
export default defineConfig({
  // Vite 8 transforms with oxc; the framework uses legacy (experimentalDecorators) decorators.
  oxc: { decorator: { legacy: true } },
  resolve: {
    alias: [
      { find: /^@evtchn\/core\/testing$/, replacement: pkg('core', 'src/testing/index.ts') },
      { find: /^@evtchn\/core$/, replacement: pkg('core') },
      { find: /^@evtchn\/abi-2level$/, replacement: pkg('abi-2level') },
      { find: /^@evtchn\/abi-fifo$/, replacement: pkg('abi-fifo') },
      { find: /^@evtchn\/guest-linux$/, replacement: pkg('guest-linux') },
      { find: /^@evtchn\/arch-x86$/, replacement: pkg('arch-x86') },
      { find: /^@evtchn\/arch-arm$/, replacement: pkg('arch-arm') },
      { find: /^@evtchn\/conformance\/testing$/, replacement: pkg('conformance', 'src/testing.ts') },
      { find: /^@evtchn\/conformance$/, replacement: pkg('conformance') },
      { find: /^@evtchn\/sim$/, replacement: pkg('sim') },
      { find: /^@evtchn\/cli$/, replacement: pkg('cli') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    setupFiles: ['./vitest.setup.ts'],
    env: { FC_SEED: fcSeed },
    // CI reads the JSON report for its closing "N passed, N failed" line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.vitest-report.json' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
