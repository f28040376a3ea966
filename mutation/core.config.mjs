// `pnpm mutation:core`: mutates packages/core/src/hypervisor against the hypervisor's own tests
// and the conformance tests.
import { conformanceTests, sources, strykerConfig } from './base.mjs';

export default strykerConfig({
  name: 'core',
  mutate: sources('packages/core/src/hypervisor'),
  testFiles: ['packages/core/src/hypervisor/**/*.test.ts', 'packages/core/src/testing/**/*.test.ts', ...conformanceTests],
});
