/*
 * The hypervisor event-channel core: domains, port allocation, every EVTCHNOP with Xen's checks
 * in Xen's order and Xen's errno, VIRQs and the global VIRQ handler, pirq binding through the
 * architecture, the toolstack operations, and the upcall marking shared by every ABI.
 * Models xen/common/event_channel.c and the event-channel parts of xen/common/domain.c
 * (behaviour per SPEC §1; the interface per xen/include/public/event_channel.h).
 */
import { inject, injectable, injectAll } from 'tsyringe';
import type { AbiHypervisorContext, AbiHypervisorOps, EventAbi } from '../contracts/abi.js';
import type { Architecture, HypervisorLink } from '../contracts/arch.js';
import type { EventChannelOps, EvtchnStatus, PhysdevOps } from '../contracts/hypercalls.js';
import type { SecurityPolicy } from '../contracts/policy.js';
import type { JsonValue } from '../contracts/snapshot.js';
import { at, readArray, readInt, readObject } from '../snapshot/codec.js';
import { PlatformEventBus, type EventBus } from '../bus.js';
import { Errno, XenError } from '../errno.js';
import * as Tokens from '../tokens.js';
import {
  BIND_PIRQ_WILL_SHARE,
  DOMID_SELF,
  ECS,
  EVTCHNOP,
  NR_VIRQS,
  VIRQ,
  virqKind,
  type EvtchnOpName,
} from '../xen.js';
import { Domain, type DomainCreateOptions } from './domain.js';
import { DummySecurityPolicy } from './dummy-policy.js';
import { PolicyGate } from './policy-gate.js';

const { EINVAL, ESRCH, ENOENT, EBUSY, EEXIST, ENOSPC, ENOSYS, EACCES, EOPNOTSUPP, EOVERFLOW } = Errno;

/** Largest toolstack pause count (Xen's `controller_pause_count` limit). */
export const MAX_PAUSE_COUNT = 255;
/** First domain id that is not a real domain (`DOMID_FIRST_RESERVED`). */
export const DOMID_FIRST_RESERVED = 0x7ff0;

const U16_MAX = 0xffff;

/** Whether `x` is an integer that fits a C `uint32_t` field. */
function isU32(x: unknown): x is number {
  return typeof x === 'number' && (x as number) >>> 0 === x;
}
/** Whether `x` fits a 16-bit `domid_t` field. */
function isDomid(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= U16_MAX;
}
/**
 * Whether `x` fits a 64-bit gfn field. Above 2^53 - 1 a JS number no longer names one integer
 * (2^64 itself would pass a `<= 2 ** 64 - 1` test), so such values are bad input.
 */
