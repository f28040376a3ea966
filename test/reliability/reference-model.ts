/*
 * A small reference state machine of the hypervisor's event-channel rules, written from
 * SPEC §1 (1.1–1.4, 1.3a) only, independent of packages/core's implementation. It covers the
 * subset of EVTCHNOPs and toolstack operations the model-based tests generate, with the
 * dummy security policy and a permissive pirq backend.
 *
 * What it does not model is ABI state (pending/mask bits, FIFO queues). The one place where
 * that state decides a hypercall result — allocation skipping FIFO ports that are still
 * LINKED ("busy") — is answered by a `busy` oracle the caller reads from the real ABI; the
 * model itself checks that a 2-level domain never reports a busy port.
 */

/** Channel states (SPEC §1.2). */
export const S = { FREE: 0, RESERVED: 1, UNBOUND: 2, INTERDOMAIN: 3, PIRQ: 4, VIRQ: 5, IPI: 6 } as const;

const EPERM = -1;
const ENOENT = -2;
const ESRCH = -3;
const EBUSY = -16;
const EEXIST = -17;
const EINVAL = -22;
const ENOSPC = -28;
const ENOSYS = -38;
const EACCES = -13;
const EOVERFLOW = -75;
const EOPNOTSUPP = -95;

/** DOMID_SELF. */
export const SELF = 0x7ff0;
const NR_VIRQS = 24;
const BUCKET = 64;
const PER_VCPU_VIRQS = new Set([0, 1, 7, 13]);
const PER_DOMAIN_VIRQS = new Set([11]);
const FIFO_LINK_BITS = 17;
const FIFO_MAX_PAGES = 128;

/** One port in the reference. */
export interface RefPort {
  state: number;
  notify: number;
  /** UNBOUND: remote domid; INTERDOMAIN: remote domid. */
  remoteDom: number;
  /** INTERDOMAIN: remote port; PIRQ: pirq; VIRQ: virq. */
  detail: number;
}

/** Domain configuration of a generated scenario. */
export interface RefDomainConfig {
  id: number;
  vcpus: number;
  privileged: boolean;
  maxEvtchnPort?: number;
  nrPirqs: number;
  pirqs: number[];
  memPages: number;
}

/** One reference domain. */
export class RefDomain {
  readonly ports: RefPort[] = [];
  valid = BUCKET;
  fifo = false;
  fifoPages = 0;
  controlBlocks = new Set<number>();
  pauseCount = 0;
  /** `${vcpu}:${virq}` → port. */
  readonly virqs = new Map<string, number>();
  /** pirq → port. */
  readonly pirqs = new Map<number, number>();
  readonly maxPort: number;

  constructor(readonly cfg: RefDomainConfig) {
    this.maxPort = cfg.maxEvtchnPort ?? (cfg.privileged ? 0x7fffffff : 1023);
    for (let p = 0; p < this.valid; p++) this.ports.push(freshPort());
    this.ports[0]!.state = S.RESERVED;
  }

  get id(): number {
    return this.cfg.id;
  }

  /** Ports this domain's ABI can address (2-level with 64-bit words: 4096; FIFO: 131072). */
  get abiLimit(): number {
    return this.fifo ? 131072 : 4096;
  }

  grow(port: number): void {
    const end = (Math.floor(port / BUCKET) + 1) * BUCKET;
    while (this.ports.length < end) this.ports.push(freshPort());
    if (end > this.valid) this.valid = end;
  }

  isValid(port: number): boolean {
    return port < this.valid;
  }
}

function freshPort(): RefPort {
  return { state: S.FREE, notify: 0, remoteDom: 0, detail: 0 };
}

/** A step as the `evtchn-hypercall/1` format writes it. */
export type Step = { op: string; caller?: number } & Record<string, number | string>;

/** The reference's answer to a step: what the replay format prints. */
export type Result = { rc: number } & Record<string, number | string | boolean>;

/** Tells whether the real ABI holds `port` of `dom` busy (FIFO: LINKED). */
export type BusyOracle = (dom: number, port: number) => boolean;

