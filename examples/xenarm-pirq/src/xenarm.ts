/*
 * The early Xen ARM port's physical IRQs for guests, on the real stack (arch-arm with
 * `xenarmPirqs`, the hypervisor core, the 2-level ABI, guest-linux): two guests share a
 * level-triggered line (each owns one device on it) and a HID line (a touch screen) that only
 * the foreground domain receives. Each guest binds its pirqs the Linux way: the IRQ is set up
 * first and the event channel is bound lazily when `request_irq` starts it. Last, the foreground
 * switches to dom0, which has not bound the touch screen: the touch is acked and the line left
 * masked (the seed's level_irq_handler), so a line held high does not storm.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { archArm, type ArmArchitecture } from '@evtchn/arch-arm';
import { createPlatform } from '@evtchn/core';
import { IRQF_SHARED, IRQ_HANDLED, IRQ_NONE, guestLinux, type LinuxGuest } from '@evtchn/guest-linux';

/** The shared level-triggered line (an SPI). */
export const SHARED_LINE = 34;
/** The HID line (touch screen). */
export const TOUCH_LINE = 40;
/** The two guests. */
export const GUESTS = [1, 2] as const;

/** One row of the result: what happened when a line fired. */
export interface XenarmRow {
  /** What fired. */
  readonly event: string;
  /** The foreground domain at the time. */
  readonly foreground: number;
  /** Guests whose handler ran (they received the pirq). */
  readonly received: readonly number[];
  /** The guest whose handler found work (its device raised the line). */
  readonly handledBy: number | undefined;
  /** Guests still owing an EOI afterwards (the line's in-flight count). */
  readonly inFlightAfter: number;
  /** Whether the line is masked afterwards (nobody took it). */
  readonly maskedAfter: boolean;
}

/** A booted scenario: the platform, the guests, and the devices on the lines. */
export interface XenarmScenario {
  /** The Arm architecture. */
  readonly arch: ArmArchitecture;
  /** The guests' Linux layers, by domain id. */
  readonly guests: ReadonlyMap<number, LinuxGuest>;
  /** The guests' IRQ numbers for each line, by domain id. */
  readonly irqs: ReadonlyMap<number, { shared: number; touch: number }>;
  /** Raises the interrupt of the device a guest owns on the shared line. */
  raiseDevice(owner: number): void;
  /** A touch on the screen. */
  touch(): void;
  /** Handler runs since the last `take()`, as [domid, line, handled]. */
  take(): Array<[number, number, boolean]>;
  /** Runs the platform for 1 ms of virtual time: the guests' vCPUs take what was raised. */
  settle(): void;
}

/** Boots dom0 plus two guests sharing the lines; the foreground domain starts as guest 1. */
export function bootXenarm(): XenarmScenario {
  const platform = createPlatform({
    arch: archArm({ xenarmPirqs: { hidIrqs: [TOUCH_LINE], foregroundDomain: GUESTS[0] } }),
    abis: [abi2Level()],
    guest: guestLinux({ fifo: false }),
    domains: [
      { id: 0, vcpus: 1, guest: false },
      ...GUESTS.map((id) => ({ id, vcpus: 1, pirqs: [SHARED_LINE, TOUCH_LINE] })),
    ],
  });
  const arch = platform.arch as ArmArchitecture;
  const gic = arch.gic;
  // Device state: which owner's device is raising the shared line, and the touch controller.
  const raised = new Set<number>();
  let touched = false;
  const runs: Array<[number, number, boolean]> = [];
  const guests = new Map<number, LinuxGuest>();
  const irqs = new Map<number, { shared: number; touch: number }>();

  for (const id of GUESTS) {
    const guest = platform.domain(id).guest as LinuxGuest;
    guests.set(id, guest);
    const shared = guest.bindPirqGsiToIrq(SHARED_LINE, SHARED_LINE, true, 'xenarm-level');
    const touch = guest.bindPirqGsiToIrq(TOUCH_LINE, TOUCH_LINE, true, 'xenarm-level');
    if (shared < 0 || touch < 0) throw new Error(`d${id}: pirq set-up failed (${shared}, ${touch})`);
    irqs.set(id, { shared, touch });
    const onShared = (): number => {
      const mine = raised.delete(id);
      if (mine && raised.size === 0) gic.setLine(SHARED_LINE, false);
      runs.push([id, SHARED_LINE, mine]);
      return mine ? IRQ_HANDLED : IRQ_NONE;
    };
    const onTouch = (): number => {
      const had = touched;
      touched = false;
      gic.setLine(TOUCH_LINE, false);
      runs.push([id, TOUCH_LINE, had]);
      return had ? IRQ_HANDLED : IRQ_NONE;
    };
    let rc = guest.requestIrq(shared, onShared, IRQF_SHARED, `dev-d${id}`, `dev-d${id}`);
    if (rc === 0) rc = guest.requestIrq(touch, onTouch, IRQF_SHARED, 'touch', `touch-d${id}`);
    if (rc !== 0) throw new Error(`d${id}: request_irq failed (${rc})`);
  }

  return {
    arch,
    guests,
    irqs,
    raiseDevice(owner: number): void {
      raised.add(owner);
      gic.setLine(SHARED_LINE, true);
    },
    touch(): void {
      touched = true;
      gic.setLine(TOUCH_LINE, true);
    },
    take(): Array<[number, number, boolean]> {
      return runs.splice(0, runs.length);
    },
    settle(): void {
      platform.run(1_000_000);
    },
  };
}

/** Runs the scenario: each device on the shared line fires, then touches with d1, d2 and dom0 (unbound) in the foreground. */
export function runXenarm(): XenarmRow[] {
  const s = bootXenarm();
  const xa = s.arch.xenarm!;
  const rows: XenarmRow[] = [];
  const record = (event: string, line: number, fire: () => void): void => {
    const foreground = xa.foregroundDomain;
    fire();
    s.settle();
    const runs = s.take().filter(([, l]) => l === line);
    rows.push({
      event,
      foreground,
      received: runs.map(([d]) => d),
      handledBy: runs.find(([, , handled]) => handled)?.[0],
      inFlightAfter: xa.inFlight[line]!,
      maskedAfter: xa.isLineMasked(line),
    });
  };
  record(`line ${SHARED_LINE}: device of d1`, SHARED_LINE, () => s.raiseDevice(1));
  record(`line ${SHARED_LINE}: device of d2`, SHARED_LINE, () => s.raiseDevice(2));
  record(`line ${TOUCH_LINE}: touch (HID)`, TOUCH_LINE, () => s.touch());
  xa.setForegroundDomain(2);
  record(`line ${TOUCH_LINE}: touch (HID)`, TOUCH_LINE, () => s.touch());
  xa.setForegroundDomain(0);
  record(`line ${TOUCH_LINE}: touch (HID)`, TOUCH_LINE, () => s.touch());
  return rows;
}

/** Formats the rows as a table. */
export function formatXenarm(rows: readonly XenarmRow[]): string {
  const lines = ['event                     foreground  received by  handled by  in flight after  line'];
  for (const r of rows) {
    const received = r.received.length > 0 ? r.received.map((d) => `d${d}`).join(',') : '-';
    lines.push(
      `${r.event.padEnd(24)}  ${`d${r.foreground}`.padStart(10)}  ${received.padStart(11)}` +
        `  ${(r.handledBy === undefined ? '-' : `d${r.handledBy}`).padStart(10)}  ${String(r.inFlightAfter).padStart(15)}` +
        `  ${r.maskedAfter ? 'masked' : 'open'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
