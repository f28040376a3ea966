/*
 * The seed problem on x86 ("Xen and incorporating event channels in to nr_irqs"): a dom0
 * with 2 vCPUs on a machine with 21 IO-APICs of 24 pins. `arch_probe_nr_irqs` clamps
 * nr_irqs to 256 * 2 = 512 while nr_irqs_gsi = 504 + 16 = 520, so there is no IRQ number left
 * above the GSIs for event channels. The dom0 sets up 8 PCI devices at boot (GSIs 16–23),
 * binds 100 event channels (what `bind_evtchn_to_irq` does: one dynamic IRQ each), then sets
 * up devices on every other GSI. Each kernel era's dynamic-IRQ policy (with that era's
 * `arch_probe_nr_irqs`) runs on the same machine and the outcome is printed as a table, one
 * row per era. The `encroach` row's retry rule (16 lower each time) is an assumption: commit
 * 89911501's code was not found in the sources searched (docs/guides/x86-irq-eras.md).
 */
// @evtchn/core loads tsyringe, which needs the Reflect metadata polyfill first.
import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { errnoName } from '@evtchn/core';
import { DYN_IRQ_POLICIES, DYN_IRQ_POLICY_ERAS, X86Architecture, type DynIrqPolicy, type IoApicConfig } from '@evtchn/arch-x86';

/** Machine and workload of the example. */
export interface NrIrqsScenario {
  /** dom0 vCPUs. */
  readonly vcpus: number;
  /** IO-APICs of the machine. */
  readonly ioApics: readonly IoApicConfig[];
  /** GSIs whose devices are set up before the event channels are bound. */
  readonly bootGsis: readonly number[];
  /** Event channels to bind. */
  readonly channels: number;
}

/** The default scenario: 2 vCPUs, 21 × 24 IO-APIC pins, 8 boot devices, 100 channels. */
export const SEED_SCENARIO: NrIrqsScenario = {
  vcpus: 2,
  ioApics: Array.from({ length: 21 }, (_, i) => ({ id: i, gsiBase: 24 * i, pins: 24 })),
  bootGsis: [16, 17, 18, 19, 20, 21, 22, 23],
  channels: 100,
};

/** One row of the table. */
export interface PolicyRow {
  /** The dynamic-IRQ policy. */
  readonly policy: DynIrqPolicy;
  /** The kernels (or commit) that had it. */
  readonly kernels: string;
  /** dom0's nr_irqs at boot under that era's `arch_probe_nr_irqs`. */
  readonly nrIrqs: number;
  /** Event channels that got an IRQ. */
  readonly given: number;
  /** The first failed bind: `#n: reason`, or `undefined`. */
  readonly firstFailure: string | undefined;
  /** GSIs set up later that found their identity IRQ taken by an event channel. */
  readonly clashes: number;
  /** IRQs of the channels that were given one in the GSI range (`encroach`). */
  readonly encroached: number;
  /** Lowest and highest IRQ given, or `undefined`. */
  readonly irqRange: readonly [number, number] | undefined;
  /** nr_irqs after the run (grows from 2.6.39: `alloc-from`, `lower-bound`). */
  readonly nrIrqsAfter: number;
}

/** The outcome of the example. */
export interface NrIrqsReport {
  /** `gsi_top` of the machine. */
  readonly gsiTop: number;
  /** dom0's nr_irqs at boot (the same in every era on this machine; each row has its own). */
  readonly nrIrqs: number;
  /** dom0's nr_irqs_gsi. */
  readonly nrIrqsGsi: number;
  /** Channels bound per policy. */
  readonly channels: number;
  /** One row per policy, oldest era first. */
  readonly rows: readonly PolicyRow[];
}

/** Runs one policy (with its era's boot-time sizing) on the scenario. */
function runPolicy(policy: DynIrqPolicy, sc: NrIrqsScenario): { row: PolicyRow; gsiTop: number; nrIrqs: number; nrIrqsGsi: number } {
  const arch = new X86Architecture({ nrPcpus: sc.vcpus, ioApics: sc.ioApics, dynIrqPolicy: policy });
  const space = arch.createGuestIrqSpace({ domid: 0, nrCpus: sc.vcpus, privileged: true });
  const nrIrqs = space.nrIrqs();
  for (const gsi of sc.bootGsis) space.irqForGsi(gsi);
  const irqs: number[] = [];
  let firstFailure: string | undefined;
  for (let n = 1; n <= sc.channels && firstFailure === undefined; n++) {
    const irq = space.allocDynamic();
    if (irq >= 0) irqs.push(irq);
    else if (space.panicMessage !== undefined) firstFailure = `#${n}: panic "${space.panicMessage}"`;
    else if (space.warnings.length > 0) firstFailure = `#${n}: WARN, ${irq}`;
    else firstFailure = `#${n}: -${errnoName(irq)}`;
  }
  // The rest of the devices come up after the event channels were bound.
  const boot = new Set(sc.bootGsis);
  for (let gsi = 16; gsi < space.gsiTop; gsi++) if (!boot.has(gsi)) space.irqForGsi(gsi);
  const row: PolicyRow = {
    policy,
    kernels: DYN_IRQ_POLICY_ERAS[policy].kernels,
    nrIrqs,
    given: irqs.length,
    firstFailure,
    clashes: space.clashes.length,
    encroached: space.encroached,
    irqRange: irqs.length > 0 ? [Math.min(...irqs), Math.max(...irqs)] : undefined,
    nrIrqsAfter: space.nrIrqs(),
  };
  return { row, gsiTop: space.gsiTop, nrIrqs, nrIrqsGsi: space.nrIrqsGsi };
}

/**
 * Runs the scenario under every kernel era's dynamic-IRQ policy.
 * @param scenario - machine and workload (default {@link SEED_SCENARIO})
 */
export function runNrIrqsExample(scenario: NrIrqsScenario = SEED_SCENARIO): NrIrqsReport {
  const results = DYN_IRQ_POLICIES.map((p) => runPolicy(p, scenario));
  const first = results[0]!;
  return {
    gsiTop: first.gsiTop,
    nrIrqs: first.nrIrqs,
    nrIrqsGsi: first.nrIrqsGsi,
    channels: scenario.channels,
    rows: results.map((r) => r.row),
  };
}

/** Renders the report as a text table. */
export function formatNrIrqsReport(report: NrIrqsReport): string {
  const header = ['policy', 'kernels', 'nr_irqs', 'IRQs given', 'first failure', 'clashes detected', 'IRQ range', 'nr_irqs after'];
  const body = report.rows.map((r) => [
    r.policy,
    r.kernels,
    String(r.nrIrqs),
    `${r.given}/${report.channels}`,
    r.firstFailure ?? '-',
    String(r.clashes),
    r.irqRange ? `${r.irqRange[0]}-${r.irqRange[1]}` : '-',
    String(r.nrIrqsAfter),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ').trimEnd();
  return [
    `dom0: gsi_top ${report.gsiTop}, nr_irqs ${report.nrIrqs}, nr_irqs_gsi ${report.nrIrqsGsi}` +
      (report.nrIrqsGsi >= report.nrIrqs ? ' (nr_irqs_gsi >= nr_irqs: no room for dynamic IRQs)' : ''),
    '',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...body.map(line),
  ].join('\n');
}

/** Prints the table. */
export function main(): void {
  console.log(formatNrIrqsReport(runNrIrqsExample()));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
