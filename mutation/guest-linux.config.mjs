// `pnpm mutation:guest-linux`: mutates the guest layer's IRQ core and event layer (descriptors, the
// per-IRQ table, irq_info, chips, flows, linux-guest.ts) against the package's own tests, the
// check of the event path's short form against its general form (test/reliability/event-path)
// and the conformance tests. linux-guest.ts alone is ~1500 lines: narrow a run with
// `--mutate packages/guest-linux/src/linux-guest.ts:FROM-TO` (a line range).
import { conformanceTests, strykerConfig } from './base.mjs';

export default strykerConfig({
  name: 'guest-linux',
  mutate: [
    'packages/guest-linux/src/irq-table.ts',
    'packages/guest-linux/src/irq-desc.ts',
    'packages/guest-linux/src/irq-info.ts',
    'packages/guest-linux/src/chips.ts',
    'packages/guest-linux/src/flows.ts',
    'packages/guest-linux/src/linux-guest.ts',
  ],
  testFiles: ['packages/guest-linux/src/**/*.test.ts', 'test/reliability/event-path.test.ts', ...conformanceTests],
});
