/*
 * A domain as the hypervisor core models it: vCPUs, the event-channel table, the shared-info
 * page, guest memory, VIRQ and pirq bindings, the active event ABI, and toolstack state.
 * Models the event-channel parts of Xen's `struct domain` and `struct vcpu`.
 */
import type { AbiGuestContext, AbiHypervisorOps, DomainCounters } from '../contracts/abi.js';
import type { UpcallSink } from '../contracts/arch.js';
import type { EventChannelOps } from '../contracts/hypercalls.js';
import type { PolicySubject } from '../contracts/policy.js';
import type { Snapshottable } from '../contracts/snapshot.js';
import type { JsonValue } from '../contracts/snapshot.js';
import { at, expectSame, readArray, readArrayInto, readBool, readInt, readObject, SnapshotError } from '../snapshot/codec.js';
import { NR_VIRQS } from '../xen.js';
import { ChannelTable } from './channel-table.js';
import { GuestMemory, SharedInfo } from './memory.js';

/** `max_evtchn_port` of a domain with no limit (privileged domains). */
export const UNLIMITED_EVTCHN_PORT = 0x7fffffff;

/** Options of {@link Hypervisor.createDomain} (the toolstack's domain configuration). */
export interface DomainCreateOptions {
  /** Domain id (0 … 0x7fef); 0 is the hardware/control domain. */
  id: number;
  /** Number of vCPUs (default 1). */
  vcpus?: number;
  /** Privileged (control) domain; default: `id === 0`. */
  privileged?: boolean;
  /** Highest port the domain may allocate (default 1023; unlimited when privileged). */
  maxEvtchnPort?: number;
  /** Number of pirqs (default 64). */
  nrPirqs?: number;
  /** Pirqs the domain may bind (its grant list). */
  pirqs?: readonly number[];
  /** Guest frames; a gfn at or above it has no page (default 262144 = 1 GiB). */
  memPages?: number;
  /** Guest word size: 64 (default; 2-level = 4096 ports) or 32 (1024 ports). */
  wordBits?: 32 | 64;
  /** Security label for label-based policies. */
  label?: string;
  /** Id of the domain acting as this domain's device model. */
  deviceModel?: number;
}

/** One domain of the hypervisor model. Created by `Hypervisor.createDomain`. */
export class Domain implements PolicySubject {
  /** Domain id. */
  readonly id: number;
  /** Number of vCPUs. */
  readonly nrVcpus: number;
  /** Privileged (control) domain. */
  readonly privileged: boolean;
  /** Security label. */
  readonly label?: string;
  /** Device-model domain id. */
  readonly deviceModel?: number;
  /** Pirqs the domain may bind (see {@link Domain.grantPirq}). */
  readonly pirqGrants: ReadonlySet<number>;
  /** Highest port the domain may allocate (`max_evtchn_port`). */
  readonly maxEvtchnPort: number;
  /** Number of pirqs (`nr_pirqs`). */
  readonly nrPirqs: number;
  /** Guest word size. */
  readonly wordBits: 32 | 64;
  /** The event-channel table. */
  readonly channels = new ChannelTable();
  /** The shared-info page and vCPU-info areas. */
  readonly sharedInfo: SharedInfo;
  /** Guest memory. */
  readonly memory: GuestMemory;
  /** Events lost before reaching the guest. */
  readonly counters: DomainCounters = { droppedNoControlBlock: 0, droppedOther: 0 };
  /** Port bound to each (vCPU, VIRQ): index `vcpu * NR_VIRQS + virq`; 0 = none. */
  readonly virqToPort: Uint32Array;
  /** Port bound to each pirq. */
  readonly pirqToPort = new Map<number, number>();
  /** Controller pause count (toolstack pause/unpause). */
  pauseCount = 0;
  /** Set once destruction has started. */
  dying = false;
  /** Set when the domain's guest code faulted (`domain_crash`); its vCPUs no longer run. */
  crashed = false;
  /** Lowest port that may be FREE: every port below it is bound (allocation starts here). */
  freeHint = 0;
  /** The ABI the domain starts on and returns to on reset (its memory outlives switches). */
  baseAbi!: AbiHypervisorOps;
  /** The active ABI's hypervisor half. */
  abi!: AbiHypervisorOps;
  /** The guest's interrupt entry, once a guest layer is attached. */
  upcallSink?: UpcallSink;
  /** The hypercall interface with this domain as caller. */
  hypercalls!: EventChannelOps;

  /** @param opts - the toolstack's configuration (see {@link DomainCreateOptions}) */
  constructor(opts: DomainCreateOptions) {
    this.id = opts.id;
    this.nrVcpus = opts.vcpus ?? 1;
    this.privileged = opts.privileged ?? opts.id === 0;
    this.label = opts.label;
    this.deviceModel = opts.deviceModel;
    this.pirqGrants = new Set(opts.pirqs ?? []);
    this.maxEvtchnPort = opts.maxEvtchnPort ?? (this.privileged ? UNLIMITED_EVTCHN_PORT : 1023);
    this.nrPirqs = opts.nrPirqs ?? 64;
    this.wordBits = opts.wordBits ?? 64;
    this.memory = new GuestMemory(opts.memPages ?? 262144);
    this.sharedInfo = new SharedInfo(this.nrVcpus);
    this.virqToPort = new Uint32Array(this.nrVcpus * NR_VIRQS);
  }

