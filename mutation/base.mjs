// Shared StrykerJS settings for `pnpm mutation` and its per-package variants
// (`pnpm mutation:core`, `mutation:abi-2level`, `mutation:abi-fifo`). Not part of CI: even one
// package takes minutes to tens of minutes on 2 shared cores.
//
// What keeps a run cheap:
// - `coverageAnalysis: 'perTest'`: a mutant runs only the tests that executed its code in the
//   initial run, and the vitest runner bails at the first failing test.
// - `ignoreStatic`: mutants in code that runs only while a module loads (constant tables,
//   top-level `Object.freeze`) would need every test re-run in a fresh environment; they are
//   left out (Stryker counts them as "ignored", not in the score).
// - `testFiles` per package: only the tests that exercise that package run (its own unit and
//   end-to-end tests plus the conformance tests), not the slow property tests of test/reliability.
// - `incremental`: the verdicts of a run are kept in reports/ (git-ignored) and reused for
//   mutants whose code and tests did not change. The file is deliberately not committed: Stryker
//   only diffs the mutated files and the test files, so a change elsewhere (core code an ABI runs
//   on, fixtures) would silently keep stale verdicts; `--force` re-runs everything.
// - one test process (`concurrency: 1`; raise it with `--concurrency N` on an idle machine).

/** Source files of a package folder that are mutated (tests, test utilities and barrels are not). */
export const sources = (folder) => [`${folder}/**/*.ts`, '!**/*.test.ts', '!**/*.test-util.ts', '!**/index.ts'];

/** Conformance tests every package's mutants run against (reference vectors, plugin suite). */
export const conformanceTests = [
  'packages/conformance/src/abi-plugins.test.ts',
  'packages/conformance/src/delivery.test.ts',
  'packages/conformance/src/hypercall.test.ts',
];

/**
 * Builds a Stryker configuration.
 * @param {{ name: string, mutate: string[], testFiles?: string[] }} scope
 * @returns {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export function strykerConfig({ name, mutate, testFiles }) {
  return {
    testRunner: 'vitest',
    vitest: { configFile: 'vitest.mutation.config.ts' },
    plugins: ['@stryker-mutator/vitest-runner'],
    mutate,
    ...(testFiles ? { testFiles } : {}),
    coverageAnalysis: 'perTest',
    ignoreStatic: true,
    concurrency: 1,
    incremental: true,
    incrementalFile: `reports/mutation/${name}.incremental.json`,
    reporters: ['clear-text', 'progress', 'html', 'json'],
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    tempDirName: '.stryker-tmp',
    ignorePatterns: ['docs/site', 'bench/results.json', 'coverage', 'reports', 'test-artifacts', '.ci/.tools', '**/dist', '**/*.tsbuildinfo'],
    // A mutant that loops forever is cut off after the test's normal time x 1.5 + 10 s: enough
    // slack for a loaded shared machine, short enough that timeouts do not dominate a run.
    timeoutMS: 10000,
    thresholds: { high: 85, low: 70, break: null },
  };
}
