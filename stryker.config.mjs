// `pnpm mutation`: the hypervisor core and both event ABIs in one run, against every test in
// vitest.mutation.config.ts (including the property tests of test/reliability, so it is the
// slowest variant: hours on 2 shared cores). The per-package variants in mutation/ are cheaper;
// see mutation/base.mjs for what each setting buys.
import { sources, strykerConfig } from './mutation/base.mjs';

export default strykerConfig({
  name: 'all',
  mutate: [...sources('packages/core/src/hypervisor'), ...sources('packages/abi-2level/src'), ...sources('packages/abi-fifo/src')],
});
