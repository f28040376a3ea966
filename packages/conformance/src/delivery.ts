/*
 * The `evtchn-replay/1` delivery replay (SPEC §6.1, conformance/delivery/README.md): one
 * guest domain on a platform whose hypervisor side is the real core + ABI and whose guest
 * side is the real Linux event layer (`@evtchn/guest-linux`) + the ABI's guest half. Every
 * step but `upcall` runs on CPU 0; `upcall V` runs the guest's upcall loop on vCPU V.
 *
 * The ABI is the scenario's built-in one (`2level`, `fifo`) unless the caller offers its own
 * ABI plugins: then the platform offers those and nothing else, so a plugin's replay can never
 * fall back to a built-in ABI.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import {
  DOMID_SELF,
  UNLIMITED_EVTCHN_PORT,
  archNull,
  createPlatform,
  type Domain,
  type EventAbi,
  type EventChannelOps,
  type Hypervisor,
  type Plugin,
} from '@evtchn/core';
import { IRQ_HANDLED, LinuxGuest, guestLinux, type IrqHandler } from '@evtchn/guest-linux';
import { ScenarioError, expectArray, expectObject } from './scenario.js';

/** Domain id of the replayed guest. */
const GUEST_DOMID = 1;
/** FIFO priority of a `bind` without one (`EVTCHN_FIFO_PRIORITY_DEFAULT`). */
const DEFAULT_PRIORITY = 7;
/** Largest vCPU count the replay accepts. */
const MAX_VCPUS = 128;
/**
 * Handler runs after which an `upcall` step is given up as a runaway (a handler that keeps
 * re-raising its own port): far above any real scenario, far below exhausting memory.
 */
export const MAX_UPCALL_HANDLER_RUNS = 1_000_000;

/** What one `bind` hands the IRQ layer as `devId`: the port whose handler runs. */
interface BoundPort {
  readonly port: number;
}

/** The sends a port's handler performs on its next runs (`react`). */
interface Reaction {
  remaining: number;
  readonly sends: readonly number[];
}