/** The whole reference machine. */
export class ReferenceModel {
  readonly domains = new Map<number, RefDomain>();
  /** Explicitly set global VIRQ handlers. */
  readonly globalHandler = new Map<number, number>();
  /** Lowest port of the last successful allocation, for the allocation invariant. */
  lastAlloc: { dom: number; port: number } | undefined;

  constructor(
    configs: readonly RefDomainConfig[],
    readonly fifoOffered: boolean,
  ) {
    for (const c of configs) this.domains.set(c.id, new RefDomain(c));
  }

  private lookup(caller: RefDomain, dom: number): RefDomain | undefined {
    return dom === SELF ? caller : this.domains.get(dom);
  }

  private targetAllowed(caller: RefDomain, target: RefDomain): boolean {
    return caller === target || caller.cfg.privileged;
  }

  /** Lowest FREE, non-busy port from 0 (SPEC §1.2 Allocation), growing validity by buckets. */
  private alloc(d: RefDomain, busy: BusyOracle): number {
    for (let p = 0; ; p++) {
      if (p > d.maxPort || p >= d.abiLimit) return ENOSPC;
      if (!d.isValid(p)) {
        d.grow(p);
        this.lastAlloc = { dom: d.id, port: p };
        return p;
      }
      if (d.ports[p]!.state === S.FREE && !(d.fifo && busy(d.id, p))) {
        this.lastAlloc = { dom: d.id, port: p };
        return p;
      }
    }
  }

  private free(d: RefDomain, p: number): void {
    const port = d.ports[p]!;
    port.state = S.FREE;
    port.notify = 0;
    port.remoteDom = 0;
    port.detail = 0;
  }

  private isGlobalVirq(virq: number): boolean {
    return !PER_VCPU_VIRQS.has(virq) && !PER_DOMAIN_VIRQS.has(virq);
  }

  /** The domain that handles global `virq`: the one set, else dom0 if it exists. */
  handlerOf(virq: number): RefDomain | undefined {
    const set = this.globalHandler.get(virq);
    if (set !== undefined) return this.domains.get(set);
    return this.domains.get(0);
  }

  /** Closes `p` of `d` (guest close; no Xen-consumed ports exist in generated scenarios). */
  private close(d: RefDomain, p: number): number {
    if (!d.isValid(p)) return EINVAL;
    const port = d.ports[p]!;
    switch (port.state) {
      case S.FREE:
      case S.RESERVED:
        return EINVAL;
      case S.PIRQ:
        d.pirqs.delete(port.detail);
        break;
      case S.VIRQ:
        for (const [k, v] of [...d.virqs]) if (v === p) d.virqs.delete(k);
        break;
      case S.INTERDOMAIN: {
        const rd = this.domains.get(port.remoteDom);
        const rp = port.detail;
        this.free(d, p);
        if (rd && !(rd === d && rp === p)) {
          const remote = rd.ports[rp]!;
          remote.state = S.UNBOUND;
          remote.remoteDom = d.id;
          remote.detail = 0;
        }
        return 0;
      }
    }
    this.free(d, p);
    return 0;
  }

