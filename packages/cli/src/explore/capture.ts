/*
 * What the explorer shows of each step of a replay, captured while the replay runs: the state
 * the step left, as a flat map of named cells, and only the cells that changed are kept per
 * step. A 1500-port scenario of thousands of steps then stays small (each step touches a few
 * ports), and the page rebuilds any step by applying the changes in order.
 *
 * Cells (all numbers, so they compare cheaply):
 * - `port:N` → [ECS state, notify vCPU, pending, masked, linked, FIFO priority, event word (-1
 *   without one), guest IRQ (-1), IRQ's CPU, mask reasons]
 * - 2-level: `pend:I` / `mask:I` → 32-bit half I of `evtchn_pending`/`evtchn_mask`;
 *   `sel:V` → [low, high] halves of vCPU V's `evtchn_pending_sel`
 * - `upcall:V` → [evtchn_upcall_pending, evtchn_upcall_mask]
 * - FIFO: `cb:V` → [READY, HEAD[0..15]] of vCPU V's control block; `tail:V` → the
 *   hypervisor's 16 queue tails of vCPU V
 */
import { ECS, type Domain } from '@evtchn/core';
import type { LinuxGuest } from '@evtchn/guest-linux';
import { firstMismatch, replayDelivery, type DeliveryStepView } from '@evtchn/conformance';

/** One cell of the explorer's state: a number or a tuple of numbers. */
export type ExploreCell = number | readonly number[];

/** One step as the explorer shows it. */
export interface ExploreStep {
  /** The step as written in the scenario. */
  readonly step: Readonly<Record<string, unknown>>;
  /** The replay's output line. */
  readonly line: string;
  /** The expected line, when an expected file was given. */
  readonly expected?: string;
  /** Whether the line differs from the expected one (as JSON values). */
  readonly differs?: boolean;
  /** Cells the step changed (`null`: the cell no longer exists). */
  readonly changes: Readonly<Record<string, ExploreCell | null>>;
}

/** One domain the page shows; its cells are named after `prefix`. */
export interface ExploreDomain {
  /** Domain id. */
  readonly id: number;
  /** Its name (configuration `name`, else `domN`; a replay's guest is `guest`). */
  readonly name: string;
  /** The ABI its guest runs on. */
  readonly abi: string;
  /** Its vCPUs. */
  readonly vcpus: number;
  /** What its cells' names start with (`''` in a replay, `d3/` in a run). */
  readonly prefix: string;
}

/** Everything the explorer page needs. */
export interface ExploreData {
  /** A replay scenario's steps, or a run's clock instants. */
  readonly kind: 'replay' | 'run';
  /** The file's name, for the title. */
  readonly title: string;
  /** The architecture (`null` for replays: core's null architecture). */
  readonly arch: string;
  /** The domains shown. */
  readonly domains: readonly ExploreDomain[];
  /** The ABI of the first domain (a replay's only one). */
  readonly abi: string;
  /** vCPUs of the first domain. */
  readonly vcpus: number;
  /** The guest's word size in bits (2-level: 64 ports per selector bit). */
  readonly wordBits: number;
  /** Each step in order. */
  readonly steps: readonly ExploreStep[];
  /** Index of the first step whose line differs from the expected one, or -1. */
  readonly firstMismatch: number;
}

/** What the FIFO hypervisor half offers for inspection (duck-typed: any FIFO-like ABI). */
interface FifoInspect {
  eventWord(port: number): number | undefined;
  queueTail(vcpu: number, priority: number): number;
  controlBlock(vcpu: number): { ready: number; heads: number[] } | undefined;
}

function isFifoInspect(abi: unknown): abi is FifoInspect {
  const a = abi as Partial<FifoInspect>;
  return typeof a.eventWord === 'function' && typeof a.queueTail === 'function' && typeof a.controlBlock === 'function';
}

const QUEUES = 16;

/** The current state of the replayed guest as cells (what one step's changes are computed from). */
export function cellsOf(view: DeliveryStepView, vcpus: number): Map<string, ExploreCell> {
  const cells = new Map<string, ExploreCell>();
  domainCells(cells, '', view.domain, view.guest, vcpus);
  return cells;
}

/**
 * Adds one domain's cells to `cells`, each name after `prefix` (`''` for a replay's single
 * domain, `d3/` for domain 3 of a run). `guest` is absent for a domain without the Linux layer.
 */
