/*
 * The platform builder: composes plugins (an architecture, the offered ABIs, a guest layer, a
 * security policy) in a child container of tsyringe's root container, then creates the
 * domains, each in its own child container holding the domain, its configuration and its
 * guest OS. Library code never registers into the global container.
 */
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { PlatformEventBus, type EventBus } from '../bus.js';
import type { EventAbi } from '../contracts/abi.js';
import type { Architecture } from '../contracts/arch.js';
import type { GuestContext, GuestOs, GuestOsFactory } from '../contracts/guest.js';
import type { SecurityPolicy } from '../contracts/policy.js';
import type { Clock, ExecutionCosts, ExecutionMode } from '../contracts/sim.js';
import { XenError } from '../errno.js';
import { ConfigError } from './config-error.js';
import type { Domain, DomainCreateOptions } from '../hypervisor/domain.js';
import { DummySecurityPolicy } from '../hypervisor/dummy-policy.js';
import { PolicyHookError } from '../hypervisor/policy-gate.js';
import { Hypervisor } from '../hypervisor/hypervisor.js';
import { VirtualClock } from '../sim/clock.js';
import { DomainClock } from '../sim/domain-clock.js';
import { RoundRobinScheduler } from '../sim/scheduler.js';
import { ClockedVcpuRunner } from '../sim/vcpu-runner.js';
import * as Tokens from '../tokens.js';
import type { Plugin, PluginKind } from './plugin.js';
import { checkPluginShape, checkRegisteredContract, registerChecked } from './plugin-checks.js';

/** A domain of a platform configuration. */
export interface DomainConfig extends DomainCreateOptions {
  /** Boot the platform's guest layer in this domain (default true when a guest plugin is given). */
  guest?: boolean;
  /** Display name (defaults to `dom<ID>`). */
  name?: string;
}

/**
 * A platform configuration: a keyed object of plugins plus domains. Each key takes a plugin of
 * the matching kind; a missing or duplicate piece fails naming its key.
 */
export interface PlatformConfig {
  /** The architecture plugin (kind `'arch'`), e.g. `archX86()` or `archArm()`. */
  arch: Plugin<'arch'>;
  /** The offered ABI plugins (kind `'abi'`), in the guest's order of preference. */
  abis: readonly Plugin<'abi'>[];
  /** The guest-layer plugin (kind `'guest'`), e.g. `guestLinux()`; omit for bare domains. */
  guest?: Plugin<'guest'>;
  /** The security-policy plugin (kind `'policy'`); default: Xen's dummy policy. */
  policy?: Plugin<'policy'>;
  /** The domains to create, in order. */
  domains?: readonly DomainConfig[];
  /** The virtual clock to use (default: a new `VirtualClock`). */
  clock?: Clock;
  /**
   * Schedule vCPUs on physical CPUs (a round-robin scheduler on the clock, registered under
   * the `Scheduler` token before the architecture is built). Without it every vCPU counts as
   * running all the time.
   */
  scheduler?: { pcpus: number; timeSliceNs?: number };
  /**
   * How guest code runs (see the "Time and execution" guide): `mode` `'timed'` (default: a
   * raised interrupt is taken after `costs.entryLatencyNs` on the clock, work charges virtual
   * time) or `'immediate'` (nothing runs until `runner.runNow`); `costs` override the default
   * cost model field by field; `maxSliceNs` and `livelockNs` tune slicing and livelock reports.
   */
  execution?: {
    mode?: ExecutionMode;
    costs?: Partial<ExecutionCosts>;
    maxSliceNs?: number;
    livelockNs?: number;
  };
}

/** Default time slice of the platform scheduler: 1 ms. */
export const DEFAULT_TIME_SLICE_NS = 1_000_000;

/** Options of {@link Platform.addDomain}. */
export interface AddDomainOptions {
  /**
   * Attaches an existing guest instead of booting the platform's guest layer: called with the
   * new domain's context (its memory, shared info and hypercalls are the new domain's), it
   * returns the guest that runs there. Migration uses it to bring a saved guest back.
   */
  attachGuest?: (ctx: GuestContext) => GuestOs;
}

/** One domain of a built platform. */
export interface PlatformDomain {
  /** The hypervisor's domain object. */
  readonly domain: Domain;
  /** The domain's configuration. */
  readonly config: DomainConfig;
  /** The guest OS, when one was booted. */
  readonly guest?: GuestOs;
  /** The domain's child container (holds `Domain`, `DomainConfig`, `GuestOs`). */
  readonly container: DependencyContainer;
  /** The domain's clock: its guest's timers, cancelled when the domain dies. */
  readonly clock: DomainClock;
}