/** Reads a required non-negative integer field of a step. */
function uint(step: Record<string, unknown>, key: string, path: string): number {
  const v = step[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new ScenarioError(`${path}.${key}`, `expected a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Reads an optional integer field of a step. */
function optInt(step: Record<string, unknown>, key: string, path: string, fallback: number): number {
  const v = step[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ScenarioError(`${path}.${key}`, `expected an integer, got ${JSON.stringify(v)}`);
  return v;
}

/** One run of a delivery scenario against a freshly built platform. */
class DeliveryReplay {
  private readonly hv: Hypervisor;
  /** The replayed domain (read by step observers). */
  readonly domain: Domain;
  /** The replayed guest's event layer (read by step observers). */
  readonly guest: LinuxGuest;
  private readonly hc: EventChannelOps;
  private readonly fifo: boolean;
  private readonly reactions = new Map<number, Reaction>();
  private delivered: number[] | null = null;
  /** Path of the `upcall` step running now (for the runaway error). */
  private upcallPath = '';
  /** The one handler every bound port uses; `devId` says which port it is. */
  private readonly handler: IrqHandler = (_irq, devId) => {
    const port = (devId as BoundPort).port;
    const delivered = this.delivered;
    if (delivered !== null) {
      if (delivered.length >= MAX_UPCALL_HANDLER_RUNS)
        throw new ScenarioError(
          this.upcallPath,
          `the upcall did not finish after ${MAX_UPCALL_HANDLER_RUNS} handler runs (a handler that keeps re-raising its port?)`,
        );
      delivered.push(port);
    }
    const reaction = this.reactions.get(port);
    if (reaction !== undefined && reaction.remaining > 0) {
      reaction.remaining--;
      for (const target of reaction.sends) this.hc.send(target);
    }
    return IRQ_HANDLED;
  };

  /** The ABI descriptor the guest booted on. */
  readonly abi: EventAbi;

  /**
   * @param abi - the scenario's ABI (decides FIFO priorities on `bind`)
   * @param vcpus - vCPUs of the guest
   * @param plugins - ABI plugins to offer instead of the built-in ones
   */
  constructor(
    abi: '2level' | 'fifo',
    private readonly vcpus: number,
    plugins?: readonly Plugin<'abi'>[],
  ) {
    this.fifo = abi === 'fifo';
    const platform = createPlatform({
      arch: archNull({ pirqs: 'none' }),
      abis: plugins ?? (this.fifo ? [abi2Level(), abiFifo()] : [abi2Level()]),
      guest: guestLinux({ fifo: this.fifo }),
      // SPEC §6.1: the replayed guest has no per-domain port cap, only the ABI's own limit.
      domains: [{ id: GUEST_DOMID, vcpus, maxEvtchnPort: UNLIMITED_EVTCHN_PORT }],
      // The vectors' execution model: `upcall V` runs the loop now, on V, and nothing else runs.
      execution: { mode: 'immediate' },
    });
    this.hv = platform.hypervisor;
    const pd = platform.domain(GUEST_DOMID);
    this.domain = pd.domain;
    if (!(pd.guest instanceof LinuxGuest)) throw new Error('evtchn-replay/1: the platform did not boot the Linux guest layer');
    this.guest = pd.guest;
    // The guest names the guest half it set up; a plugin's halves may carry another name than
    // its descriptor, so a platform offering one ABI booted on that one.
    const booted = platform.abis.find((a) => a.name === this.guest.abiName) ?? (platform.abis.length === 1 ? platform.abis[0] : undefined);
    if (booted === undefined) throw new Error(`evtchn-replay/1: the guest booted on ${this.guest.abiName}, which the platform does not offer`);
    if (plugins === undefined && booted.name !== abi) throw new Error(`evtchn-replay/1: the guest booted on ${booted.name}, not ${abi}`);
    this.abi = booted;
    this.hc = this.domain.hypercalls;
  }

  /** Runs one step and returns its output object. */
  step(step: Record<string, unknown>, path: string): Record<string, unknown> {
    const op = step.op;
    switch (op) {
      case 'bind':
        return this.bind(uint(step, 'vcpu', path), optInt(step, 'priority', path, DEFAULT_PRIORITY));
      case 'close':
        this.close(uint(step, 'port', path));
        return { op };
      case 'send':
        this.hc.send(uint(step, 'port', path));
        return { op };
      case 'mask':
      case 'unmask': {
        const irq = this.guest.irqFromEvtchn(uint(step, 'port', path));
        if (irq !== -1) {
          if (op === 'mask') this.guest.maskIrq(irq);
          else this.guest.unmaskIrq(irq);
        }
        return { op };
      }
      case 'prio':
        return { op, rc: this.hc.setPriority(uint(step, 'port', path), optInt(step, 'priority', path, DEFAULT_PRIORITY)) };
      case 'rebind': {
        const port = uint(step, 'port', path);
        const vcpu = uint(step, 'vcpu', path);
        const irq = this.guest.irqFromEvtchn(port);
        if (irq !== -1) this.guest.rebindIrqToCpu(irq, vcpu);
        return { op };
      }
      case 'react': {
        const port = uint(step, 'port', path);
        const times = uint(step, 'times', path);
        if (times > MAX_UPCALL_HANDLER_RUNS)
          throw new ScenarioError(`${path}.times`, `expected at most ${MAX_UPCALL_HANDLER_RUNS} (one handler run each), got ${times}`);
        const sends = expectArray(step.send ?? [], `${path}.send`).map((p, i) => {
          if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0)
            throw new ScenarioError(`${path}.send[${i}]`, `expected a port number, got ${JSON.stringify(p)}`);
          return p;
        });
        this.reactions.set(port, { remaining: times, sends });
        return { op };
      }
      case 'upcall': {
        const vcpu = uint(step, 'vcpu', path);
        if (vcpu >= this.vcpus) throw new ScenarioError(`${path}.vcpu`, `the guest has ${this.vcpus} vCPU(s), no vCPU ${vcpu}`);
        const delivered: number[] = [];
        this.delivered = delivered;
        this.upcallPath = path;
        try {
          this.guest.upcall(vcpu);
        } finally {
          this.delivered = null;
        }
        return { op, vcpu, delivered };
      }
      case 'pending':
        return this.pending(uint(step, 'port', path));
      default:
        throw new ScenarioError(`${path}.op`, `unknown op ${JSON.stringify(op)}`);
    }
  }

  /**
   * `bind V P`: a fresh port looped back to itself, bound to an IRQ (masked EXPLICIT, CPU 0),
   * FIFO priority P, affinity to V, then request_irq starts it (unmask EXPLICIT).
   */
  private bind(vcpu: number, priority: number): Record<string, unknown> {
    const port = this.hc.allocUnbound(DOMID_SELF, DOMID_SELF);
    if (port < 0) return { op: 'bind', rc: port };
    const rc = this.hv.bindLoopback(this.domain.id, port);
    if (rc < 0) throw new Error(`evtchn-replay/1: bindLoopback(${port}) failed with ${rc}`);
    this.reactions.delete(port);
    const irq = this.guest.bindEvtchnToIrq(port);
    if (irq < 0) return { op: 'bind', rc: irq };
    if (this.fifo) this.guest.setIrqPriority(irq, priority);
    this.guest.rebindIrqToCpu(irq, vcpu);
    const bound: BoundPort = { port };
    const req = this.guest.requestIrq(irq, this.handler, 0, `replay-${port}`, bound);
    if (req < 0) {
      this.guest.unbindFromIrq(irq);
      return { op: 'bind', rc: req };
    }
    return { op: 'bind', port };
  }

  /** `close N`: free_irq + unbind (mask, mapping cleared, ABI remove, then EVTCHNOP_close). */
  private close(port: number): void {
    this.reactions.delete(port);
    const irq = this.guest.irqFromEvtchn(port);
    if (irq === -1) {
      this.hc.close(port);
      return;
    }
    const desc = this.guest.irqDesc(irq);
    let action = desc?.action ?? null;
    while (action !== null) {
      this.guest.freeIrq(irq, action.devId);
      action = desc?.action ?? null;
    }
    this.guest.unbindFromIrq(irq);
  }

  /**
   * `pending N`: the hypervisor's view of the port. `linked` is the ABI's `isBusy` (FIFO: the
   * LINKED bit of the event word; an ABI without queues is never busy).
   */
  private pending(port: number): Record<string, unknown> {
    const abi = this.domain.abi;
    const linked = abi.isBusy?.(port) ?? false;
    return { op: 'pending', pending: abi.isPending(port), masked: abi.isMasked(port), linked };
  }
}

/**
 * The replayed guest as an observer sees it after a step: the hypervisor's domain (its port
 * table, shared info and ABI half) and the Linux guest layer (its IRQ tables). Read it, never
 * change it: the replay goes on from this state.
 */
export interface DeliveryStepView {
  /** Index of the step in the scenario. */
  readonly index: number;
  /** The step as written in the scenario. */
  readonly step: Readonly<Record<string, unknown>>;
  /** The step's output line. */
  readonly line: string;
  /** The replayed domain, hypervisor side. */
  readonly domain: Domain;
  /** The replayed guest's Linux event layer. */
  readonly guest: LinuxGuest;
}

/** Options of {@link runDeliveryReplay} and {@link replayDelivery}. */
export interface DeliveryReplayOptions {
  /**
   * ABI plugins the replayed platform offers instead of the built-in ones (the guest boots on
   * the first it can set up). The scenario's `abi` then only says whose rules the steps follow
   * (FIFO priorities on `bind`).
   */
  readonly abis?: readonly Plugin<'abi'>[];
  /**
   * Called after every step with the state it left (the explorer records each step this way);
   * the replay's output does not depend on it.
   */
  readonly onStep?: (view: DeliveryStepView) => void;
}

/** What {@link replayDelivery} produced. */
export interface DeliveryReplayResult {
  /** One JSON line per step, in step order. */
  readonly lines: string[];
  /** The ABI descriptor the replayed guest ran on. */
  readonly abi: EventAbi;
}

/**
 * Runs an `evtchn-replay/1` delivery scenario and says which ABI the guest ran on; the runner
 * `describeEventAbiConformance` takes (`replay: replayDelivery`).
 * @param scenario - the parsed JSON scenario
 * @param options - ABI plugins to replay on instead of the built-in ABIs
 * @throws ScenarioError when the scenario is malformed (naming the JSON path of the bad field)
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { replayDelivery } from '@evtchn/conformance';
 * import { abi2Level } from '@evtchn/abi-2level';
 *
 * const { lines, abi } = replayDelivery(
 *   { format: 'evtchn-replay/1', abi: '2level', vcpus: 1, steps: [{ op: 'bind', vcpu: 0 }] },
 *   { abis: [abi2Level()] },
 * );
 * console.log(abi.name, lines);
 * ```
 */
export function replayDelivery(scenario: unknown, options: DeliveryReplayOptions = {}): DeliveryReplayResult {
  const { steps, replay } = prepare(scenario, options);
  const onStep = options.onStep;
  const lines = steps.map((raw, i) => {
    const path = `$.steps[${i}]`;
    const step = expectObject(raw, path);
    const line = JSON.stringify(replay.step(step, path));
    onStep?.({ index: i, step, line, domain: replay.domain, guest: replay.guest });
    return line;
  });
  return { lines, abi: replay.abi };
}

/**
 * Runs an `evtchn-replay/1` delivery scenario.
 * @param scenario - the parsed JSON scenario
 * @param options - ABI plugins to replay on instead of the built-in ABIs
 * @returns one JSON line per step, in step order
 * @throws ScenarioError when the scenario is malformed (naming the JSON path of the bad field)
 */
export function runDeliveryReplay(scenario: unknown, options: DeliveryReplayOptions = {}): string[] {
  return replayDelivery(scenario, options).lines;
}

function prepare(scenario: unknown, options: DeliveryReplayOptions): { steps: unknown[]; replay: DeliveryReplay } {
  const sc = expectObject(scenario, '$');
  if (sc.format !== 'evtchn-replay/1') throw new ScenarioError('$.format', `expected "evtchn-replay/1", got ${JSON.stringify(sc.format)}`);
  const abi = sc.abi;
  if (abi !== '2level' && abi !== 'fifo') throw new ScenarioError('$.abi', `expected "2level" or "fifo", got ${JSON.stringify(abi)}`);
  const vcpus = sc.vcpus;
  if (typeof vcpus !== 'number' || !Number.isInteger(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS)
    throw new ScenarioError('$.vcpus', `expected an integer 1..${MAX_VCPUS}, got ${JSON.stringify(vcpus)}`);
  const steps = expectArray(sc.steps, '$.steps');
  if (options.abis !== undefined && (!Array.isArray(options.abis) || options.abis.length === 0))
    throw new ScenarioError('options.abis', 'expected a non-empty array of ABI plugins');
  return { steps, replay: new DeliveryReplay(abi, vcpus, options.abis) };
}
