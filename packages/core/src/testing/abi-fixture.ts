/*
 * A one-domain world for checking an event ABI through its contract only: the real hypervisor
 * core with the ABI as the only one offered, a null architecture that records upcalls, the
 * ABI's guest half, and a recording dispatcher that acks (clears pending) before recording,
 * like Linux's edge flow. The bind sequence is the one SPEC §6 describes for a Linux guest.
 */
import { pluginServicesContainer } from '../platform/plugin-checks.js';
import type { AbiGuestOps, AbiHypervisorContext, AbiHypervisorOps, EventAbi, EventDispatcher } from '../contracts/abi.js';
import type { Domain } from '../hypervisor/domain.js';
import { UNLIMITED_EVTCHN_PORT } from '../hypervisor/domain.js';
import { Hypervisor } from '../hypervisor/hypervisor.js';
import { NullArchitecture } from '../hypervisor/null-arch.js';
import { isPlugin, type Plugin } from '../platform/plugin.js';
import { EventAbi as EventAbiToken } from '../tokens.js';
import { DOMID_SELF } from '../xen.js';

/** What {@link describeEventAbiConformance} and {@link AbiFixture} accept: an ABI plugin or descriptor. */
export type EventAbiFactory = () => Plugin | EventAbi;

/** Options of the ABI fixture. */
export interface AbiFixtureOptions {
  /** The guest's word size (default 64). */
  wordBits?: 32 | 64;
  /** vCPUs of the domain (default 2; rules about CPU routing need at least 2). */
  vcpus?: number;
}

/**
 * Turns the factory's result into an ABI descriptor: a descriptor is used as it is; a plugin is
 * registered into a fresh child container and the `EventAbi` it registered is resolved.
 * @param made - what the factory returned
 * @throws Error when a plugin is not an ABI plugin or registers no `EventAbi`
 */
export function resolveEventAbi(made: Plugin | EventAbi): EventAbi {
  if (!isPlugin(made)) return made;
  if (made.kind !== 'abi') throw new Error(`plugin '${made.name}' is a ${made.kind} plugin, not an abi plugin`);
  const c = pluginServicesContainer().container;
  made.register(c);
  if (!c.isRegistered(EventAbiToken)) throw new Error(`plugin '${made.name}' registered no EventAbi`);
  const all = c.resolveAll<EventAbi>(EventAbiToken);
  return all[all.length - 1]!;
}

const INIT_SPY = Symbol('evtchn.testing.initSpy');

/**
 * One domain driven through the ABI contract. Each rule of the ABI suite gets a fresh one.
 * Domain 1 has no port limit of its own, so the ABI's `maxPorts` is the only limit.
 */
export class AbiFixture {
  /** The ABI descriptor under test. */
  readonly abi: EventAbi;
  /** The hypervisor core. */
  readonly hypervisor: Hypervisor;
  /** The architecture; `upcalls` records every upcall as `[domid, vcpu]`. */
  readonly arch: NullArchitecture;
  /** The domain. */
  readonly domain: Domain;
  /** The ABI's guest half for the domain. */
  readonly guest: AbiGuestOps;
  /** Ports passed to the hypervisor half's `init`, in call order. */
  readonly initCalls: number[] = [];
  /** Warnings logged by either half. */
  readonly warnings: string[] = [];
  /** Every dispatch so far, as `[port, cpu]`. */
  readonly dispatched: Array<[number, number]> = [];
  /** The dispatcher handed to `handleEvents`: acks (guest `clearPending`) then records. */
  readonly dispatcher: EventDispatcher;
  /** Called after each dispatch (for rules whose handlers send events). */
  onDispatch: ((port: number, cpu: number) => void) | undefined;

  /** A new fixture of the same ABI and domain shape (for the snapshot round-trip rule). */
  fresh(): AbiFixture {
    return new AbiFixture(this.factory, this.options);
  }

  /**
   * @param factory - creates the ABI plugin or descriptor
   * @param options - domain shape
   */
  constructor(
    private readonly factory: EventAbiFactory,
    private readonly options: AbiFixtureOptions = {},
  ) {
    this.abi = resolveEventAbi(factory());
    this.arch = new NullArchitecture({ pirqs: 'none' });
    this.arch.record = true;
    this.hypervisor = Hypervisor.create({ arch: this.arch, abis: [this.spying(this.abi)] });
    this.domain = this.hypervisor.createDomain({
      id: 1,
      vcpus: options.vcpus ?? 2,
      wordBits: options.wordBits ?? 64,
      maxEvtchnPort: UNLIMITED_EVTCHN_PORT,
    });
    this.guest = this.abi.createGuestSide(this.domain.abiGuestContext((m) => this.warnings.push(m)));
    const guest = this.guest;
    this.dispatcher = {
      handlePort: (port, cpu) => {
        guest.clearPending(port);
        this.dispatched.push([port, cpu]);
        this.onDispatch?.(port, cpu);
      },
      timerPort: () => 0,
    };
  }

  /** The domain's active hypervisor half. */
  get hv(): AbiHypervisorOps {
    return this.domain.abi;
  }

  /** vCPUs of the domain. */
  get nrVcpus(): number {
    return this.domain.nrVcpus;
  }

