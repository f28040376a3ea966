/*
 * Fairness of event delivery under a flood, on the real stack (hypervisor core, ABIs,
 * guest-linux): dom0 floods the domU's lowest port faster than the guest can handle events,
 * while a few higher ports send now and then. Each handled event costs the guest virtual time,
 * during which the senders keep sending. Three guests are compared:
 *   - the 2007 Linux guest, whose 2-level scan re-reads the word and takes the lowest active
 *     port every time: the flood port is pending again whenever it is looked at, so the scan
 *     never reaches the higher ports until the flood stops;
 *   - the modern 2-level scan, which samples each word once and resumes after the last port
 *     it handled: every pending port is served once per pass;
 *   - FIFO, where a re-sent event joins the tail of its priority queue.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { DOMID_SELF, VirtualClock, archNull, createPlatform } from '@evtchn/core';
import { IRQ_HANDLED, guestLinux, type LinuxGuest } from '@evtchn/guest-linux';

/** The guest variants compared. */
export type FairnessVariant = '2007' | 'modern' | 'fifo';

/** Parameters of a run (times in ns of virtual time). */
export interface FairnessParams {
  /** How long the senders send. */
  readonly durationNs: number;
  /** Interval between two sends on the flooding port (shorter than `handleNs`: a flood). */
  readonly floodPeriodNs: number;
  /** Interval between two sends on each high port. */
  readonly highPeriodNs: number;
  /** Virtual time one handled event costs the guest. */
  readonly handleNs: number;
  /** Number of high ports; the last one is placed in the second bitmap word (port ≥ 64). */
  readonly highPorts: number;
}

/** Defaults: 5 ms of flood at one send per 400 ns, 1 µs per event, high ports every 100 µs. */
export const DEFAULT_PARAMS: FairnessParams = {
  durationNs: 5_000_000,
  floodPeriodNs: 400,
  highPeriodNs: 100_000,
  handleNs: 1_000,
  highPorts: 3,
};

/** A high port whose events wait longer than this is counted as starved. */
export const STARVATION_NS = 1_000_000;

/** Delivery statistics of one port. */
export interface PortResult {
  /** The domU's port. */
  readonly port: number;
  /** `'flood'` or `'high'`. */
  readonly role: 'flood' | 'high';
  /** Sends made on it. */
  readonly sends: number;
  /** Handler runs (sends made while pending coalesce into one). */
  readonly deliveries: number;
  /** Handler runs while the flood was still going on. */
  readonly deliveriesDuringFlood: number;
  /** Mean time from the oldest unserved send to the handler run, in µs. */
  readonly meanLatencyUs: number;
  /** Longest such time, in µs. */
  readonly maxLatencyUs: number;
}

/** The result of one variant. */
export interface FairnessResult {
  /** The guest variant. */
  readonly variant: FairnessVariant;
  /** Per port, flood first. */
  readonly ports: readonly PortResult[];
  /** High ports that waited longer than {@link STARVATION_NS}. */
  readonly starved: number;
}

/**
 * Runs one variant: builds a platform with dom0 (sender, no guest layer) and a one-vCPU domU
 * running guest-linux, connects the ports, then runs the virtual clock and the domU's upcall
 * until every sent event has been handled.
 */