function isU64(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** A value for an error message; never throws (unlike `String` on a null-prototype object). */
function describeValue(x: unknown): string {
  switch (typeof x) {
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(x);
    case 'string':
      return JSON.stringify(x);
    case 'object':
      return x === null ? 'null' : Array.isArray(x) ? 'an array' : 'an object';
    default:
      return typeof x;
  }
}

/** Options of a {@link Hypervisor} built without the DI container. */
export interface HypervisorOptions {
  /** The architecture (upcall delivery, pirqs). */
  arch: Architecture;
  /** The ABIs offered; the one named `'2level'` (or the first) is where domains start. */
  abis: readonly EventAbi[];
  /** Security policy (default: Xen's dummy policy). */
  policy?: SecurityPolicy;
  /** Event bus (default: a private one). */
  bus?: EventBus;
}

/** A raw hypercall's result as the replay format prints it: `rc` plus the op's outputs. */
export type RawOpResult = { rc: number } & Record<string, number | string | boolean>;

/** The Xen hypervisor's event-channel core. */
@injectable()
export class Hypervisor {
  private readonly domains = new Map<number, Domain>();
  private readonly baseAbi: EventAbi;
  /** Global VIRQ handler domains set explicitly (`set_global_virq_handler`); absent = default. */
  private readonly globalVirqHandler = new Map<number, number>();
  /** The link given to the architecture. */
  readonly link: HypervisorLink;
  /**
   * The security policy, behind a {@link PolicyGate}: an answer other than 0 or -errno denies
   * with -EPERM and warns on the bus once per hook; a hook that throws stops the call with a
   * `PolicyHookError` naming the policy and the hook.
   */
  readonly policy: SecurityPolicy;

  /**
   * @param arch - the platform architecture
   * @param abis - every offered ABI
   * @param policy - the security policy
   * @param bus - the platform event bus
   */
  constructor(
    @inject(Tokens.Architecture) readonly arch: Architecture,
    @injectAll(Tokens.EventAbi) readonly abis: readonly EventAbi[],
    @inject(Tokens.SecurityPolicy) policy: SecurityPolicy,
    @inject(Tokens.EventBus) readonly bus: EventBus,
  ) {
    this.policy = new PolicyGate(policy, (source, message) => {
      if (bus.listening('warn')) bus.emit('warn', source, message);
    });
    if (abis.length === 0) throw new XenError('hypervisor', EINVAL, 'no event ABI offered');
    const names = new Set<string>();
    for (const a of abis) {
      if (names.has(a.name)) throw new XenError('hypervisor', EEXIST, `ABI '${a.name}' offered twice`);
      names.add(a.name);
    }
    this.baseAbi = abis.find((a) => a.name === '2level') ?? abis.find((a) => !a.initControl) ?? abis[0]!;
    this.link = {
      sendGuestPirq: (domid, pirq) => this.sendGuestPirq(domid, pirq),
      raiseVirq: (domid, virq, vcpu) => this.raiseVirq(domid, virq, vcpu),
    };
    arch.connect?.(this.link);
  }

  /** Builds a hypervisor without a DI container. */
  static create(opts: HypervisorOptions): Hypervisor {
    return new Hypervisor(opts.arch, opts.abis, opts.policy ?? new DummySecurityPolicy(), opts.bus ?? new PlatformEventBus());
  }

  // ---------------------------------------------------------------- domains and toolstack

  /**
   * Creates a running domain with port 0 reserved, on the base ABI (toolstack).
   * Options are read once, own data properties only, and checked like hypercall fields: throws
   * `XenError` EINVAL for an out-of-range id or an option of the wrong kind (`null` included;
   * only an absent option takes its default), EEXIST for a duplicate id, EFAULT for options
   * that cannot be read.
   */
  createDomain(options: DomainCreateOptions): Domain {
    if (typeof options !== 'object' || options === null)
      throw new XenError('createDomain', EINVAL, `options must be an object, got ${describeValue(options)}`);
    // Read once, like a hypercall struct: own data properties only, so what is validated is
    // what the domain is built from (a getter cannot answer differently the second time).
    const opts = copyFromGuest(options, DOMAIN_OPTION_FIELDS) as unknown as DomainCreateOptions | undefined;
    if (!opts) throw new XenError('createDomain', Errno.EFAULT, 'options cannot be read (accessor properties or a throwing proxy)');
    const id = opts.id;
    if (!isDomid(id) || id >= DOMID_FIRST_RESERVED)
      throw new XenError('createDomain', EINVAL, `domain id ${describeValue(id)} is not in 0..${DOMID_FIRST_RESERVED - 1}`);
    if (this.domains.has(id)) throw new XenError('createDomain', EEXIST, `domain ${id} already exists`);
    const badOption = (name: string, want: string, got: unknown): XenError =>
      new XenError('createDomain', EINVAL, `domain ${id}: ${name} must be ${want}, got ${describeValue(got)}`);
    // An absent option takes its default; null or any other value of the wrong kind is refused.
    if (opts.vcpus !== undefined && !(isU32(opts.vcpus) && opts.vcpus >= 1 && opts.vcpus <= 4096))
      throw badOption('vcpus', 'an integer 1..4096', opts.vcpus);
    if (opts.privileged !== undefined && typeof opts.privileged !== 'boolean') throw badOption('privileged', 'a boolean', opts.privileged);
    if (opts.maxEvtchnPort !== undefined && !isU32(opts.maxEvtchnPort))
      throw badOption('maxEvtchnPort', 'a 32-bit unsigned integer', opts.maxEvtchnPort);
    if (opts.nrPirqs !== undefined && !isU32(opts.nrPirqs)) throw badOption('nrPirqs', 'a 32-bit unsigned integer', opts.nrPirqs);
    if (opts.memPages !== undefined && !isU64(opts.memPages)) throw badOption('memPages', 'a non-negative safe integer', opts.memPages);
    if (opts.wordBits !== undefined && opts.wordBits !== 32 && opts.wordBits !== 64) throw badOption('wordBits', '32 or 64', opts.wordBits);
    if (opts.pirqs !== undefined) {
      // Copied too (a Proxy or a getter at an index could answer differently later).
      let pirqs: unknown[] | undefined;
      try {
        pirqs = Array.isArray(opts.pirqs) ? Array.from(opts.pirqs as unknown[]) : undefined;
      } catch {
        throw new XenError('createDomain', Errno.EFAULT, `domain ${id}: pirqs cannot be read`);
      }
      if (!pirqs?.every((p) => isU32(p))) throw badOption('pirqs', 'an array of 32-bit unsigned integers', opts.pirqs);
      opts.pirqs = pirqs as number[];
    }
    if (opts.label !== undefined && typeof opts.label !== 'string') throw badOption('label', 'a string', opts.label);
    if (opts.deviceModel !== undefined && !isDomid(opts.deviceModel)) throw badOption('deviceModel', 'a domain id', opts.deviceModel);
    const d = new Domain(opts);
    d.hypercalls = new BoundEventChannelOps(this, d.id, d);
    const ctx = this.abiContext(d);
    d.baseAbi = this.baseAbi.createHypervisorSide(ctx);
    d.abi = d.baseAbi;
    // Port 0 is reserved and never handed out (Xen's evtchn_init).
    d.channels.validateBucketOf(0);
    d.channels.state[0] = ECS.RESERVED;
    d.freeHint = 1;
    this.domains.set(id, d);
    this.arch.attachDomain(
      { id, nrVcpus: d.nrVcpus, privileged: d.privileged, nrPirqs: d.nrPirqs },
      { upcall: (vcpu) => d.upcallSink?.upcall(vcpu) },
    );
    return d;
  }

  /**
   * The hypervisor core's state: every domain's (in creation order) and the global VIRQ
   * handlers set explicitly.
   */
  getState(): JsonValue {
    return {
      domains: [...this.domains.values()].map((d) => d.getState()),
      globalVirqHandler: [...this.globalVirqHandler].sort((a, b) => a[0] - b[0]),
    };
  }

  /**
   * Restores {@link Hypervisor.getState} into a hypervisor with the same domains (built from
   * the same configuration); `path` names the hypervisor in error messages.
   */
  setState(state: JsonValue, path = 'hypervisor'): void {
    const o = readObject(state, path);
    const doms = [...this.domains.values()];
    const list = readArray(o.domains, at(path, 'domains'), doms.length);
    list.forEach((d, i) => doms[i]!.setState(d, at(at(path, 'domains'), i)));
    this.globalVirqHandler.clear();
    readArray(o.globalVirqHandler, at(path, 'globalVirqHandler')).forEach((e, i) => {
      const p = at(at(path, 'globalVirqHandler'), i);
      const pair = readArray(e, p, 2);
      this.globalVirqHandler.set(readInt(pair[0], at(p, 0), 0, NR_VIRQS - 1), readInt(pair[1], at(p, 1), 0, 0x7fef));
    });
  }

  /** The domain with id `id` (DOMID_SELF is not resolved here), or undefined. */
  domain(id: number): Domain | undefined {
    return this.domains.get(id);
  }

  /** Every live domain, by ascending id. */
  allDomains(): Domain[] {
    return [...this.domains.values()].sort((a, b) => a.id - b.id);
  }

  /** The hypercall interface with `caller` as the calling domain. */
  evtchn(caller: number): EventChannelOps {
    const d = this.domains.get(caller);
    return d ? d.hypercalls : new BoundEventChannelOps(this, caller);
  }

  /**
   * PHYSDEVOP hypercalls issued by `caller`. The handle belongs to the domain that has the id
   * now: once that domain is destroyed it answers -ESRCH, even after the id is reused.
   */
  physdev(caller: number): PhysdevOps {
    const owner = this.domains.get(caller);
    const self = (): Domain | undefined => {
      const d = this.domains.get(caller);
      return owner === undefined || d === owner ? d : undefined;
    };
    return {
      eoi: (pirq) => {
        const d = self();
        if (!d) return -ESRCH;
        if (!isU32(pirq) || pirq >= d.nrPirqs) return -EINVAL;
        return this.arch.pirqs ? this.arch.pirqs.eoi(caller, pirq) : -ENOSYS;
      },
      irqStatusQuery: (pirq) => {
        const d = self();
        if (!d) return -ESRCH;
        if (!isU32(pirq) || pirq >= d.nrPirqs) return -EINVAL;
        return this.arch.pirqs ? this.arch.pirqs.irqStatusQuery(caller, pirq) : -ENOSYS;
      },
    };
  }

  /** Toolstack pause: increments the controller pause count. @returns 0 or -errno */
  pause(dom: number): number {
    if (!isDomid(dom)) return -EINVAL;
    const d = this.domains.get(dom);
    if (!d) return -ESRCH;
    if (d.pauseCount >= MAX_PAUSE_COUNT) return -EOVERFLOW;
    d.pauseCount++;
    return 0;
  }

  /** Toolstack unpause. @returns 0 or -errno (-EINVAL when not paused) */
  unpause(dom: number): number {
    if (!isDomid(dom)) return -EINVAL;
    const d = this.domains.get(dom);
    if (!d) return -ESRCH;
    if (d.pauseCount === 0) return -EINVAL;
    d.pauseCount--;
    return 0;
  }

  /**
   * Toolstack destroy: closes every port (Xen-consumed ones too; interdomain peers become
   * UNBOUND pointing at this domain), raises VIRQ_DOM_EXC at its handler at kill and again at
   * final destruction, and hands the domain's global VIRQs back to the default handler.
   * @returns 0 or -errno
   */
  destroy(dom: number): number {
    if (!isDomid(dom)) return -EINVAL;
    const d = this.domains.get(dom);
    if (!d) return -ESRCH;
    d.dying = true;
    for (let port = 0; port < d.channels.valid; port++) this.closePort(d, port, false);
    this.sendGlobalVirq(VIRQ.DOM_EXC);
    for (const [virq, handler] of [...this.globalVirqHandler]) if (handler === dom) this.globalVirqHandler.delete(virq);
    this.domains.delete(dom);
    if (d.hypercalls instanceof BoundEventChannelOps) d.hypercalls.detach();
    this.arch.detachDomain(dom);
    this.sendGlobalVirq(VIRQ.DOM_EXC);
    if (this.bus.listening('domain:destroyed')) this.bus.emit('domain:destroyed', dom);
    return 0;
  }

  /**
   * Xen's `domain_crash`: the domain's guest code faulted. It is marked crashed (its vCPUs no
   * longer run; the platform's runner stops them), and VIRQ_DOM_EXC tells its handler domain,
   * which would then destroy it. Its ports stay as they are until then.
   * @returns 0, or -ESRCH when there is no such domain
   */
  crash(dom: number): number {
    const d = this.domains.get(dom);
    if (!d) return -ESRCH;
    if (d.crashed) return 0;
    d.crashed = true;
    this.sendGlobalVirq(VIRQ.DOM_EXC);
    return 0;
  }

  /**
   * `set_global_virq_handler(virq, dom)` (XEN_DOMCTL_set_virq_handler).
   * @returns 0 or -errno
   */
  setGlobalVirqHandler(virq: number, dom: number): number {
    if (!isU32(virq) || !isDomid(dom)) return -EINVAL;
    // A domctl: Xen looks the target domain up before it reads the virq (SPEC §1.3a).
    const d = this.domains.get(dom);
    if (!d) return -ESRCH;
    if (virq >= NR_VIRQS || virqKind(virq) !== 'global') return -EINVAL;
    const current = this.globalVirqHandlerOf(virq);
    if (current === d) return 0;
    if (d.dying) return -EINVAL;
    if (current && current.virqToPort[virq] !== 0) return -EBUSY;
    this.globalVirqHandler.set(virq, dom);
    return 0;
  }

  /** The domain handling global VIRQ `virq`: the one set, else the hardware domain (dom0). */
  globalVirqHandlerOf(virq: number): Domain | undefined {
    const set = this.globalVirqHandler.get(virq);
    if (set !== undefined) return this.domains.get(set);
    const hw = this.domains.get(0);
    return hw && !hw.dying ? hw : undefined;
  }

  /**
   * Binds an UNBOUND port to itself as an interdomain channel (one port looped back), so
   * that EVTCHNOP_send on it sets it pending on its notify vCPU. Used by the delivery replay's
   * `bind` step (`evtchn-replay/1`).
   * @returns 0 or -EINVAL when the port is not UNBOUND for its own domain
   */
  bindLoopback(domid: number, port: number): number {
    const d = this.domains.get(domid);
    if (!d) return -ESRCH;
    const ch = d.channels;
    if (!isU32(port) || !ch.isValid(port) || ch.state[port] !== ECS.UNBOUND || ch.remoteDom[port] !== d.id) return -EINVAL;
    ch.state[port] = ECS.INTERDOMAIN;
    ch.remoteDom[port] = d.id;
    ch.detail[port] = port;
    return 0;
  }

  // ---------------------------------------------------------------- delivery helpers

  /**
   * Xen's `vcpu_mark_events_pending`: test-and-set the vCPU's upcall-pending flag and, when it
   * was clear, have the architecture deliver the upcall. `upcallMask` is not consulted.
   */
  markEventsPending(d: Domain, vcpu: number): void {
    const flags = d.sharedInfo.upcallPending;
    if (flags[vcpu] !== 0) return;
    flags[vcpu] = 1;
    if (this.bus.listening('upcall:deliver')) this.bus.emit('upcall:deliver', d.id, vcpu);
    this.arch.deliverUpcall(d.id, vcpu);
  }

  /** `evtchn_port_set_pending`: the ABI's setPending, skipped on unusable ports. */
  portSetPending(d: Domain, vcpu: number, port: number): void {
    if (!d.channels.isUsable(port)) return;
    if (this.bus.listening('evtchn:pending')) this.bus.emit('evtchn:pending', d.id, port, vcpu);
    d.abi.setPending(vcpu, port);
  }

  /** Raises a VIRQ: per-vCPU VIRQs on `vcpu`'s binding, others on vCPU 0's. */
  raiseVirq(domid: number, virq: number, vcpu: number): void {
    const d = this.domains.get(domid);
    if (!d || !isU32(virq) || !isU32(vcpu) || virq >= NR_VIRQS) return;
    const v = virqKind(virq) === 'per-vcpu' ? vcpu : 0;
    if (v >= d.nrVcpus) return;
    const port = d.virqToPort[v * NR_VIRQS + virq]!;
    if (port === 0) return;
    this.portSetPending(d, d.channels.notifyVcpu[port]!, port);
  }

  /** `send_global_virq`: raises a global VIRQ at its handler domain. */
  sendGlobalVirq(virq: number): void {
    const h = this.globalVirqHandlerOf(virq);
    if (h) this.raiseVirq(h.id, virq, 0);
  }

  /** `send_guest_pirq`: sets the port bound to `pirq` pending. @returns the port, or 0 */
  sendGuestPirq(domid: number, pirq: number): number {
    const d = this.domains.get(domid);
    const port = d?.pirqToPort.get(pirq);
    if (!d || port === undefined) return 0;
    this.portSetPending(d, d.channels.notifyVcpu[port]!, port);
    return port;
  }

  // ---------------------------------------------------------------- EVTCHNOP implementations

  /** Resolves DOMID_SELF and looks the domain up. */
  private lookup(caller: Domain, dom: number): Domain | undefined {
    return dom === DOMID_SELF ? caller : this.domains.get(dom);
  }

  /**
   * `get_free_port`: the lowest port that is FREE and not busy, making its bucket valid.
   * @returns port or -errno
   */
  allocPort(d: Domain): number {
    if (d.dying) return -EINVAL;
    const ch = d.channels;
    const limit = d.abi.maxPorts;
    // Every port below freeHint is bound, so the scan can start there; the hint never moves
    // past a FREE port (the returned one stays FREE until the caller binds it, or forever if
    // a later check fails).
    let firstFree = -1;
    let port = d.freeHint;
    for (; port <= d.maxEvtchnPort && port < limit; port++) {
      if (port >= ch.valid) {
        ch.validateBucketOf(port);
        break;
      }
      if (ch.state[port] !== ECS.FREE) continue;
      if (firstFree < 0) firstFree = port;
      if (!d.abi.isBusy?.(port)) break;
    }
    if (firstFree >= 0) d.freeHint = firstFree;
    else if (port > d.freeHint) d.freeHint = port;
    return port <= d.maxEvtchnPort && port < limit ? port : -ENOSPC;
  }

  /** `evtchn_free`: clear pending (usable ports only), state FREE, notify vCPU 0. */
  private freePort(d: Domain, port: number): void {
    const ch = d.channels;
    if (ch.isUsable(port)) d.abi.clearPending(port);
    ch.state[port] = ECS.FREE;
    ch.notifyVcpu[port] = 0;
    ch.xenConsumer[port] = 0;
    if (port < d.freeHint) d.freeHint = port;
    if (this.bus.listening('evtchn:close')) this.bus.emit('evtchn:close', d.id, port);
  }

  /** Marks a freshly bound port and runs the ABI's `init`. */
  private bound(d: Domain, port: number, state: number): void {
    d.channels.state[port] = state;
    d.abi.init(port);
    if (this.bus.listening('evtchn:bind')) this.bus.emit('evtchn:bind', d.id, port, state);
  }

  /** EVTCHNOP_alloc_unbound. */
  allocUnbound(caller: Domain, dom: number, remoteDom: number): number {
    const d = this.lookup(caller, dom);
    if (!d) return -ESRCH;
    const port = this.allocPort(d);
    if (port < 0) return port;
    // Xen allocates before asking the policy, so a refusal may still have grown the range.
    const rc = this.policy.evtchnUnbound(caller, d, remoteDom);
    if (rc) {
      this.freePort(d, port);
      return rc;
    }
    const ch = d.channels;
    ch.remoteDom[port] = remoteDom === DOMID_SELF ? caller.id : remoteDom;
    this.bound(d, port, ECS.UNBOUND);
    return port;
  }

  /** EVTCHNOP_bind_interdomain. */
  bindInterdomain(ld: Domain, remoteDom: number, remotePort: number): number {
    const rd = this.lookup(ld, remoteDom);
    if (!rd) return -ESRCH;
    const lport = this.allocPort(ld);
    if (lport < 0) return lport;
    const rch = rd.channels;
    if (!rch.isValid(remotePort) || rch.state[remotePort] !== ECS.UNBOUND || rch.remoteDom[remotePort] !== ld.id)
      return -EINVAL;
    const rc = this.policy.evtchnInterdomain(ld, rd);
    if (rc) return rc;
    const lch = ld.channels;
    lch.remoteDom[lport] = rd.id;
    lch.detail[lport] = remotePort;
    this.bound(ld, lport, ECS.INTERDOMAIN);
    rch.remoteDom[remotePort] = ld.id;
    rch.detail[remotePort] = lport;
    rch.state[remotePort] = ECS.INTERDOMAIN;
    // Notifications sent while the remote end was unbound were dropped: raise the local port.
    this.portSetPending(ld, lch.notifyVcpu[lport]!, lport);
    return lport;
  }

  /** EVTCHNOP_bind_virq. */
  bindVirq(d: Domain, virq: number, vcpu: number): number {
    if (virq >= NR_VIRQS) return -EINVAL;
    const kind = virqKind(virq);
    if (kind !== 'per-vcpu' && vcpu !== 0) return -EINVAL;
    if (vcpu >= d.nrVcpus) return -ENOENT;
    if (kind === 'global' && this.globalVirqHandlerOf(virq) !== d) return -EBUSY;
    const slot = vcpu * NR_VIRQS + virq;
    if (d.virqToPort[slot] !== 0) return -EEXIST;
    const port = this.allocPort(d);
    if (port < 0) return port;
    const ch = d.channels;
    ch.notifyVcpu[port] = vcpu;
    ch.detail[port] = virq;
    this.bound(d, port, ECS.VIRQ);
    d.virqToPort[slot] = port;
    return port;
  }

  /** EVTCHNOP_bind_pirq. */
  bindPirq(d: Domain, pirq: number, flags: number): number {
    const backend = this.arch.pirqs;
    if (!backend) return -EOPNOTSUPP;
    if (pirq >= d.nrPirqs) return -EINVAL;
    const access = this.policy.pirqAccess(d, pirq);
    if (access) return access;
    if (d.pirqToPort.has(pirq)) return -EEXIST;
    const port = this.allocPort(d);
    if (port < 0) return port;
    const rc = backend.guestBind(d.id, 0, pirq, (flags & BIND_PIRQ_WILL_SHARE) !== 0);
    if (rc !== 0) return rc;
    const ch = d.channels;
    ch.detail[port] = pirq;
    ch.notifyVcpu[port] = 0;
    d.pirqToPort.set(pirq, port);
    this.bound(d, port, ECS.PIRQ);
    return port;
  }

  /** EVTCHNOP_bind_ipi. */
  bindIpi(d: Domain, vcpu: number): number {
    if (vcpu >= d.nrVcpus) return -ENOENT;
    const port = this.allocPort(d);
    if (port < 0) return port;
    d.channels.notifyVcpu[port] = vcpu;
    this.bound(d, port, ECS.IPI);
    return port;
  }

  /**
   * `evtchn_close(d, port, guest)`: a guest may not close Xen-consumed ports; destruction may.
   * @returns 0 or -EINVAL
   */
  closePort(d: Domain, port: number, guest: boolean): number {
    const ch = d.channels;
    if (!ch.isValid(port)) return -EINVAL;
    if (guest && ch.xenConsumer[port] !== 0) return -EINVAL;
    switch (ch.state[port]) {
      case ECS.FREE:
      case ECS.RESERVED:
        return -EINVAL;
      case ECS.UNBOUND:
      case ECS.IPI:
        break;
      case ECS.PIRQ: {
        const pirq = ch.detail[port]!;
        this.arch.pirqs?.guestUnbind(d.id, pirq);
        d.pirqToPort.delete(pirq);
        break;
      }
      case ECS.VIRQ: {
        const virq = ch.detail[port]!;
        for (let v = 0; v < d.nrVcpus; v++) if (d.virqToPort[v * NR_VIRQS + virq] === port) d.virqToPort[v * NR_VIRQS + virq] = 0;
        break;
      }
      case ECS.INTERDOMAIN: {
        const rd = this.domains.get(ch.remoteDom[port]!);
        const rport = ch.detail[port]!;
        this.freePort(d, port);
        // A port looped back to itself is simply freed; otherwise the peer waits for a new binder.
        if (rd && !(rd === d && rport === port)) {
          rd.channels.state[rport] = ECS.UNBOUND;
          rd.channels.remoteDom[rport] = d.id;
        }
        return 0;
      }
    }
    this.freePort(d, port);
    return 0;
  }

  /** EVTCHNOP_send. */
  send(d: Domain, port: number): number {
    const ch = d.channels;
    if (!ch.isValid(port) || ch.xenConsumer[port] !== 0) return -EINVAL;
    const state = ch.state[port];
    // The remote end is looked up once, for the policy and the delivery. A domain reaches
    // itself without the map lookup (it is live: it made the call).
    let rd: Domain | undefined;
    if (state === ECS.INTERDOMAIN) {
      const rid = ch.remoteDom[port]!;
      rd = rid === d.id && !d.dying ? d : this.domains.get(rid);
    }
    // Xen asks the policy (xsm_evtchn_send) on every send, before looking at the state.
    const denied = this.policy.evtchnSend(d, rd);
    if (denied) return denied;
    switch (state) {
      case ECS.INTERDOMAIN: {
        if (!rd) return -EINVAL;
        const rport = ch.detail[port]!;
        this.portSetPending(rd, rd.channels.notifyVcpu[rport]!, rport);
        return 0;
      }
      case ECS.IPI:
        this.portSetPending(d, ch.notifyVcpu[port]!, port);
        return 0;
      case ECS.UNBOUND:
        return 0; // Nobody is listening yet: Xen drops the notification silently.
      default:
        return -EINVAL;
    }
  }

  /**
   * EVTCHNOP_status. The result is built first and then written into `out` (Xen's
   * copy_to_guest): an `out` that cannot be written (null, frozen, a throwing Proxy) is -EFAULT.
   */
  status(caller: Domain, dom: number, port: number, out: EvtchnStatus): number {
    const d = this.lookup(caller, dom);
    if (!d) return -ESRCH;
    const ch = d.channels;
    if (!ch.isValid(port)) return -EINVAL;
    const rc = this.policy.evtchnStatus(caller, d);
    if (rc) return rc;
    const r: EvtchnStatus = { status: 'closed', vcpu: ch.notifyVcpu[port]! };
    switch (ch.state[port]) {
      case ECS.UNBOUND:
        r.status = 'unbound';
        r.dom = ch.remoteDom[port]!;
        break;
      case ECS.INTERDOMAIN:
        r.status = 'interdomain';
        r.dom = ch.remoteDom[port]!;
        r.port = ch.detail[port]!;
        break;
      case ECS.PIRQ:
        r.status = 'pirq';
        r.pirq = ch.detail[port]!;
        break;
      case ECS.VIRQ:
        r.status = 'virq';
        r.virq = ch.detail[port]!;
        break;
      case ECS.IPI:
        r.status = 'ipi';
        break;
    }
    try {
      out.status = r.status;
      out.vcpu = r.vcpu;
      for (const k of ['dom', 'port', 'pirq', 'virq'] as const) {
        if (r[k] === undefined) delete out[k];
        else out[k] = r[k];
      }
    } catch {
      return -Errno.EFAULT;
    }
    return 0;
  }

  /** EVTCHNOP_bind_vcpu. */
  bindVcpu(d: Domain, port: number, vcpu: number): number {
    if (vcpu >= d.nrVcpus) return -ENOENT;
    const ch = d.channels;
    if (!ch.isValid(port) || ch.xenConsumer[port] !== 0) return -EINVAL;
    switch (ch.state[port]) {
      case ECS.VIRQ:
        if (virqKind(ch.detail[port]!) === 'per-vcpu') return -EINVAL;
        ch.notifyVcpu[port] = vcpu;
        return 0;
      case ECS.UNBOUND:
      case ECS.INTERDOMAIN:
        ch.notifyVcpu[port] = vcpu;
        return 0;
      case ECS.PIRQ:
        if (ch.notifyVcpu[port] !== vcpu) {
          ch.notifyVcpu[port] = vcpu;
          this.arch.pirqs?.setAffinity(d.id, ch.detail[port]!, vcpu);
        }
        return 0;
      default:
        return -EINVAL;
    }
  }

  /** EVTCHNOP_unmask. */
  unmask(d: Domain, port: number): number {
    const ch = d.channels;
    if (!ch.isValid(port)) return -EINVAL;
    if (ch.isUsable(port)) d.abi.unmask(port);
    return 0;
  }

  /** EVTCHNOP_reset and EVTCHNOP_reset_cont. */
  reset(caller: Domain, dom: number, resuming: boolean): number {
    const d = this.lookup(caller, dom);
    if (!d) return -ESRCH;
    const rc = this.policy.evtchnReset(caller, d);
    if (rc) return rc;
    if (d !== caller && !d.paused) return -EINVAL;
    // Hypercalls are never preempted here, so a reset always completes in one call and there
    // is never one to continue (Xen's `next_evtchn` stays 0): reset_cont finds none.
    if (resuming) return -EBUSY;
    for (let port = 1; port < d.channels.valid; port++) this.closePort(d, port, true);
    if (d.abi !== d.baseAbi) {
      d.abi.destroy?.();
      d.abi = d.baseAbi;
    }
    return 0;
  }

  /** EVTCHNOP_init_control. */
  initControl(d: Domain, controlGfn: number, offset: number, vcpu: number): number {
    if (d.abi.initControl) return d.abi.initControl(controlGfn, offset, vcpu);
    const abi = this.abis.find((a) => a.initControl);
    if (!abi?.initControl) return -EOPNOTSUPP;
    return abi.initControl(this.abiContext(d), controlGfn, offset, vcpu);
  }

  /** EVTCHNOP_expand_array. */
  expandArray(d: Domain, arrayGfn: number): number {
    return d.abi.expandArray ? d.abi.expandArray(arrayGfn) : -EOPNOTSUPP;
  }

  /** EVTCHNOP_set_priority. */
  setPriority(d: Domain, port: number, priority: number): number {
    const ch = d.channels;
    if (!ch.isValid(port)) return -EINVAL;
    if (!d.abi.setPriority) return -ENOSYS;
    if (!ch.isUsable(port)) return -EACCES;
    return d.abi.setPriority(port, priority);
  }

  /** Reads the active ABI's is-pending / is-masked of a port (the replay's `query`). */
  query(dom: number, port: number): RawOpResult {
    if (!isDomid(dom) || !isU32(port)) return { rc: -EINVAL };
    const d = this.domains.get(dom);
    if (!d) return { rc: -ESRCH };
    if (!d.channels.isValid(port)) return { rc: -EINVAL };
    return { rc: 0, pending: d.abi.isPending(port), masked: d.abi.isMasked(port) };
  }

  private abiContext(d: Domain): AbiHypervisorContext {
    return {
      domid: d.id,
      nrVcpus: d.nrVcpus,
      wordBits: d.wordBits,
      channels: d.channels,
      sharedInfo: d.sharedInfo,
      memory: d.memory,
      counters: d.counters,
      markEventsPending: (vcpu) => this.markEventsPending(d, vcpu),
      activeAbi: () => d.abi,
      switchAbi: (ops: AbiHypervisorOps) => {
        d.abi = ops;
      },
      warn: (message) => {
        if (this.bus.listening('warn')) this.bus.emit('warn', `xen d${d.id}`, message);
      },
    };
  }

  // ---------------------------------------------------------------- raw interface

  /**
   * Issues EVTCHNOP `cmd` from `caller` with a guest-filled argument struct, validating each
   * field as the C struct would hold it: a value that is not an integer in the field's range
   * (or is missing) is bad input and yields -EINVAL with nothing changed. Unknown `cmd` →
   * -ENOSYS. Returns `rc` plus the op's outputs in the public header's field names.
   */
  eventChannelOp(caller: number, cmd: number, args: Readonly<Record<string, unknown>>): RawOpResult {
    if (!isU32(cmd)) return { rc: -ENOSYS };
    const name = OP_NAMES[cmd];
    if (!name) return { rc: -ENOSYS };
    // Xen's copy_from_guest: the struct is copied in before anything else happens, so an
    // unreadable struct is -EFAULT with nothing changed, and the op sees a stable copy.
    const a = copyFromGuest(args, OP_FIELDS[name]);
    if (!a) return { rc: -Errno.EFAULT };
    const d = isDomid(caller) ? this.domains.get(caller) : undefined;
    if (!d) return { rc: -ESRCH };
    // The bound interface validates every field as its C field would hold it (the same rule
    // for library callers and raw guest structs); values arrive here unchecked.
    const ops = d.hypercalls;
    const portResult = (key: string, rc: number): RawOpResult => (rc >= 0 ? { rc: 0, [key]: rc } : { rc });
    switch (name) {
      case 'bind_interdomain':
        return portResult('local_port', ops.bindInterdomain(a.remote_dom!, a.remote_port!));
      case 'bind_virq':
        return portResult('port', ops.bindVirq(a.virq!, a.vcpu!));
      case 'bind_pirq':
        return portResult('port', ops.bindPirq(a.pirq!, a.flags!));
      case 'close':
        return { rc: ops.close(a.port!) };
      case 'send':
        return { rc: ops.send(a.port!) };
      case 'status': {
        const out: EvtchnStatus = { status: 'closed', vcpu: 0 };
        const rc = ops.status(a.dom!, a.port!, out);
        if (rc) return { rc };
        const r: RawOpResult = { rc: 0, status: out.status, vcpu: out.vcpu };
        if (out.dom !== undefined) r.dom = out.dom;
        if (out.port !== undefined) r.port = out.port;
        if (out.pirq !== undefined) r.pirq = out.pirq;
        if (out.virq !== undefined) r.virq = out.virq;
        return r;
      }
      case 'alloc_unbound':
        return portResult('port', ops.allocUnbound(a.dom!, a.remote_dom!));
      case 'bind_ipi':
        return portResult('port', ops.bindIpi(a.vcpu!));
      case 'bind_vcpu':
        return { rc: ops.bindVcpu(a.port!, a.vcpu!) };
      case 'unmask':
        return { rc: ops.unmask(a.port!) };
      case 'reset':
        return { rc: ops.reset(a.dom!) };
      case 'reset_cont':
        return { rc: ops.resetCont(a.dom!) };
      case 'init_control': {
        const rc = ops.initControl(a.control_gfn!, a.offset!, a.vcpu!);
        return rc >= 0 ? { rc: 0, link_bits: rc } : { rc };
      }
      case 'expand_array':
        return { rc: ops.expandArray(a.array_gfn!) };
      case 'set_priority':
        return { rc: ops.setPriority(a.port!, a.priority!) };
    }
  }
}

/** The argument fields each EVTCHNOP reads from its struct (public header names). */
const OP_FIELDS: Readonly<Record<EvtchnOpName, readonly string[]>> = {
  bind_interdomain: ['remote_dom', 'remote_port'],
  bind_virq: ['virq', 'vcpu'],
  bind_pirq: ['pirq', 'flags'],
  close: ['port'],
  send: ['port'],
  status: ['dom', 'port'],
  alloc_unbound: ['dom', 'remote_dom'],
  bind_ipi: ['vcpu'],
  bind_vcpu: ['port', 'vcpu'],
  unmask: ['port'],
  reset: ['dom'],
  reset_cont: ['dom'],
  init_control: ['control_gfn', 'offset', 'vcpu'],
  expand_array: ['array_gfn'],
  set_priority: ['port', 'priority'],
};

/**
 * Xen's `copy_from_guest` for a struct given as a JS object: copies `fields` from the object's
 * own data properties into a fresh null-prototype record. A field that is absent (or only on the
 * prototype) stays undefined and is later bad input (-EINVAL); an accessor property, or any
 * exception while looking (a throwing Proxy trap), means the struct cannot be read.
 * @returns the copy, or undefined when the struct is unreadable (the caller answers -EFAULT)
 */
function copyFromGuest(args: unknown, fields: readonly string[]): Record<string, number> | undefined {
  if (typeof args !== 'object' || args === null) return undefined;
  const copy: Record<string, number> = Object.create(null) as Record<string, number>;
  try {
    for (const f of fields) {
      const desc = Object.getOwnPropertyDescriptor(args, f);
      if (desc === undefined) continue;
      if (!('value' in desc)) return undefined;
      copy[f] = desc.value as number;
    }
  } catch {
    return undefined;
  }
  return copy;
}

/** The fields of {@link DomainCreateOptions} `createDomain` reads. */
const DOMAIN_OPTION_FIELDS: readonly (keyof DomainCreateOptions)[] = [
  'id',
  'vcpus',
  'privileged',
  'maxEvtchnPort',
  'nrPirqs',
  'pirqs',
  'memPages',
  'wordBits',
  'label',
  'deviceModel',
];

/** `EVTCHNOP_*` names by number. */
const OP_NAMES: Record<number, EvtchnOpName> = Object.fromEntries(
  (Object.entries(EVTCHNOP) as [EvtchnOpName, number][]).map(([k, v]) => [v, k]),
);

/**
 * {@link EventChannelOps} bound to one calling domain: validates each argument as its C field
 * would hold it (bad input → -EINVAL) and forwards to the {@link Hypervisor}.
 */
class BoundEventChannelOps implements EventChannelOps {
  /**
   * @param hv - the hypervisor
   * @param caller - the calling domain's id
   * @param domain - the live domain `caller` names, kept so the hot path (send, unmask) skips
   *   the map lookup; cleared by `detach` when the domain is destroyed, after which the id is
   *   looked up again like an ops object made for an id with no domain
   */
  constructor(
    private readonly hv: Hypervisor,
    readonly caller: number,
    private domain: Domain | undefined = undefined,
  ) {}

  /** Set when the domain this handle was made for was destroyed: it answers -ESRCH for good. */
  private dead = false;

  /** The domain was destroyed: every call answers -ESRCH from now on, even after the id is reused. */
  detach(): void {
    this.domain = undefined;
    this.dead = true;
  }

  private self(): Domain | undefined {
    if (this.dead) return undefined;
    return this.domain ?? this.hv.domain(this.caller);
  }

  allocUnbound(dom: number, remoteDom: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isDomid(dom) || !isDomid(remoteDom)) return -EINVAL;
    return this.hv.allocUnbound(d, dom, remoteDom);
  }
  bindInterdomain(remoteDom: number, remotePort: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isDomid(remoteDom) || !isU32(remotePort)) return -EINVAL;
    return this.hv.bindInterdomain(d, remoteDom, remotePort);
  }
  bindVirq(virq: number, vcpu: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isU32(virq) || !isU32(vcpu)) return -EINVAL;
    return this.hv.bindVirq(d, virq, vcpu);
  }
  bindPirq(pirq: number, flags: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isU32(pirq) || !isU32(flags)) return -EINVAL;
    return this.hv.bindPirq(d, pirq, flags);
  }
  bindIpi(vcpu: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isU32(vcpu)) return -EINVAL;
    return this.hv.bindIpi(d, vcpu);
  }
  close(port: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isU32(port)) return -EINVAL;
    return this.hv.closePort(d, port, true);
  }
  send(port: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isU32(port)) return -EINVAL;
    return this.hv.send(d, port);
  }
  status(dom: number, port: number, out: EvtchnStatus): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isDomid(dom) || !isU32(port)) return -EINVAL;
    return this.hv.status(d, dom, port, out);
  }
  bindVcpu(port: number, vcpu: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isU32(port) || !isU32(vcpu)) return -EINVAL;
    return this.hv.bindVcpu(d, port, vcpu);
  }
  unmask(port: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isU32(port)) return -EINVAL;
    return this.hv.unmask(d, port);
  }
  reset(dom: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isDomid(dom)) return -EINVAL;
    return this.hv.reset(d, dom, false);
  }
  resetCont(dom: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isDomid(dom)) return -EINVAL;
    return this.hv.reset(d, dom, true);
  }
  initControl(controlGfn: number, offset: number, vcpu: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isU64(controlGfn) || !isU32(offset) || !isU32(vcpu)) return -EINVAL;
    return this.hv.initControl(d, controlGfn, offset, vcpu);
  }
  expandArray(arrayGfn: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isU64(arrayGfn)) return -EINVAL;
    return this.hv.expandArray(d, arrayGfn);
  }
  setPriority(port: number, priority: number): number {
    const d = this.self();
    if (!d) return -ESRCH;
    if (!isU32(port) || !isU32(priority)) return -EINVAL;
    return this.hv.setPriority(d, port, priority);
  }
}
