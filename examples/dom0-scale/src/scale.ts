/*
 * dom0 scale: guests are added one by one, each connecting its devices (console, xenstore,
 * net, block) to back-ends in dom0, until dom0 cannot bind another channel. On the 2-level ABI
 * a 64-bit dom0 stops at port 4095; on FIFO it goes on.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { archX86 } from '@evtchn/arch-x86';
import { createPlatform, errnoName } from '@evtchn/core';
import { IRQ_HANDLED, LinuxGuest, guestLinux } from '@evtchn/guest-linux';

/** Devices each guest connects to dom0. */
export const DEVICES = ['console', 'xenstore', 'vif', 'vbd'] as const;

/** One row of the result. */
export interface ScaleRow {
  /** The ABI dom0 ran on. */
  abi: string;
  /** Guests whose devices were all connected. */
  guests: number;
  /** Ports in use in dom0 at the end. */
  dom0Ports: number;
  /** Highest port dom0 bound. */
  highestPort: number;
  /** What stopped the growth: an errno, or `'limit'` when the cap was reached first. */
  stoppedBy: string;
}

/**
 * Adds guests until dom0 cannot bind another back-end channel, or `maxGuests` is reached.
 * @param abi - `'2level'` or `'fifo'` for dom0 and the guests
 */
export function scaleDom0(abi: '2level' | 'fifo', maxGuests: number): ScaleRow {
  const platform = createPlatform({
    arch: archX86({ nrPcpus: 4 }),
    abis: [abi2Level(), abiFifo()],
    guest: guestLinux({ fifo: abi === 'fifo' }),
    domains: [{ id: 0, name: 'dom0', vcpus: 4 }],
  });
  const dom0 = platform.domain(0).guest as LinuxGuest;
  const handler = (): number => IRQ_HANDLED;
  let guests = 0;
  let highest = 0;
  let stoppedBy = 'limit';
  outer: for (let id = 1; id <= maxGuests; id++) {
    const pd = platform.addDomain({ id, vcpus: 1, memPages: 4096 });
    const guest = pd.guest as LinuxGuest;
    for (const dev of DEVICES) {
      const port = platform.hypervisor.evtchn(id).allocUnbound(id, 0);
      if (port < 0) {
        stoppedBy = `guest ${errnoName(port)}`;
        break outer;
      }
      guest.bindEvtchnToIrqhandler(port, handler, 0, `${dev}-fe`, null);
      const irq = dom0.bindInterdomainEvtchnToIrq(id, port);
      if (irq < 0) {
        stoppedBy = `dom0 ${errnoName(irq)}`;
        break outer;
      }
      highest = Math.max(highest, dom0.evtchnFromIrq(irq));
    }
    guests++;
  }
  const d0 = platform.hypervisor.domain(0)!;
  let inUse = 0;
  for (let p = 1; p < d0.channels.valid; p++) if (d0.channels.state[p] !== 0) inUse++;
  return { abi, guests, dom0Ports: inUse, highestPort: highest, stoppedBy };
}

/** Formats rows as a table. */
export function formatScale(rows: readonly ScaleRow[]): string {
  const lines = ['abi     guests  dom0 ports  highest port  stopped by'];
  for (const r of rows)
    lines.push(`${r.abi.padEnd(6)}  ${String(r.guests).padStart(6)}  ${String(r.dom0Ports).padStart(10)}  ${String(r.highestPort).padStart(12)}  ${r.stoppedBy}`);
  return `${lines.join('\n')}\n`;
}
