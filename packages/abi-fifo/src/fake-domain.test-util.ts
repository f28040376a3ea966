/*
 * Test wiring for the FIFO ABI: one domain made of real core objects (ChannelTable,
 * SharedInfo, GuestMemory) with a hand-written stand-in for the hypervisor core around the ABI
 * (the channel states are set by the tests) and a hypercall object that routes the guest's
 * EVTCHNOPs to the hypervisor half. Not part of the package build.
 */
import type {
  AbiGuestContext,
  AbiHypervisorContext,
  AbiHypervisorOps,
  EventChannelOps,
  EventDispatcher,
} from '@evtchn/core';
import { ChannelTable, ECS, Errno, GuestMemory, SharedInfo, SnapshotError } from '@evtchn/core';
import { FifoAbi } from './abi.js';
import type { FifoGuestSide } from './guest-side.js';
import type { FifoHypervisorSide } from './hypervisor-side.js';

/** A stand-in for the 2-level ABI: only `isPending` matters to the carry-over. */
export function fakeTwoLevel(pendingPorts: Iterable<number>, maxPorts = 4096): AbiHypervisorOps {
  const pending = new Set(pendingPorts);
  return {
    name: '2level',
    maxPorts,
    init: () => {},
    setPending: (_v, port) => void pending.add(port),
    clearPending: (port) => void pending.delete(port),
    unmask: () => {},
    isPending: (port) => pending.has(port),
    isMasked: () => false,
    printState: () => '0',
  };
}

/** The JSON path of the `SnapshotError` that `restore` throws, or why there is none. */
export function snapshotErrorPath(restore: () => void): string {
  try {
    restore();
  } catch (e) {
    return e instanceof SnapshotError ? e.path : `not a SnapshotError: ${String(e)}`;
  }
  return 'no error';
}

export interface FakeDomainOptions {
  nrVcpus?: number;
  memPages?: number;
  /** Ports the previous (2-level) ABI reads pending at the switch. */
  twoLevelPending?: number[];
}

export class FakeDomain {
  readonly abi = new FifoAbi();
  readonly channels = new ChannelTable(4096);
  readonly memory: GuestMemory;
  readonly sharedInfo: SharedInfo;
  readonly counters = { droppedNoControlBlock: 0, droppedOther: 0 };
  readonly warnings: string[] = [];
  /** vCPUs whose upcall was delivered (upcallPending went 0 → 1), in order. */
  readonly upcalls: number[] = [];
  readonly twoLevel: AbiHypervisorOps;
  active: AbiHypervisorOps;
  readonly ctx: AbiHypervisorContext;
  readonly hypercalls: EventChannelOps;
  readonly hypercallLog: string[] = [];

  constructor(opts: FakeDomainOptions = {}) {
    const nrVcpus = opts.nrVcpus ?? 2;
    this.memory = new GuestMemory(opts.memPages ?? 1024);
    this.sharedInfo = new SharedInfo(nrVcpus);
    this.twoLevel = fakeTwoLevel(opts.twoLevelPending ?? []);
    this.active = this.twoLevel;
    this.channels.state[0] = ECS.RESERVED;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const dom = this;
    this.ctx = {
      domid: 1,
      nrVcpus,
      wordBits: 64,
      channels: this.channels,
      sharedInfo: this.sharedInfo,
      memory: this.memory,
      counters: this.counters,
      markEventsPending(vcpu: number): void {
        if (dom.sharedInfo.upcallPending[vcpu] !== 0) return;
        dom.sharedInfo.upcallPending[vcpu] = 1;
        dom.upcalls.push(vcpu);
      },
      activeAbi: () => this.active,
      switchAbi: (ops) => {
        this.active = ops;
      },
      warn: (m) => void this.warnings.push(m),
    };
    this.hypercalls = this.makeHypercalls();
  }

  /** The hypervisor half once the domain is on FIFO. */
  get fifo(): FifoHypervisorSide {
    if (this.active.name !== 'fifo') throw new Error('domain is not on FIFO');
    return this.active as FifoHypervisorSide;
  }

  /** EVTCHNOP_init_control as the core routes it. */
  initControl(gfn: number, offset: number, vcpu: number): number {
    if (this.active.initControl) return this.active.initControl(gfn, offset, vcpu);
    return this.abi.initControl(this.ctx, gfn, offset, vcpu);
  }

