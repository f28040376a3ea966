/*
 * The `/proc/interrupts` view of Linux (kernel/irq/proc.c `show_interrupts`): a header of
 * online CPUs, then one line per IRQ that has an action or has fired: the IRQ number, the
 * per-CPU counts, the chip name, the flow name and the actions' names.
 */
import type { IrqDesc } from './irq-desc.js';

/** Width of the IRQ-number column: at least 3 digits, as many as `nrIrqs` needs. */
function irqColumnWidth(nrIrqs: number): number {
  let prec = 3;
  for (let j = 1000; prec < 10 && j <= nrIrqs; j *= 10) prec++;
  return prec;
}

/**
 * Renders descriptors the way `/proc/interrupts` does.
 * @param descs - descriptors in IRQ order
 * @param nrCpus - number of CPUs
 * @param online - per-CPU online flags (offline CPUs get no column)
 * @param nrIrqs - size of the IRQ space (decides the first column's width)
 * @returns the text, one line per row, each ending with a newline
 */
export function renderProcInterrupts(
  descs: readonly IrqDesc[],
  nrCpus: number,
  online: ArrayLike<number>,
  nrIrqs: number,
): string {
  const prec = irqColumnWidth(nrIrqs);
  const cpus: number[] = [];
  for (let cpu = 0; cpu < nrCpus; cpu++) if (online[cpu]) cpus.push(cpu);
  let out = ' '.repeat(prec + 8);
  for (const cpu of cpus) out += `CPU${String(cpu).padEnd(8)}`;
  out += '\n';
  for (const desc of descs) {
    if (desc.action === null && desc.count === 0) continue;
    let line = `${String(desc.irq).padStart(prec)}: `;
    for (const cpu of cpus) line += `${String(desc.kstat[cpu] ?? 0).padStart(10)} `;
    line += ` ${(desc.chip ? desc.chip.name || '-' : 'None').padStart(8)}`;
    line += ` ${''.padStart(prec)}`;
    if (desc.name) line += `-${desc.name.padEnd(8)}`;
    let first = true;
    for (let a = desc.action; a !== null; a = a.next) {
      line += first ? `  ${a.name}` : `, ${a.name}`;
      first = false;
    }
    out += `${line}\n`;
  }
  return out;
}

/** One line of `/proc/interrupts` as data. */
export interface ProcInterruptsRow {
  /** IRQ number. */
  irq: number;
  /** Count per online CPU, in the order of {@link ProcInterruptsTable.cpus}. */
  counts: number[];
  /** Chip name (`xen-dyn`, `xen-percpu`, `xen-pirq`, …; `None` without a chip). */
  chip: string;
  /** Flow handler name as Linux shows it after a dash (`edge`, `fasteoi`, `ioapic-level`, …), if any. */
  handler?: string;
  /** Names of the actions (the `request_irq` names), in order. */
  actions: string[];
}

/** `/proc/interrupts` as data: the online CPUs and one row per IRQ the text shows. */
export interface ProcInterruptsTable {
  /** Online CPU numbers (the text's columns). */
  cpus: number[];
  /** The rows, in IRQ order. */
  rows: ProcInterruptsRow[];
}

/**
 * The rows {@link renderProcInterrupts} prints, as data (same selection: IRQs with an action or a count).
 * @param descs - descriptors in IRQ order
 * @param nrCpus - number of CPUs
 * @param online - per-CPU online flags
 */
export function procInterruptsTable(descs: readonly IrqDesc[], nrCpus: number, online: ArrayLike<number>): ProcInterruptsTable {
  const cpus: number[] = [];
  for (let cpu = 0; cpu < nrCpus; cpu++) if (online[cpu]) cpus.push(cpu);
  const rows: ProcInterruptsRow[] = [];
  for (const desc of descs) {
    if (desc.action === null && desc.count === 0) continue;
    const actions: string[] = [];
    for (let a = desc.action; a !== null; a = a.next) actions.push(a.name);
    const row: ProcInterruptsRow = { irq: desc.irq, counts: cpus.map((c) => desc.kstat[c] ?? 0), chip: desc.chip ? desc.chip.name || '-' : 'None', actions };
    if (desc.name) row.handler = desc.name;
    rows.push(row);
  }
  return { cpus, rows };
}
