/*
 * An architecture with no interrupt hardware: upcalls are recorded, not delivered. Used where
 * the caller drives the guest explicitly (the replay formats) and by unit tests.
 */
import type {
  Architecture,
  ArchDomainInfo,
  GuestIrqSpace,
  GuestIrqSpaceOptions,
  PirqBackend,
  UpcallSink,
} from '../contracts/arch.js';
import type { JsonValue } from '../contracts/snapshot.js';
import { Errno } from '../errno.js';
import { at, expectSame, readArray, readArrayInto, readInt, readObject } from '../snapshot/codec.js';
import { PLUGIN_API_VERSION, type Plugin } from '../platform/plugin.js';
import type { VcpuRunner } from '../contracts/sim.js';
import { Architecture as ArchitectureToken, VcpuRunner as VcpuRunnerToken } from '../tokens.js';

/** Options of {@link nullArchitecture}. */
export interface NullArchitectureOptions {
  /** Name reported by the architecture (default `'none'`). */
  name?: string;
  /**
   * Physical IRQs: `'permissive'` gives every pirq a descriptor that any domain may bind (the
   * hypercall vectors' x86 model); `'none'` has no pirqs at all (bind_pirq → -EOPNOTSUPP, as
   * on ARM). Default `'permissive'`.
   */
  pirqs?: 'permissive' | 'none';
  /**
   * Deliver upcalls to the guest's sink (default false: only record them): through `runner`
   * when one is given (a platform passes its own), else synchronously inside `deliverUpcall`
   * (a test double for suites that drive an architecture alone).
   */
  deliver?: boolean;
  /** The vCPU runner that takes delivered upcalls (see `deliver`). */
  runner?: VcpuRunner;
  /** Size of the guest IRQ space (default 4096). */
  nrIrqs?: number;
}

/** The architecture returned by {@link nullArchitecture}. */
export class NullArchitecture implements Architecture {
  /** Architecture name. */
  readonly name: string;
  /** Permissive pirq backend, or undefined. */
  readonly pirqs?: PirqBackend;
  /** Upcalls requested so far, as `[domid, vcpu]` pairs (only while `record` is on). */
  readonly upcalls: Array<[number, number]> = [];
  /** Whether {@link NullArchitecture.upcalls} records (off by default: it would grow forever). */
  record = false;
  private readonly sinks = new Map<number, UpcallSink>();
  /** Per domain, with a runner: each vCPU's requested upcall. */
  private readonly latches = new Map<number, Uint8Array>();
  private readonly inUpcall = new Set<string>();
  private readonly latched = new Set<string>();
  private readonly suspendedOf = new Map<number, Uint8Array>();

  /** @param opts - see {@link NullArchitectureOptions} */
  constructor(private readonly opts: NullArchitectureOptions = {}) {
    this.name = opts.name ?? 'none';
    if ((opts.pirqs ?? 'permissive') === 'permissive') {
      const bound = new Map<string, number>();
      this.pirqs = {
        guestBind: (domid, _vcpu, pirq) => {
          bound.set(`${domid}:${pirq}`, 1);
          return 0;
        },
        guestUnbind: (domid, pirq) => {
          bound.delete(`${domid}:${pirq}`);
        },
        setAffinity: () => {},
        eoi: () => 0,
        irqStatusQuery: (domid, pirq) => (bound.has(`${domid}:${pirq}`) ? 0 : -Errno.EINVAL),
      };
    }
  }

  /** Remembers the domain's sink (and, with a runner, registers the domain's vCPUs with it). */
  attachDomain(info: ArchDomainInfo, sink: UpcallSink): void {
    this.sinks.set(info.id, sink);
    const runner = this.opts.runner;
    if (!runner || !this.opts.deliver) return;
    // One latch per vCPU (the upcall-pending line) and whether its handler yielded.
    const latch = new Uint8Array(info.nrVcpus);
    const suspended = new Uint8Array(info.nrVcpus);
    this.latches.set(info.id, latch);
    this.suspendedOf.set(info.id, suspended);
    runner.attach(info.id, info.nrVcpus, {
      canTake: (vcpu) => latch[vcpu] === 1 || suspended[vcpu] === 1,
      take: (vcpu) => {
        if (suspended[vcpu] === 0) latch[vcpu] = 0;
        suspended[vcpu] = sink.upcall(vcpu) === false ? 1 : 0;
        return suspended[vcpu] === 0;
      },
    });
  }

  /** Forgets the domain. */
  detachDomain(domid: number): void {
    this.sinks.delete(domid);
    this.latches.delete(domid);
    this.suspendedOf.delete(domid);
    this.opts.runner?.detach(domid);
  }