  /** Upcalls the architecture was asked to deliver to `vcpu` so far. */
  upcallsTo(vcpu: number): number {
    let n = 0;
    for (const [d, v] of this.arch.upcalls) if (d === this.domain.id && v === vcpu) n++;
    return n;
  }

  /** Total upcalls delivered so far. */
  get upcallCount(): number {
    return this.arch.upcalls.length;
  }

  /** Whether `vcpu`'s `upcallPending` flag is set. */
  upcallPending(vcpu: number): boolean {
    return this.domain.sharedInfo.upcallPending[vcpu] !== 0;
  }

  /**
   * EVTCHNOP_alloc_unbound(DOMID_SELF, DOMID_SELF) only: a port nobody listens on.
   * @returns port or -errno
   */
  allocate(): number {
    return this.domain.hypercalls.allocUnbound(DOMID_SELF, DOMID_SELF);
  }

  /**
   * Makes an allocated UNBOUND port a channel looped back to itself and runs the Linux guest's
   * bind sequence (SPEC §6 `bind`): mask, ABI `setup`, bind to CPU 0, then affinity to `vcpu`
   * (mask, EVTCHNOP_bind_vcpu, `bindToCpu`, unmask), then the final unmask, all on CPU 0.
   * @throws Error when a hypercall or `setup` fails (the fixture, not the rule, is broken then)
   */
  activate(port: number, vcpu = 0): void {
    const g = this.guest;
    const hc = this.domain.hypercalls;
    const rc = this.hypervisor.bindLoopback(this.domain.id, port);
    if (rc !== 0) throw new Error(`bindLoopback(${port}) = ${rc}`);
    g.mask(port);
    const setup = g.setup(port);
    if (setup !== 0) throw new Error(`guest setup(${port}) = ${setup}`);
    g.bindToCpu(port, 0, 0);
    if (vcpu !== 0) {
      const bv = hc.bindVcpu(port, vcpu);
      if (bv !== 0) throw new Error(`EVTCHNOP_bind_vcpu(${port}, ${vcpu}) = ${bv}`);
      g.bindToCpu(port, vcpu, 0);
    }
    g.unmask(port, 0);
  }

  /**
   * Allocates and activates the next port, notified on `vcpu`.
   * @returns the port
   * @throws Error when allocation fails
   */
  bind(vcpu = 0): number {
    const port = this.allocate();
    if (port < 0) throw new Error(`EVTCHNOP_alloc_unbound = ${port}`);
    this.activate(port, vcpu);
    return port;
  }

  /** EVTCHNOP_send. @returns 0 or -errno */
  send(port: number): number {
    return this.domain.hypercalls.send(port);
  }

  /** EVTCHNOP_unmask. @returns 0 or -errno */
  hypercallUnmask(port: number): number {
    return this.domain.hypercalls.unmask(port);
  }

  /** EVTCHNOP_close. @returns 0 or -errno */
  close(port: number): number {
    return this.domain.hypercalls.close(port);
  }

  /**
   * The guest takes an upcall on `cpu`: clears `upcallPending` and runs `handleEvents` once.
   * @returns the ports dispatched by this call, in order
   */
  upcall(cpu: number): number[] {
    this.domain.sharedInfo.upcallPending[cpu] = 0;
    const from = this.dispatched.length;
    this.guest.handleEvents(cpu, this.dispatcher);
    return this.dispatched.slice(from).map(([p]) => p);
  }

  /** CPUs the ports dispatched since `from` (an index into `dispatched`) were handed to. */
  dispatchCpus(from = 0): number[] {
    return this.dispatched.slice(from).map(([, c]) => c);
  }

  /** Wraps the descriptor so every hypervisor half it creates reports its `init` calls. */
  private spying(abi: EventAbi): EventAbi {
    const spy = (ops: AbiHypervisorOps): AbiHypervisorOps => {
      const tagged = ops as AbiHypervisorOps & { [INIT_SPY]?: true };
      if (tagged[INIT_SPY]) return ops;
      const init = ops.init.bind(ops);
      const calls = this.initCalls;
      Object.defineProperty(ops, 'init', {
        configurable: true,
        writable: true,
        value: (port: number) => {
          calls.push(port);
          init(port);
        },
      });
      Object.defineProperty(ops, INIT_SPY, { value: true });
      return ops;
    };
    const wrapCtx = (ctx: AbiHypervisorContext): AbiHypervisorContext => ({
      ...ctx,
      markEventsPending: ctx.markEventsPending,
      activeAbi: ctx.activeAbi,
      warn: ctx.warn,
      switchAbi: (ops) => ctx.switchAbi(spy(ops)),
    });
    const wrapped: EventAbi = {
      name: abi.name,
      maxPorts: (w) => abi.maxPorts(w),
      createHypervisorSide: (ctx) => spy(abi.createHypervisorSide(wrapCtx(ctx))),
      createGuestSide: (ctx) => abi.createGuestSide(ctx),
    };
    if (abi.initControl) {
      const initControl = abi.initControl.bind(abi);
      (wrapped as { initControl?: EventAbi['initControl'] }).initControl = (ctx, gfn, offset, vcpu) =>
        initControl(wrapCtx(ctx), gfn, offset, vcpu);
    }
    return wrapped;
  }
}
