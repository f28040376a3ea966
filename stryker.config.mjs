// Mutation testing (`pnpm mutation`, not part of CI: a full run takes hours on 2 cores).
// Mutates the hypervisor core and both event ABIs and runs the tests listed in
// vitest.mutation.config.ts against each mutant. One test process at a time (the machine is
// shared); incremental mode reuses the verdicts of unchanged code and tests from the last run
// (reports/stryker-incremental.json). Narrow a run with `pnpm mutation --mutate <glob>`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'packages/core/src/hypervisor/**/*.ts',
    'packages/abi-2level/src/**/*.ts',
    'packages/abi-fifo/src/**/*.ts',
    '!**/*.test.ts',
    '!**/*.test-util.ts',
    '!**/index.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['docs/site', 'bench/results.json', 'coverage', 'reports', '.ci/.tools', '**/dist', '**/*.tsbuildinfo'],
  timeoutMS: 20000,
  thresholds: { high: 85, low: 70, break: null },
};
