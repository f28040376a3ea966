// `pnpm mutation:abi-2level`: mutates both halves of @evtchn/abi-2level (hypervisor side, guest side, ABI
// entry, layout) against the package's own tests, the built-in ABI tests of core and the
// conformance tests.
import { conformanceTests, sources, strykerConfig } from './base.mjs';

export default strykerConfig({
  name: 'abi-2level',
  mutate: sources('packages/abi-2level/src'),
  testFiles: ['packages/abi-2level/src/**/*.test.ts', 'packages/core/src/testing/builtin-abis.e2e.test.ts', ...conformanceTests],
});