/** A built platform. */
export interface Platform {
  /** The platform's child container. */
  readonly container: DependencyContainer;
  /** The hypervisor core. */
  readonly hypervisor: Hypervisor;
  /** The architecture instance. */
  readonly arch: Architecture;
  /** The virtual clock. */
  readonly clock: Clock;
  /** The vCPU scheduler, when the configuration asked for one. */
  readonly scheduler?: RoundRobinScheduler;
  /** When vCPUs take their interrupts, and what their work costs. */
  readonly runner: ClockedVcpuRunner;
  /** The event bus. */
  readonly bus: EventBus;
  /** The offered ABIs, in order. */
  readonly abis: readonly EventAbi[];
  /** Domains by id, in creation order. */
  readonly domains: ReadonlyMap<number, PlatformDomain>;
  /** The domain with id `id`; throws `XenError` (-ESRCH) when there is none. */
  domain(id: number): PlatformDomain;
  /** Creates (and boots, or attaches a guest to, see {@link AddDomainOptions}) one more domain. */
  addDomain(config: DomainConfig, options?: AddDomainOptions): PlatformDomain;
  /**
   * Destroys a domain (the toolstack's destroy: every port closed, peers left UNBOUND,
   * VIRQ_DOM_EXC raised), takes its vCPUs off the scheduler and the runner, cancels its
   * guest's timers and forgets it. `hypervisor.destroy(id)` does the same.
   * @returns 0 or -errno (-ESRCH when there is no such domain)
   */
  destroyDomain(id: number): number;
  /**
   * Runs the platform for `ns` of virtual time (`clock.runUntil(now + ns)`): every raised
   * interrupt whose vCPU can take it in that time is handled.
   */
  run(ns: number): void;
}

function checkPlugin<K extends PluginKind>(key: string, value: unknown, kind: K): Plugin<K> {
  return checkPluginShape(key, value, kind);
}

/**
 * Builds a platform from plugins and creates its domains.
 * @throws ConfigError naming the configuration key of a missing, duplicate or wrong piece
 */