  /** Applies one step; returns what the real system must print. */
  apply(step: Step, busy: BusyOracle): Result {
    this.lastAlloc = undefined;
    switch (step.op) {
      case 'pause': {
        const d = this.domains.get(step.dom as number);
        if (!d) return { rc: ESRCH };
        if (d.pauseCount >= 255) return { rc: EOVERFLOW };
        d.pauseCount++;
        return { rc: 0 };
      }
      case 'unpause': {
        const d = this.domains.get(step.dom as number);
        if (!d) return { rc: ESRCH };
        if (d.pauseCount === 0) return { rc: EINVAL };
        d.pauseCount--;
        return { rc: 0 };
      }
      case 'destroy':
        return { rc: this.destroy(step.dom as number) };
      case 'set_global_virq_handler':
        return { rc: this.setGlobalVirqHandler(step.virq as number, step.dom as number) };
    }
    const c = this.domains.get(step.caller!);
    if (!c) return { rc: ESRCH };
    const n = (k: string): number => step[k] as number;
    switch (step.op) {
      case 'alloc_unbound': {
        const d = this.lookup(c, n('dom'));
        if (!d) return { rc: ESRCH };
        const p = this.alloc(d, busy);
        if (p < 0) return { rc: p };
        if (!this.targetAllowed(c, d)) {
          this.lastAlloc = undefined;
          return { rc: EPERM };
        }
        const port = d.ports[p]!;
        port.state = S.UNBOUND;
        port.remoteDom = n('remote_dom') === SELF ? c.id : n('remote_dom');
        return { rc: 0, port: p };
      }
      case 'bind_interdomain': {
        const rd = this.lookup(c, n('remote_dom'));
        if (!rd) return { rc: ESRCH };
        const lp = this.alloc(c, busy);
        if (lp < 0) return { rc: lp };
        const rp = n('remote_port');
        const remote = rd.isValid(rp) ? rd.ports[rp]! : undefined;
        if (!remote || remote.state !== S.UNBOUND || remote.remoteDom !== c.id) {
          this.lastAlloc = undefined;
          return { rc: EINVAL };
        }
        const local = c.ports[lp]!;
        local.state = S.INTERDOMAIN;
        local.remoteDom = rd.id;
        local.detail = rp;
        remote.state = S.INTERDOMAIN;
        remote.remoteDom = c.id;
        remote.detail = lp;
        return { rc: 0, local_port: lp };
      }
      case 'bind_virq': {
        const virq = n('virq');
        const vcpu = n('vcpu');
        if (virq >= NR_VIRQS) return { rc: EINVAL };
        if (!PER_VCPU_VIRQS.has(virq) && vcpu !== 0) return { rc: EINVAL };
        if (vcpu >= c.cfg.vcpus) return { rc: ENOENT };
        if (this.isGlobalVirq(virq) && this.handlerOf(virq) !== c) return { rc: EBUSY };
        const key = `${vcpu}:${virq}`;
        if (c.virqs.has(key)) return { rc: EEXIST };
        const p = this.alloc(c, busy);
        if (p < 0) return { rc: p };
        const port = c.ports[p]!;
        port.state = S.VIRQ;
        port.notify = vcpu;
        port.detail = virq;
        c.virqs.set(key, p);
        return { rc: 0, port: p };
      }
      case 'bind_pirq': {
        const pirq = n('pirq');
        if (pirq >= c.cfg.nrPirqs) return { rc: EINVAL };
        if (!c.cfg.pirqs.includes(pirq)) return { rc: EPERM };
        if (c.pirqs.has(pirq)) return { rc: EEXIST };
        const p = this.alloc(c, busy);
        if (p < 0) return { rc: p };
        const port = c.ports[p]!;
        port.state = S.PIRQ;
        port.notify = 0;
        port.detail = pirq;
        c.pirqs.set(pirq, p);
        return { rc: 0, port: p };
      }
      case 'bind_ipi': {
        const vcpu = n('vcpu');
        if (vcpu >= c.cfg.vcpus) return { rc: ENOENT };
        const p = this.alloc(c, busy);
        if (p < 0) return { rc: p };
        const port = c.ports[p]!;
        port.state = S.IPI;
        port.notify = vcpu;
        return { rc: 0, port: p };
      }
      case 'close':
        return { rc: this.close(c, n('port')) };
      case 'send': {
        const p = n('port');
        if (!c.isValid(p)) return { rc: EINVAL };
        const s = c.ports[p]!.state;
        return { rc: s === S.INTERDOMAIN || s === S.IPI || s === S.UNBOUND ? 0 : EINVAL };
      }
      case 'status': {
        const d = this.lookup(c, n('dom'));
        if (!d) return { rc: ESRCH };
        const p = n('port');
        if (!d.isValid(p)) return { rc: EINVAL };
        if (!this.targetAllowed(c, d)) return { rc: EPERM };
        const port = d.ports[p]!;
        switch (port.state) {
          case S.UNBOUND:
            return { rc: 0, status: 'unbound', vcpu: port.notify, dom: port.remoteDom };
          case S.INTERDOMAIN:
            return { rc: 0, status: 'interdomain', vcpu: port.notify, dom: port.remoteDom, port: port.detail };
          case S.PIRQ:
            return { rc: 0, status: 'pirq', vcpu: port.notify, pirq: port.detail };
          case S.VIRQ:
            return { rc: 0, status: 'virq', vcpu: port.notify, virq: port.detail };
          case S.IPI:
            return { rc: 0, status: 'ipi', vcpu: port.notify };
          default:
            return { rc: 0, status: 'closed', vcpu: port.notify };
        }
      }
      case 'bind_vcpu': {
        const vcpu = n('vcpu');
        const p = n('port');
        if (vcpu >= c.cfg.vcpus) return { rc: ENOENT };
        if (!c.isValid(p)) return { rc: EINVAL };
        const port = c.ports[p]!;
        switch (port.state) {
          case S.VIRQ:
            if (PER_VCPU_VIRQS.has(port.detail)) return { rc: EINVAL };
            port.notify = vcpu;
            return { rc: 0 };
          case S.UNBOUND:
          case S.INTERDOMAIN:
          case S.PIRQ:
            port.notify = vcpu;
            return { rc: 0 };
          default:
            return { rc: EINVAL };
        }
      }
      case 'unmask':
        return { rc: c.isValid(n('port')) ? 0 : EINVAL };
      case 'reset': {
        const d = this.lookup(c, n('dom'));
        if (!d) return { rc: ESRCH };
        if (!this.targetAllowed(c, d)) return { rc: EPERM };
        if (d !== c && d.pauseCount === 0) return { rc: EINVAL };
        for (let p = 1; p < d.valid; p++) this.close(d, p);
        d.fifo = false;
        d.fifoPages = 0;
        d.controlBlocks.clear();
        return { rc: 0 };
      }
      case 'init_control': {
        if (!this.fifoOffered) return { rc: EOPNOTSUPP };
        const vcpu = n('vcpu');
        const offset = n('offset');
        if (vcpu >= c.cfg.vcpus) return { rc: ENOENT };
        if (offset > 4024 || offset % 8 !== 0) return { rc: EINVAL };
        if (c.controlBlocks.has(vcpu)) return { rc: EINVAL };
        if (n('control_gfn') >= c.cfg.memPages) return { rc: EINVAL };
        c.controlBlocks.add(vcpu);
        c.fifo = true;
        return { rc: 0, link_bits: FIFO_LINK_BITS };
      }
      case 'expand_array': {
        if (!c.fifo) return { rc: EOPNOTSUPP };
        if (c.fifoPages >= FIFO_MAX_PAGES) return { rc: ENOSPC };
        if (n('array_gfn') >= c.cfg.memPages) return { rc: EINVAL };
        c.fifoPages++;
        return { rc: 0 };
      }
      case 'set_priority': {
        const p = n('port');
        if (!c.isValid(p)) return { rc: EINVAL };
        if (!c.fifo) return { rc: ENOSYS };
        if (c.ports[p]!.state <= S.RESERVED) return { rc: EACCES };
        if (n('priority') > 15) return { rc: EINVAL };
        return { rc: 0 };
      }
    }
    throw new Error(`reference model: op ${step.op} not modelled`);
  }

  private destroy(dom: number): number {
    const d = this.domains.get(dom);
    if (!d) return ESRCH;
    for (let p = 0; p < d.valid; p++) if (d.ports[p]!.state > S.RESERVED) this.close(d, p);
    for (const [virq, h] of [...this.globalHandler]) if (h === dom) this.globalHandler.delete(virq);
    this.domains.delete(dom);
    return 0;
  }

  private setGlobalVirqHandler(virq: number, dom: number): number {
    // A domctl: the target domain is looked up before the virq is checked (SPEC §1.3a).
    const d = this.domains.get(dom);
    if (!d) return ESRCH;
    if (virq >= NR_VIRQS || !this.isGlobalVirq(virq)) return EINVAL;
    const current = this.handlerOf(virq);
    if (current === d) return 0;
    if (current && current.virqs.has(`0:${virq}`)) return EBUSY;
    this.globalHandler.set(virq, dom);
    return 0;
  }
}