export function domainCells(cells: Map<string, ExploreCell>, prefix: string, domain: Domain, guest: LinuxGuest | undefined, vcpus: number): void {
  const abi = domain.abi;
  const fifo = isFifoInspect(abi) ? abi : undefined;
  const ch = domain.channels;
  for (let port = 1; port < ch.capacity; port++) {
    const ecs = ch.state[port]!;
    const irq = guest ? guest.irqFromEvtchn(port) : -1;
    if (ecs === ECS.FREE && irq < 0) continue;
    const info = irq >= 0 ? guest?.irqInfo(irq) : undefined;
    const word = fifo?.eventWord(port);
    cells.set(`${prefix}port:${port}`, [
      ecs,
      ch.notifyVcpu[port]!,
      abi.isPending(port) ? 1 : 0,
      abi.isMasked(port) ? 1 : 0,
      abi.isBusy?.(port) ? 1 : 0,
      ch.priority[port]!,
      word ?? -1,
      irq,
      info?.cpu ?? -1,
      info?.maskReason ?? 0,
    ]);
  }
  const si = domain.sharedInfo;
  for (let v = 0; v < vcpus; v++) cells.set(`${prefix}upcall:${v}`, [si.upcallPending[v]!, si.upcallMask[v]!]);
  if (fifo) {
    for (let v = 0; v < vcpus; v++) {
      const cb = fifo.controlBlock(v);
      if (cb) cells.set(`${prefix}cb:${v}`, [cb.ready, ...cb.heads]);
      const tails: number[] = [];
      for (let q = 0; q < QUEUES; q++) tails.push(fifo.queueTail(v, q));
      cells.set(`${prefix}tail:${v}`, tails);
    }
  } else {
    // Only the words that can hold the domain's ports: 32 ports per half.
    const halves = Math.min(si.evtchnPending.length, Math.ceil(ch.capacity / 32));
    for (let i = 0; i < halves; i++) {
      cells.set(`${prefix}pend:${i}`, si.evtchnPending[i]!);
      cells.set(`${prefix}mask:${i}`, si.evtchnMask[i]!);
    }
    for (let v = 0; v < vcpus; v++) cells.set(`${prefix}sel:${v}`, [si.pendingSel[2 * v]!, si.pendingSel[2 * v + 1]!]);
  }
}

/** The cells that changed from `prev` to `cells` (`null`: gone). */
export function changedCells(prev: ReadonlyMap<string, ExploreCell>, cells: ReadonlyMap<string, ExploreCell>): Record<string, ExploreCell | null> {
  const changes: Record<string, ExploreCell | null> = {};
  for (const [k, v] of cells) if (!sameCell(prev.get(k), v)) changes[k] = v;
  for (const k of prev.keys()) if (!cells.has(k)) changes[k] = null;
  return changes;
}

function sameCell(a: ExploreCell | undefined, b: ExploreCell): boolean {
  if (a === undefined) return false;
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Replays an `evtchn-replay/1` scenario and records each step for the explorer.
 * @param scenario - the parsed scenario
 * @param title - what the page calls it (its file name)
 * @param expected - the expected output lines, when comparing with an `.expected.jsonl`
 * @throws ScenarioError for a malformed scenario
 */
export function captureReplay(scenario: unknown, title: string, expected?: readonly string[]): ExploreData {
  const sc = scenario as { abi?: unknown; vcpus?: unknown };
  const vcpus = typeof sc.vcpus === 'number' ? sc.vcpus : 1;
  const steps: ExploreStep[] = [];
  let prev = new Map<string, ExploreCell>();
  let wordBits = 64;
  const onStep = (view: DeliveryStepView): void => {
    wordBits = view.guest.abiName === '2level' ? guestWordBits(view.domain) : wordBits;
    const cells = cellsOf(view, vcpus);
    const changes = changedCells(prev, cells);
    prev = cells;
    const exp = expected?.[view.index];
    const differs = expected ? firstMismatch([view.line], exp === undefined ? [] : [exp]) !== undefined : undefined;
    steps.push({ step: view.step, line: view.line, ...(expected && { expected: exp ?? '', differs }), changes });
  };
  const { abi, lines } = replayDelivery(scenario, { onStep });
  // Compared as the replay's --expect compares (JSON values, key order aside); expected lines
  // past the last step count as a difference at the end.
  const mismatch = expected ? firstMismatch(lines, expected) : undefined;
  const first = mismatch === undefined ? -1 : Math.min(mismatch.step, steps.length - 1);
  return {
    kind: 'replay',
    title,
    arch: 'null',
    domains: [{ id: 1, name: 'guest', abi: abi.name, vcpus, prefix: '' }],
    abi: abi.name,
    vcpus,
    wordBits,
    steps,
    firstMismatch: first,
  };
}

/** 2-level: ports per selector bit follow the guest's word size (64 on the replay's 64-bit guests). */
function guestWordBits(domain: Domain): number {
  return domain.abi.maxPorts <= 1024 ? 32 : 64;
}
