// `pnpm mutation:abi-fifo`: mutates both halves of @evtchn/abi-fifo (hypervisor side, guest side, ABI
// entry, layout) against the package's own tests, the built-in ABI tests of core and the
// conformance tests.
import { conformanceTests, sources, strykerConfig } from './base.mjs';

export default strykerConfig({
  name: 'abi-fifo',
  mutate: sources('packages/abi-fifo/src'),
  testFiles: ['packages/abi-fifo/src/**/*.test.ts', 'packages/core/src/testing/builtin-abis.e2e.test.ts', ...conformanceTests],
});