export function createPlatform(config: PlatformConfig): Platform {
  const c = rootContainer.createChildContainer();
  const clock = config.clock ?? new VirtualClock();
  const bus = new PlatformEventBus();
  c.register(Tokens.Clock, { useValue: clock });
  c.register(Tokens.EventBus, { useValue: bus });
  c.register(Tokens.PlatformOptions, { useValue: config });
  let scheduler: RoundRobinScheduler | undefined;
  if (config.scheduler) {
    const { pcpus, timeSliceNs = DEFAULT_TIME_SLICE_NS } = config.scheduler;
    if (!Number.isInteger(pcpus) || pcpus < 1) throw new ConfigError(`scheduler.pcpus: expected an integer >= 1, got ${JSON.stringify(pcpus)}`);
    if (!(timeSliceNs >= 1)) throw new ConfigError(`scheduler.timeSliceNs: expected a number >= 1, got ${JSON.stringify(timeSliceNs)}`);
    scheduler = new RoundRobinScheduler(clock, { nrPcpus: pcpus, timeSlice: timeSliceNs });
    c.register(Tokens.Scheduler, { useValue: scheduler });
  }
  // Filled in once the hypervisor exists: a fault in guest code crashes that domain.
  let crashDomain: (domid: number, error: unknown) => void = () => {};
  let runner: ClockedVcpuRunner;
  try {
    runner = new ClockedVcpuRunner(clock, {
      ...config.execution,
      scheduler,
      bus,
      onFault: (domid, _vcpu, error) => crashDomain(domid, error),
    });
  } catch (e) {
    if (e instanceof RangeError) throw new ConfigError(`execution: ${e.message}`);
    throw e;
  }
  c.register(Tokens.VcpuRunner, { useValue: runner });

  const archPlugin = checkPlugin('arch', config.arch, 'arch');
  const abiPlugins = config.abis;
  if (!Array.isArray(abiPlugins) || abiPlugins.length === 0)
    throw new ConfigError("missing 'abis': give at least one abi plugin");
  const seen = new Set<string>();
  abiPlugins.forEach((p, i) => {
    const plugin = checkPlugin(`abis[${i}]`, p, 'abi');
    if (seen.has(plugin.name)) throw new ConfigError(`'abis[${i}]': plugin '${plugin.name}' is given twice`);
    seen.add(plugin.name);
  });
  const guestPlugin = config.guest === undefined ? undefined : checkPlugin('guest', config.guest, 'guest');
  const policyPlugin = config.policy === undefined ? undefined : checkPlugin('policy', config.policy, 'policy');

  registerChecked('arch', archPlugin, c);
  for (const [i, p] of abiPlugins.entries()) registerChecked(`abis[${i}]`, p, c);
  const abiList = c.resolveAll<EventAbi>(Tokens.EventAbi);
  const abiNames = new Set<string>();
  for (const a of abiList) {
    if (abiNames.has(a.name)) throw new ConfigError(`'abis': two plugins provide the ABI named '${a.name}'`);
    abiNames.add(a.name);
  }
  if (guestPlugin) registerChecked('guest', guestPlugin, c);
  if (policyPlugin) registerChecked('policy', policyPlugin, c);
  else c.register(Tokens.SecurityPolicy, { useValue: new DummySecurityPolicy() });
  c.registerSingleton(Tokens.Hypervisor, Hypervisor);
  checkRegisteredContract('arch', archPlugin, c);
  if (guestPlugin) checkRegisteredContract('guest', guestPlugin, c);
  if (policyPlugin) checkRegisteredContract('policy', policyPlugin, c);

  const hypervisor = c.resolve<Hypervisor>(Tokens.Hypervisor);
  const arch = c.resolve<Architecture>(Tokens.Architecture);
  const guestFactory = guestPlugin ? c.resolve<GuestOsFactory>(Tokens.GuestOsFactory) : undefined;
  void c.resolve<SecurityPolicy>(Tokens.SecurityPolicy);
  const domains = new Map<number, PlatformDomain>();
  crashDomain = (domid, error) => {
    // A plugin hook that threw under guest code is the plugin's fault, not the guest's: it stops
    // the platform (the error names the plugin and the hook) instead of crashing the domain.
    if (error instanceof PolicyHookError) throw error;
    const pd = domains.get(domid);
    runner.stop(domid);
    pd?.clock.stop();
    hypervisor.crash(domid);
    if (bus.listening('domain:crash')) bus.emit('domain:crash', domid, error);
    else if (bus.listening('warn')) bus.emit('warn', `d${domid}`, `domain crashed: ${String((error as Error)?.message ?? error)}`);
  };
  // The hypervisor's record is the one that counts: however a domain is destroyed, the
  // platform forgets it and everything that belonged to it stops.
  bus.on('domain:destroyed', (domid) => {
    const pd = domains.get(domid);
    if (!pd) return;
    runner.detach(domid);
    pd.clock.stop();
    scheduler?.removeDomain(domid);
    domains.delete(domid);
  });

  const addDomain = (cfg: DomainConfig, options: AddDomainOptions = {}): PlatformDomain => {
    if (domains.has(cfg.id)) throw new ConfigError(`domain id ${cfg.id} is used twice`);
    const domain = hypervisor.createDomain(cfg);
    const domainClock = new DomainClock(clock, runner, (error) => crashDomain(domain.id, error));
    const dc = c.createChildContainer();
    dc.register(Tokens.DomainConfig, { useValue: cfg });
    dc.register(Tokens.Domain, { useValue: domain });
    let guest: GuestOs | undefined;
    const boot = options.attachGuest ?? (guestFactory && cfg.guest !== false ? (ctx: GuestContext) => guestFactory.create(ctx) : undefined);
    if (boot) {
      const warn = (message: string): void => {
        if (bus.listening('warn')) bus.emit('warn', `d${domain.id} kernel`, message);
      };
      guest = boot({
        domid: domain.id,
        nrCpus: domain.nrVcpus,
        privileged: domain.privileged,
        arch: arch.name,
        hypercalls: domain.hypercalls,
        physdev: arch.pirqs ? hypervisor.physdev(domain.id) : undefined,
        abis: abiList,
        abiContext: domain.abiGuestContext(warn),
        irqSpace: arch.createGuestIrqSpace({ domid: domain.id, nrCpus: domain.nrVcpus, privileged: domain.privileged }),
        clock: domainClock,
        runner,
        bus,
        forceEventCallback: (vcpu) => {
          if (domain.sharedInfo.upcallPending[vcpu] !== 0 && hypervisor.domain(domain.id) === domain) arch.deliverUpcall(domain.id, vcpu);
        },
      });
      domain.attachGuest(guest);
      dc.register(Tokens.GuestOs, { useValue: guest });
    }
    const pd: PlatformDomain = { domain, config: cfg, guest, container: dc, clock: domainClock };
    domains.set(domain.id, pd);
    for (let v = 0; v < domain.nrVcpus; v++) scheduler?.addVcpu(domain.id, v);
    return pd;
  };

  (config.domains ?? []).forEach((d, i) => {
    try {
      addDomain(d);
    } catch (e) {
      if (e instanceof XenError || e instanceof ConfigError) throw new ConfigError(`domains[${i}]: ${e.message}`);
      throw e;
    }
  });

  scheduler?.start();

  return {
    container: c,
    hypervisor,
    arch,
    clock,
    scheduler,
    runner,
    bus,
    abis: abiList,
    domains,
    domain(id: number): PlatformDomain {
      const d = domains.get(id);
      if (!d) throw new XenError('platform.domain', 3, `no domain ${id}`);
      return d;
    },
    addDomain,
    destroyDomain(id: number): number {
      return hypervisor.destroy(id);
    },
    run(ns: number): void {
      clock.runUntil(clock.now() + ns);
    },
  };
}