  /** Whether the domain is paused by the toolstack. */
  get paused(): boolean {
    return this.pauseCount > 0;
  }

  /**
   * Lets the domain bind `pirq` (the toolstack's `xc_domain_irq_permission`, done together
   * with PHYSDEVOP_map_pirq when a device is passed through).
   */
  grantPirq(pirq: number): void {
    (this.pirqGrants as Set<number>).add(pirq);
  }

  /** Attaches the guest's interrupt entry (called by the platform when the guest boots). */
  attachGuest(sink: UpcallSink): void {
    this.upcallSink = sink;
  }

  /**
   * The domain's event-channel state as JSON: toolstack flags, VIRQ and pirq bindings, the
   * port table, the shared-info page, touched guest pages and the active ABI's own state (an
   * ABI plugin takes part through an optional `getState`/`setState` on its hypervisor half).
   * @throws Error when the active ABI has no `getState`
   */
  getState(): JsonValue {
    const abi = this.abi as AbiHypervisorOps & Partial<Snapshottable>;
    if (typeof abi.getState !== 'function')
      throw new Error(`ABI plugin '${abi.name}' (hypervisor half) has no getState(): a platform using it cannot be snapshotted`);
    return {
      id: this.id,
      nrVcpus: this.nrVcpus,
      abi: abi.name,
      pauseCount: this.pauseCount,
      dying: this.dying,
      crashed: this.crashed,
      freeHint: this.freeHint,
      pirqGrants: [...this.pirqGrants].sort((a, b) => a - b),
      counters: { droppedNoControlBlock: this.counters.droppedNoControlBlock, droppedOther: this.counters.droppedOther },
      virqToPort: [...this.virqToPort],
      pirqToPort: [...this.pirqToPort].sort((a, b) => a[0] - b[0]),
      ports: this.channels.getState(),
      sharedInfo: this.sharedInfo.getState(),
      memory: this.memory.getState(),
      abiState: abi.getState(),
    };
  }

  /**
   * Restores {@link Domain.getState} into this domain, built from the same configuration and
   * on the same active ABI; `path` names the domain in error messages.
   */
  setState(state: JsonValue, path: string): void {
    const o = readObject(state, path);
    expectSame(o.id, at(path, 'id'), this.id);
    expectSame(o.nrVcpus, at(path, 'nrVcpus'), this.nrVcpus);
    expectSame(o.abi, at(path, 'abi'), this.abi.name);
    this.pauseCount = readInt(o.pauseCount, at(path, 'pauseCount'), 0, 0xffff);
    this.dying = readBool(o.dying, at(path, 'dying'));
    this.crashed = readBool(o.crashed, at(path, 'crashed'));
    this.freeHint = readInt(o.freeHint, at(path, 'freeHint'), 0, 0x7fffffff);
    const grants = readArray(o.pirqGrants, at(path, 'pirqGrants')).map((g, i) => readInt(g, at(at(path, 'pirqGrants'), i), 0, 0xffffffff));
    (this.pirqGrants as Set<number>).clear();
    for (const g of grants) (this.pirqGrants as Set<number>).add(g);
    const c = readObject(o.counters, at(path, 'counters'));
    this.counters.droppedNoControlBlock = readInt(c.droppedNoControlBlock, at(path, 'counters.droppedNoControlBlock'), 0);
    this.counters.droppedOther = readInt(c.droppedOther, at(path, 'counters.droppedOther'), 0);
    const virq = readArray(o.virqToPort, at(path, 'virqToPort'), this.virqToPort.length);
    readArrayInto(virq, at(path, 'virqToPort'), this.virqToPort);
    this.pirqToPort.clear();
    readArray(o.pirqToPort, at(path, 'pirqToPort')).forEach((e, i) => {
      const p = at(at(path, 'pirqToPort'), i);
      const pair = readArray(e, p, 2);
      const pirq = readInt(pair[0], at(p, 0), 0, this.nrPirqs - 1);
      if (this.pirqToPort.has(pirq)) throw new SnapshotError(at(p, 0), `pirq ${pirq} is bound twice`);
      this.pirqToPort.set(pirq, readInt(pair[1], at(p, 1), 1, 0x7fffffff));
    });
    this.channels.setState(o.ports ?? null, at(path, 'ports'));
    this.sharedInfo.setState(o.sharedInfo ?? null, at(path, 'sharedInfo'));
    this.memory.setState(o.memory ?? null, at(path, 'memory'));
    const abi = this.abi as AbiHypervisorOps & Partial<Snapshottable>;
    if (typeof abi.setState !== 'function')
      throw new SnapshotError(at(path, 'abiState'), `ABI plugin '${abi.name}' (hypervisor half) has no setState()`);
    try {
      abi.setState(o.abiState ?? null);
    } catch (e) {
      if (e instanceof SnapshotError) throw new SnapshotError(at(at(path, 'abiState'), e.path), e.problem);
      throw new SnapshotError(at(path, 'abiState'), e instanceof Error ? e.message : String(e));
    }
  }

  /** What the guest half of an ABI needs in this domain. */
  abiGuestContext(warn: (message: string) => void = () => {}): AbiGuestContext {
    return {
      domid: this.id,
      nrCpus: this.nrVcpus,
      wordBits: this.wordBits,
      sharedInfo: this.sharedInfo,
      memory: this.memory,
      hypercalls: this.hypercalls,
      warn,
    };
  }
}