  /**
   * Records the upcall; with `deliver`, runs the guest's upcall at once — unless that vCPU is
   * already inside its upcall, where (as with a real interrupt controller) the interrupt is
   * latched and taken again when the handler returns, never nested.
   */
  deliverUpcall(domid: number, vcpu: number): void {
    if (this.record) this.upcalls.push([domid, vcpu]);
    if (!this.opts.deliver) return;
    const latch = this.latches.get(domid);
    if (latch !== undefined) {
      if (vcpu >>> 0 !== vcpu || vcpu >= latch.length) return;
      latch[vcpu] = 1;
      this.opts.runner!.raise(domid, vcpu);
      return;
    }
    const sink = this.sinks.get(domid);
    if (!sink) return;
    const key = `${domid}:${vcpu}`;
    if (this.inUpcall.has(key)) {
      this.latched.add(key);
      return;
    }
    this.inUpcall.add(key);
    try {
      do {
        this.latched.delete(key);
        sink.upcall(vcpu);
      } while (this.latched.has(key));
    } finally {
      this.inUpcall.delete(key);
    }
  }

  /** Snapshot hook: the recorded upcalls and each domain's upcall latches (with `deliver` and a runner). */
  getState(): JsonValue {
    return {
      upcalls: this.upcalls.map(([d, v]) => [d, v]),
      latches: [...this.latches].map(([id, latch]) => [id, [...latch], [...this.suspendedOf.get(id)!]]),
    };
  }

  /** Restores {@link NullArchitecture.getState} into an instance with the same domains attached. */
  setState(state: JsonValue): void {
    const o = readObject(state, '');
    const ups = readArray(o.upcalls, 'upcalls').map((e, i) => {
      const pair = readArray(e, at('upcalls', i), 2);
      return [readInt(pair[0], at(at('upcalls', i), 0), 0), readInt(pair[1], at(at('upcalls', i), 1), 0)] as [number, number];
    });
    const doms = [...this.latches];
    readArray(o.latches, 'latches', doms.length).forEach((e, i) => {
      const p = at('latches', i);
      const row = readArray(e, p, 3);
      const [id, latch] = doms[i]!;
      expectSame(row[0], at(p, 0), id);
      readArrayInto(readArray(row[1], at(p, 1), latch.length), at(p, 1), latch);
      const susp = this.suspendedOf.get(id)!;
      readArrayInto(readArray(row[2], at(p, 2), susp.length), at(p, 2), susp);
    });
    this.upcalls.length = 0;
    this.upcalls.push(...ups);
  }

  /** A flat IRQ space: lowest free IRQ from 0 up to `nrIrqs`. */
  createGuestIrqSpace(_opts: GuestIrqSpaceOptions): GuestIrqSpace {
    const size = this.opts.nrIrqs ?? 4096;
    const used = new Uint8Array(size);
    // Every IRQ below `lowestFree` is in use, so binding n ports costs O(n), not O(n²).
    let lowestFree = 0;
    return {
      nrIrqs: () => size,
      allocDynamic: () => {
        // A plain loop: the hint usually points at a free IRQ, and a builtin call
        // (TypedArray.indexOf) costs more than the one or two reads it saves.
        let irq = lowestFree;
        while (irq < size && used[irq] !== 0) irq++;
        if (irq >= size) return -Errno.ENOSPC;
        used[irq] = 1;
        lowestFree = irq + 1;
        return irq;
      },
      free: (irq) => {
        if (irq >= 0 && irq < size && used[irq]) {
          used[irq] = 0;
          if (irq < lowestFree) lowestFree = irq;
        }
      },
    };
  }
}

/** Creates an architecture without interrupt hardware (see {@link NullArchitectureOptions}). */
export function nullArchitecture(opts: NullArchitectureOptions = {}): NullArchitecture {
  return new NullArchitecture(opts);
}

/** Architecture plugin wrapping {@link nullArchitecture} (for tests and replays). */
export function archNull(opts: NullArchitectureOptions = {}): Plugin<'arch'> {
  return {
    name: 'arch-null',
    kind: 'arch',
    apiVersion: PLUGIN_API_VERSION,
    register(c) {
      let arch: NullArchitecture | undefined;
      c.register(ArchitectureToken, {
        useFactory: (dc) => {
          const runner = opts.runner ?? (dc.isRegistered(VcpuRunnerToken, true) ? dc.resolve<VcpuRunner>(VcpuRunnerToken) : undefined);
          return (arch ??= nullArchitecture({ ...opts, runner }));
        },
      });
    },
  };
}