export function runFairness(variant: FairnessVariant, params: FairnessParams = DEFAULT_PARAMS): FairnessResult {
  const clock = new VirtualClock();
  const platform = createPlatform({
    arch: archNull(),
    abis: [abi2Level(), abiFifo()],
    guest: guestLinux(variant === '2007' ? { era: '2007' } : { fifo: variant === 'fifo' }),
    domains: [
      { id: 0, vcpus: 1, guest: false },
      { id: 1, vcpus: 1 },
    ],
    clock,
  });
  const dom0 = platform.hypervisor.evtchn(0);
  const domU = platform.domain(1);
  const guest = domU.guest as LinuxGuest;
  const domUHc = domU.domain.hypercalls;
  const upcallPending = domU.domain.sharedInfo.upcallPending;

  const n = params.highPorts + 1;
  const localPorts: number[] = [];
  const remotePorts: number[] = [];
  const sends = new Float64Array(n);
  const deliveries = new Float64Array(n);
  const duringFlood = new Float64Array(n);
  const oldestUnserved = new Float64Array(n).fill(-1);
  const latencySum = new Float64Array(n);
  const latencyMax = new Float64Array(n);

  for (let i = 0; i < n; i++) {
    if (i === n - 1 && n > 2) {
      // Push the last high port into the second word with channels that are never used.
      while (domUHc.allocUnbound(DOMID_SELF, 0) < 69);
    }
    const remote = dom0.allocUnbound(DOMID_SELF, 1);
    const irq = guest.bindInterdomainEvtchnToIrqhandler(
      0,
      remote,
      () => {
        const now = clock.now();
        deliveries[i]!++;
        if (now < params.durationNs) duringFlood[i]!++;
        const since = oldestUnserved[i]!;
        if (since >= 0) {
          const lat = now - since;
          latencySum[i]! += lat;
          if (lat > latencyMax[i]!) latencyMax[i] = lat;
          oldestUnserved[i] = -1;
        }
        // The work of the handler takes time; the senders go on meanwhile.
        clock.runUntil(now + params.handleNs);
        return IRQ_HANDLED;
      },
      0,
      i === 0 ? 'flood' : `high${i}`,
      null,
    );
    if (irq < 0) throw new Error(`binding port ${i} failed: ${irq}`);
    localPorts.push(guest.evtchnFromIrq(irq));
    remotePorts.push(remote);
  }
  // bind_interdomain leaves each new port pending; start from a quiet guest.
  guest.upcall(0);
  deliveries.fill(0);
  duringFlood.fill(0);

  const sender = (i: number, period: number, phase: number): void => {
    const tick = (): void => {
      sends[i]!++;
      if (oldestUnserved[i]! < 0) oldestUnserved[i] = clock.now();
      dom0.send(remotePorts[i]!);
      if (clock.now() + period < params.durationNs) clock.after(period, tick);
    };
    clock.at(clock.now() + phase, tick);
  };
  sender(0, params.floodPeriodNs, 0);
  // The odd offset keeps high-port sends off the handlers' 1 µs grid.
  for (let i = 1; i < n; i++) sender(i, params.highPeriodNs, Math.floor((i * params.highPeriodNs) / n) + 317);

  for (;;) {
    if (upcallPending[0] !== 0) {
      guest.upcall(0);
      continue;
    }
    if (!clock.step()) break;
  }

  const ports: PortResult[] = [];
  let starved = 0;
  for (let i = 0; i < n; i++) {
    const maxLatencyUs = latencyMax[i]! / 1000;
    if (i > 0 && latencyMax[i]! > STARVATION_NS) starved++;
    ports.push({
      port: localPorts[i]!,
      role: i === 0 ? 'flood' : 'high',
      sends: sends[i]!,
      deliveries: deliveries[i]!,
      deliveriesDuringFlood: duringFlood[i]!,
      meanLatencyUs: deliveries[i]! > 0 ? latencySum[i]! / deliveries[i]! / 1000 : 0,
      maxLatencyUs,
    });
  }
  return { variant, ports, starved };
}

/** Formats results as a table, one line per variant and port. */
export function formatFairness(results: readonly FairnessResult[]): string {
  const lines = ['scan    port  role   sends  delivered  during flood  mean µs   max µs'];
  for (const r of results) {
    for (const p of r.ports) {
      lines.push(
        `${r.variant.padEnd(6)}  ${String(p.port).padStart(4)}  ${p.role.padEnd(5)}  ${String(p.sends).padStart(5)}` +
          `  ${String(p.deliveries).padStart(9)}  ${String(p.deliveriesDuringFlood).padStart(12)}` +
          `  ${p.meanLatencyUs.toFixed(1).padStart(7)}  ${p.maxLatencyUs.toFixed(1).padStart(7)}`,
      );
    }
    lines.push(`${r.variant.padEnd(6)}  starved high ports (waited > ${STARVATION_NS / 1e6} ms): ${r.starved}`);
  }
  return `${lines.join('\n')}\n`;
}
