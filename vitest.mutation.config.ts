import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The tests StrykerJS (`pnpm mutation`, `pnpm mutation:<package>`) may run against each mutant:
// the unit and end-to-end tests of the mutated packages and the conformance runner, plus the
// property tests of the hypercall layer (only the full `pnpm mutation` run selects those; the
// per-package configs in mutation/ narrow the list with `testFiles`). Tests that spawn child
// processes or read built `dist/` files are left out (Stryker runs in a sandbox with no build);
// the property tests use one fixed seed, so a mutant's verdict does not depend on the run, and a
// quarter of their cases (FC_RUNS_SCALE).
//
// `isolate: false`: test files share one module graph instead of re-importing every package per
// file. Stryker switches mutants at run time (static mutants are ignored, see mutation/base.mjs),
// so a shared graph changes no verdict, and it makes each mutant run about 3x cheaper (measured:
// the core hypervisor + hypercall conformance files take 4.3 s instead of 14.4 s in one process).
const merged = mergeConfig(base, {
  test: {
    reporters: ['default'],
    isolate: false,
    env: { FC_SEED: process.env.FC_SEED ?? '24301', FC_RUNS_SCALE: process.env.FC_RUNS_SCALE ?? '0.25' },
  },
});
merged.test!.include = [
  'packages/core/src/**/*.test.ts',
  'packages/abi-2level/src/**/*.test.ts',
  'packages/abi-fifo/src/**/*.test.ts',
  'packages/guest-linux/src/**/*.test.ts',
  'packages/conformance/src/**/*.test.ts',
  'test/reliability/hypercall-model.test.ts',
  'test/reliability/hostile-args.test.ts',
  'test/reliability/isolation.test.ts',
  'test/reliability/delivery.test.ts',
  'test/reliability/event-path.test.ts',
];
export default defineConfig(merged);