  /** EVTCHNOP_expand_array as the core routes it. */
  expandArray(gfn: number): number {
    return this.active.expandArray ? this.active.expandArray(gfn) : -Errno.EOPNOTSUPP;
  }

  /** Binds `port` as the core would (bucket made valid, state, notify vCPU, ABI init). */
  bind(port: number, vcpu = 0, state: number = ECS.INTERDOMAIN): number {
    this.channels.validateBucketOf(port);
    this.channels.state[port] = state;
    this.channels.notifyVcpu[port] = vcpu;
    this.active.init(port);
    return port;
  }

  /** EVTCHNOP_send on a looped-back port: set pending on its notify vCPU if usable. */
  send(port: number): void {
    if (this.channels.isUsable(port)) this.active.setPending(this.channels.notifyVcpu[port]!, port);
  }

  /** EVTCHNOP_close's free part: clear pending, FREE, notify 0. */
  close(port: number): void {
    this.active.clearPending(port);
    this.channels.state[port] = ECS.FREE;
    this.channels.notifyVcpu[port] = 0;
  }

  /** EVTCHNOP_bind_vcpu's effect. */
  rebind(port: number, vcpu: number): void {
    this.channels.notifyVcpu[port] = vcpu;
  }

  /** EVTCHNOP_set_priority as the core routes it (port checks first). */
  setPriority(port: number, prio: number): number {
    if (!this.channels.isValid(port)) return -Errno.EINVAL;
    if (!this.active.setPriority) return -Errno.ENOSYS;
    if (!this.channels.isUsable(port)) return -Errno.EACCES;
    return this.active.setPriority(port, prio);
  }

  /** The guest context for `createGuestSide`. */
  guestContext(): AbiGuestContext {
    return {
      domid: 1,
      nrCpus: this.ctx.nrVcpus,
      wordBits: 64,
      sharedInfo: this.sharedInfo,
      memory: this.memory,
      hypercalls: this.hypercalls,
      warn: (m) => void this.warnings.push(m),
    };
  }

  /** Boots a FIFO guest on this domain. */
  bootGuest(): FifoGuestSide {
    return this.abi.createGuestSide(this.guestContext());
  }

  private makeHypercalls(): EventChannelOps {
    const unsupported = (): number => -Errno.ENOSYS;
    return {
      caller: 1,
      allocUnbound: unsupported,
      bindInterdomain: unsupported,
      bindVirq: unsupported,
      bindPirq: unsupported,
      bindIpi: unsupported,
      close: unsupported,
      send: unsupported,
      status: unsupported,
      bindVcpu: unsupported,
      reset: unsupported,
      resetCont: unsupported,
      unmask: (port) => {
        this.hypercallLog.push(`unmask ${port}`);
        if (!this.channels.isValid(port)) return -Errno.EINVAL;
        if (this.channels.isUsable(port)) this.active.unmask(port);
        return 0;
      },
      initControl: (gfn, offset, vcpu) => {
        this.hypercallLog.push(`init_control ${gfn} ${offset} ${vcpu}`);
        return this.initControl(gfn, offset, vcpu);
      },
      expandArray: (gfn) => {
        this.hypercallLog.push(`expand_array ${gfn}`);
        return this.expandArray(gfn);
      },
      setPriority: (port, prio) => this.setPriority(port, prio),
    };
  }
}

/** An edge-flow-like dispatcher: ack (clear pending) then record; optional reactions. */
export class RecordingDispatcher implements EventDispatcher {
  delivered: number[] = [];
  /** When false, the handler leaves PENDING set (no ack). */
  ack = true;
  readonly reactions = new Map<number, () => void>();

  constructor(private readonly guest: { clearPending(port: number): void }) {}

  handlePort(port: number, _cpu: number): void {
    if (this.ack) this.guest.clearPending(port);
    this.delivered.push(port);
    this.reactions.get(port)?.();
  }

  timerPort(_cpu: number): number {
    return 0;
  }

  /** Returns what was delivered since the last call. */
  take(): number[] {
    const d = this.delivered;
    this.delivered = [];
    return d;
  }
}
