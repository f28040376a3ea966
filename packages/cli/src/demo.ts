/*
 * The default demo: a small platform, an interdomain channel per ABI, events sent and seen
 * pending, printed as a readable narrative.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { archNull, createPlatform } from '@evtchn/core';

/**
 * Runs the default demo.
 * @returns the demo's text output
 */
export function runDemo(): string {
  const lines: string[] = [];
  const say = (s: string): void => void lines.push(s);
  const platform = createPlatform({
    arch: archNull(),
    abis: [abi2Level(), abiFifo()],
    domains: [
      { id: 0, vcpus: 2 },
      { id: 1, vcpus: 2, memPages: 1024 },
    ],
  });
  const xen = platform.hypervisor;
  const dom0 = xen.evtchn(0);
  const domU = xen.evtchn(1);

  say('Evtchn Lab demo: dom0 (2 vCPUs) and domU 1 (2 vCPUs), both starting on the 2-level ABI');
  const offered = domU.allocUnbound(1, 0);
  const backend = dom0.bindInterdomain(1, offered);
  say(`  domU offers port ${offered}; dom0 binds it as its port ${backend}`);
  dom0.send(backend);
  const q = xen.query(1, offered);
  say(`  dom0 sends: domU port ${offered} pending=${q.pending} masked=${q.masked}, upcall pending on vCPU 0: ${xen.domain(1)!.sharedInfo.upcallPending[0]}`);

  say('domU switches to FIFO (EVTCHNOP_init_control) and grows its event array');
  const gfn = xen.domain(1)!.memory.allocate();
  say(`  init_control(gfn ${gfn}) -> link bits ${domU.initControl(gfn, 0, 0)}`);
  say(`  expand_array -> ${domU.expandArray(xen.domain(1)!.memory.allocate())}; the pending event carried over: pending=${xen.query(1, offered).pending}`);
  const hi = domU.allocUnbound(1, 0);
  const hiBack = dom0.bindInterdomain(1, hi);
  say(`  a second channel, port ${hi}, set to priority 2: rc ${domU.setPriority(hi, 2)}`);
  dom0.send(hiBack);
  say(`  sent on it: pending=${xen.query(1, hi).pending}`);
  say('domU resets its event channels (EVTCHNOP_reset) and is back on 2-level');
  say(`  reset -> ${domU.reset(1)}; active ABI: ${xen.domain(1)!.abi.name}; dom0's end is now waiting: ${(() => {
    const st = { status: 'closed' as const, vcpu: 0 } as Parameters<typeof dom0.status>[2];
    dom0.status(0, backend, st);
    return st.status;
  })()}`);
  return `${lines.join('\n')}\n`;
}
