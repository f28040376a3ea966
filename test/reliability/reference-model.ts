/*
 * A reference state machine of the hypervisor's event-channel rules, written from SPEC §1
 * (1.1–1.4, 1.3a) and §2 (2.1 two-level, 2.2 FIFO) only, independent of packages/core's and the
 * ABI packages' implementation. It covers the EVTCHNOPs and toolstack operations the
 * model-based tests generate (with the dummy security policy and a permissive pirq backend),
 * domain re-creation under a used id, and a few guest actions on shared memory (mask, clear
 * pending, consume a FIFO queue head, acknowledge the upcall).
 *
 * ABI state is modelled too, bit for bit: the 2-level pending/mask bitmaps, per-vCPU selector
 * words and upcall-pending flags; the FIFO event words (PENDING, MASKED, LINKED, LINK) in the
 * domain's own model of guest memory (so aliased pages behave as they do in the real memory),
 * the control blocks' `ready` and `head[]`, the per-vCPU queue tails, and the per-channel
 * priority, sticky pending flag and last queue. Allocation's "busy" rule (skip a FREE port that
 * is still LINKED) is answered from this model's own event words.
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
const VIRQ_DOM_EXC = 3;
const BUCKET = 64;
const PER_VCPU_VIRQS = new Set([0, 1, 7, 13]);
const PER_DOMAIN_VIRQS = new Set([11]);

/** SPEC §2.2: event word bits, LINK field, pages, queues. */
export const FIFO = {
  PENDING: 0x8000_0000,
  MASKED: 0x4000_0000,
  LINKED: 0x2000_0000,
  LINK_MASK: 0x1ffff,
  LINK_BITS: 17,
  MAX_PORTS: 131072,
  WORDS_PER_PAGE: 1024,
  MAX_PAGES: 128,
  QUEUES: 16,
  DEFAULT_PRIORITY: 7,
  MAX_CB_OFFSET: 4024,
} as const;
/** 2-level port limits by guest word size (SPEC §1.2). */
export const TWO_LEVEL_PORTS = { 64: 4096, 32: 1024 } as const;

/** One port in the reference. */
export interface RefPort {
  state: number;
  notify: number;
  /** UNBOUND: remote domid; INTERDOMAIN: remote domid. */
  remoteDom: number;
  /** INTERDOMAIN: remote port; PIRQ: pirq; VIRQ: virq. */
  detail: number;
  /** FIFO priority (0 until a FIFO bind or the switch to FIFO sets the default). */
  priority: number;
  /** FIFO's sticky pending flag (SPEC §1.3a). */
  pendingFlag: boolean;
  /** The FIFO queue the event was last linked on: vCPU and priority, initially (0, 0). */
  lastVcpu: number;
  lastPriority: number;
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
  wordBits?: 32 | 64;
}

/** A FIFO control block's place in guest memory. */
interface ControlBlock {
  gfn: number;
  /** Word index of `ready` in the page (`offset / 4`). */
  word: number;
}

/** One reference domain. */
export class RefDomain {
  readonly ports: RefPort[] = [];
  valid = BUCKET;
  fifo = false;
  pauseCount = 0;
  dying = false;
  /** `${vcpu}:${virq}` → port. */
  readonly virqs = new Map<string, number>();
  /** pirq → port. */
  readonly pirqs = new Map<number, number>();
  readonly maxPort: number;
  readonly wordBits: 32 | 64;
  /** Lowest port that may be FREE (every port below it is bound): where allocation starts. */
  freeHint = 1;

  // Guest memory: pages of 1024 words by gfn, zero at first use, kept for the domain's life.
  private readonly pages = new Map<number, Uint32Array>();

  // 2-level shared-info state (4096-bit bitmaps as 32-bit words; two selector halves per vCPU).
  readonly pending2 = new Uint32Array(128);
  readonly mask2 = new Uint32Array(128);
  readonly sel: Uint32Array;
  readonly upcall: Uint8Array;

  // FIFO state of the current FIFO session (cleared when reset returns the domain to 2-level).
  /** Event-array pages in order (gfns; the same gfn may appear twice). */
  arrayGfns: number[] = [];
  /** Control block per vCPU. */
  cbs = new Map<number, ControlBlock>();
  /** Queue tails, `vcpu * 16 + priority`. */
  tails: Uint32Array;
  /** The guest's local queue heads (Linux's per-CPU `head[]`), `vcpu * 16 + priority`. */
  guestHeads: Uint32Array;

  constructor(readonly cfg: RefDomainConfig) {
    this.maxPort = cfg.maxEvtchnPort ?? (cfg.privileged ? 0x7fffffff : 1023);
    this.wordBits = cfg.wordBits ?? 64;
    for (let p = 0; p < this.valid; p++) this.ports.push(freshPort());
    this.ports[0]!.state = S.RESERVED;
    this.sel = new Uint32Array(cfg.vcpus * 2);
    this.upcall = new Uint8Array(cfg.vcpus);
    this.tails = new Uint32Array(cfg.vcpus * FIFO.QUEUES);
    this.guestHeads = new Uint32Array(cfg.vcpus * FIFO.QUEUES);
  }

  get id(): number {
    return this.cfg.id;
  }

  /** Ports the active ABI can address. */
  get abiLimit(): number {
    return this.fifo ? FIFO.MAX_PORTS : TWO_LEVEL_PORTS[this.wordBits];
  }

  grow(port: number): void {
    const end = (Math.floor(port / BUCKET) + 1) * BUCKET;
    while (this.ports.length < end) this.ports.push(freshPort());
    if (end > this.valid) this.valid = end;
  }

  isValid(port: number): boolean {
    return port < this.valid;
  }

  isUsable(port: number): boolean {
    return port < this.valid && this.ports[port]!.state > S.RESERVED;
  }

  /** A guest page, or undefined when the gfn is outside the domain's memory. */
  page(gfn: number): Uint32Array | undefined {
    if (gfn >= this.cfg.memPages) return undefined;
    let p = this.pages.get(gfn);
    if (!p) {
      p = new Uint32Array(1024);
      this.pages.set(gfn, p);
    }
    return p;
  }

  /** gfns of every page the model has touched (for comparison with the real memory). */
  touchedGfns(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  // ------------------------------------------------------------------ FIFO event words

  /** Ports covered by the event array. */
  get eventWords(): number {
    return this.arrayGfns.length * FIFO.WORDS_PER_PAGE;
  }

  /** Reads the event word of `port` (undefined when not covered). */
  word(port: number): number | undefined {
    if (port >= this.eventWords) return undefined;
    return this.page(this.arrayGfns[Math.floor(port / FIFO.WORDS_PER_PAGE)]!)![port % FIFO.WORDS_PER_PAGE]!;
  }

  setWord(port: number, w: number): void {
    this.page(this.arrayGfns[Math.floor(port / FIFO.WORDS_PER_PAGE)]!)![port % FIFO.WORDS_PER_PAGE] = w >>> 0;
  }

  /** Control-block word `i` (0 = ready, 2 + q = head[q]) of `vcpu`. */
  cbWord(vcpu: number, i: number): number {
    const cb = this.cbs.get(vcpu)!;
    return this.page(cb.gfn)![cb.word + i]!;
  }

  setCbWord(vcpu: number, i: number, v: number): void {
    const cb = this.cbs.get(vcpu)!;
    this.page(cb.gfn)![cb.word + i] = v >>> 0;
  }

  /** Allocation skips a FREE port whose event word is LINKED (FIFO only). */
  isBusy(port: number): boolean {
    if (!this.fifo) return false;
    const w = this.word(port);
    return w !== undefined && (w & FIFO.LINKED) !== 0;
  }
}

function freshPort(): RefPort {
  return { state: S.FREE, notify: 0, remoteDom: 0, detail: 0, priority: 0, pendingFlag: false, lastVcpu: 0, lastPriority: 0 };
}

const bit = (a: Uint32Array, n: number): boolean => (a[n >>> 5]! & (1 << (n & 31))) !== 0;
const setBit = (a: Uint32Array, n: number): void => {
  a[n >>> 5] = a[n >>> 5]! | (1 << (n & 31));
};
const clearBit = (a: Uint32Array, n: number): void => {
  a[n >>> 5] = a[n >>> 5]! & ~(1 << (n & 31));
};

/** A step as the `evtchn-hypercall/1` format writes it (plus the model-only guest ops). */
export type Step = { op: string; caller?: number } & Record<string, number | string>;

/** The reference's answer to a step: what the replay format prints. */
export type Result = { rc: number } & Record<string, number | string | boolean>;

/** Guest actions on shared memory (not hypercalls): they answer `{ rc: 0 }`, or -ESRCH with no such domain. */
export const GUEST_OPS = new Set(['guest_mask', 'guest_clear', 'guest_consume', 'guest_ack']);

/** The whole reference machine. */
export class ReferenceModel {
  readonly domains = new Map<number, RefDomain>();
  /** Explicitly set global VIRQ handlers. */
  readonly globalHandler = new Map<number, number>();
  /** Lowest port of the last successful allocation, for the allocation invariant. */
  lastAlloc: { dom: number; port: number } | undefined;
  /** How often the rules that need a particular history ran (the test checks the generator reaches them). */
  readonly stats = {
    unmaskRaised: 0,
    busySkipped: 0,
    linkedAfterTail: 0,
    consumed: 0,
    flagRaisedAtExpand: 0,
    domidReused: 0,
    droppedNoControlBlock: 0,
  };
  private readonly destroyedIds = new Set<number>();

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

  /** Lowest FREE, non-busy port (SPEC §1.2 Allocation), growing validity by buckets. */
  private alloc(d: RefDomain): number {
    if (d.dying) return EINVAL;
    let firstFree = -1;
    for (let p = d.freeHint; ; p++) {
      if (p > d.maxPort || p >= d.abiLimit) {
        if (firstFree >= 0) d.freeHint = firstFree;
        return ENOSPC;
      }
      if (!d.isValid(p)) {
        d.grow(p);
        d.freeHint = firstFree >= 0 ? firstFree : p;
        this.lastAlloc = { dom: d.id, port: p };
        return p;
      }
      if (d.ports[p]!.state !== S.FREE) continue;
      if (firstFree < 0) firstFree = p;
      if (d.isBusy(p)) this.stats.busySkipped++;
      else {
        d.freeHint = firstFree;
        this.lastAlloc = { dom: d.id, port: p };
        return p;
      }
    }
  }

  // ------------------------------------------------------------------ ABI operations

  /** `markEventsPending` (SPEC §2): test-and-set upcall-pending. */
  private mark(d: RefDomain, vcpu: number): void {
    d.upcall[vcpu] = 1;
  }

  /** Test-and-set of the 2-level selector bit covering `port` on `vcpu`; true if it was set. */
  private selectorWasSet(d: RefDomain, vcpu: number, port: number): boolean {
    const s = port >>> (d.wordBits === 64 ? 6 : 5);
    const i = vcpu * 2 + (s >>> 5);
    const b = 1 << (s & 31);
    const was = (d.sel[i]! & b) !== 0;
    d.sel[i] = d.sel[i]! | b;
    return was;
  }

  /** The active ABI's setPending (SPEC §2.1 / §2.2). */
  private abiSetPending(d: RefDomain, vcpu: number, port: number): void {
    if (!d.fifo) {
      if (bit(d.pending2, port)) return;
      setBit(d.pending2, port);
      if (bit(d.mask2, port)) return;
      if (!this.selectorWasSet(d, vcpu, port)) this.mark(d, vcpu);
      return;
    }
    const chn = d.ports[port]!;
    const w = d.word(port);
    if (w === undefined) {
      chn.pendingFlag = true;
      return;
    }
    if (!d.cbs.has(vcpu)) {
      this.stats.droppedNoControlBlock++;
      return; // no control block: dropped, PENDING not set
    }
    const prio = chn.priority;
    const q = vcpu * FIFO.QUEUES + prio;
    const oldQ = chn.lastVcpu * FIFO.QUEUES + chn.lastPriority;
    const pendingWord = (w | FIFO.PENDING) >>> 0;
    d.setWord(port, pendingWord);
    if ((pendingWord & (FIFO.MASKED | FIFO.LINKED)) !== 0) return;
    d.setWord(port, pendingWord | FIFO.LINKED);
    if (d.tails[oldQ] === port) d.tails[oldQ] = 0;
    if (oldQ !== q) {
      chn.lastVcpu = vcpu;
      chn.lastPriority = prio;
    }
    const tail = d.tails[q]!;
    let linked = false;
    if (tail !== 0) {
      const tw = d.word(tail);
      if (tw !== undefined && (tw & FIFO.LINKED) !== 0) {
        d.setWord(tail, (tw & ~FIFO.LINK_MASK) | port);
        linked = true;
        this.stats.linkedAfterTail++;
      }
    }
    d.tails[q] = port;
    if (linked) return;
    d.setCbWord(vcpu, 2 + prio, port);
    const ready = d.cbWord(vcpu, 0);
    if ((ready & (1 << prio)) !== 0) return;
    d.setCbWord(vcpu, 0, ready | (1 << prio));
    this.mark(d, vcpu);
  }

  private abiClearPending(d: RefDomain, port: number): void {
    if (!d.fifo) clearBit(d.pending2, port);
    else if (d.word(port) !== undefined) d.setWord(port, d.word(port)! & ~FIFO.PENDING);
  }

  private abiUnmask(d: RefDomain, port: number): void {
    const notify = d.ports[port]!.notify;
    if (!d.fifo) {
      if (!bit(d.mask2, port)) return;
      clearBit(d.mask2, port);
      if (!bit(d.pending2, port)) return;
      this.stats.unmaskRaised++;
      if (!this.selectorWasSet(d, notify, port)) this.mark(d, notify);
      return;
    }
    const w = d.word(port);
    if (w === undefined) return;
    d.setWord(port, w & ~FIFO.MASKED);
    if ((w & FIFO.PENDING) !== 0) {
      this.stats.unmaskRaised++;
      this.abiSetPending(d, notify, port);
    }
  }

  /** `init` after every bind: FIFO gives the port the default priority. */
  private bound(d: RefDomain, port: number, state: number): void {
    d.ports[port]!.state = state;
    if (d.fifo) d.ports[port]!.priority = FIFO.DEFAULT_PRIORITY;
  }

  /** `evtchn_port_set_pending`: skipped on unusable ports. */
  private portSetPending(d: RefDomain, vcpu: number, port: number): void {
    if (d.isUsable(port)) this.abiSetPending(d, vcpu, port);
  }

  private free(d: RefDomain, p: number): void {
    if (d.isUsable(p)) this.abiClearPending(d, p);
    const port = d.ports[p]!;
    port.state = S.FREE;
    port.notify = 0;
    port.remoteDom = 0;
    port.detail = 0;
    if (p < d.freeHint) d.freeHint = p;
  }

  private isGlobalVirq(virq: number): boolean {
    return !PER_VCPU_VIRQS.has(virq) && !PER_DOMAIN_VIRQS.has(virq);
  }

  /** The domain that handles global `virq`: the one set, else dom0 while it exists and is not dying. */
  handlerOf(virq: number): RefDomain | undefined {
    const set = this.globalHandler.get(virq);
    if (set !== undefined) return this.domains.get(set);
    const d0 = this.domains.get(0);
    return d0 && !d0.dying ? d0 : undefined;
  }

  private raiseGlobalVirq(virq: number): void {
    const h = this.handlerOf(virq);
    const port = h?.virqs.get(`0:${virq}`);
    if (h && port !== undefined) this.portSetPending(h, h.ports[port]!.notify, port);
  }

  /** Closes `p` of `d` (no Xen-consumed ports exist in generated scenarios). */
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
  apply(step: Step): Result {
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
      case 'create':
        return { rc: this.create(step) };
      case 'set_global_virq_handler':
        return { rc: this.setGlobalVirqHandler(step.virq as number, step.dom as number) };
    }
    const c = this.domains.get(step.caller!);
    if (!c) return { rc: ESRCH };
    if (GUEST_OPS.has(step.op)) {
      this.guest(c, step);
      return { rc: 0 };
    }
    return this.hypercall(c, step);
  }

  private hypercall(c: RefDomain, step: Step): Result {
    const n = (k: string): number => step[k] as number;
    switch (step.op) {
      case 'alloc_unbound': {
        const d = this.lookup(c, n('dom'));
        if (!d) return { rc: ESRCH };
        const p = this.alloc(d);
        if (p < 0) return { rc: p };
        if (!this.targetAllowed(c, d)) {
          this.lastAlloc = undefined;
          return { rc: EPERM };
        }
        const port = d.ports[p]!;
        port.remoteDom = n('remote_dom') === SELF ? c.id : n('remote_dom');
        this.bound(d, p, S.UNBOUND);
        return { rc: 0, port: p };
      }
      case 'bind_interdomain': {
        const rd = this.lookup(c, n('remote_dom'));
        if (!rd) return { rc: ESRCH };
        const lp = this.alloc(c);
        if (lp < 0) return { rc: lp };
        const rp = n('remote_port');
        const remote = rd.isValid(rp) ? rd.ports[rp]! : undefined;
        if (!remote || remote.state !== S.UNBOUND || remote.remoteDom !== c.id) {
          this.lastAlloc = undefined;
          return { rc: EINVAL };
        }
        const local = c.ports[lp]!;
        local.remoteDom = rd.id;
        local.detail = rp;
        this.bound(c, lp, S.INTERDOMAIN);
        remote.state = S.INTERDOMAIN;
        remote.remoteDom = c.id;
        remote.detail = lp;
        this.portSetPending(c, local.notify, lp);
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
        const p = this.alloc(c);
        if (p < 0) return { rc: p };
        const port = c.ports[p]!;
        port.notify = vcpu;
        port.detail = virq;
        this.bound(c, p, S.VIRQ);
        c.virqs.set(key, p);
        return { rc: 0, port: p };
      }
      case 'bind_pirq': {
        const pirq = n('pirq');
        if (pirq >= c.cfg.nrPirqs) return { rc: EINVAL };
        if (!c.cfg.pirqs.includes(pirq)) return { rc: EPERM };
        if (c.pirqs.has(pirq)) return { rc: EEXIST };
        const p = this.alloc(c);
        if (p < 0) return { rc: p };
        const port = c.ports[p]!;
        port.notify = 0;
        port.detail = pirq;
        this.bound(c, p, S.PIRQ);
        c.pirqs.set(pirq, p);
        return { rc: 0, port: p };
      }
      case 'bind_ipi': {
        const vcpu = n('vcpu');
        if (vcpu >= c.cfg.vcpus) return { rc: ENOENT };
        const p = this.alloc(c);
        if (p < 0) return { rc: p };
        c.ports[p]!.notify = vcpu;
        this.bound(c, p, S.IPI);
        return { rc: 0, port: p };
      }
      case 'close':
        return { rc: this.close(c, n('port')) };
      case 'send': {
        const p = n('port');
        if (!c.isValid(p)) return { rc: EINVAL };
        const port = c.ports[p]!;
        switch (port.state) {
          case S.INTERDOMAIN: {
            const rd = this.domains.get(port.remoteDom);
            if (!rd) return { rc: EINVAL };
            this.portSetPending(rd, rd.ports[port.detail]!.notify, port.detail);
            return { rc: 0 };
          }
          case S.IPI:
            this.portSetPending(c, port.notify, p);
            return { rc: 0 };
          case S.UNBOUND:
            return { rc: 0 };
          default:
            return { rc: EINVAL };
        }
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
      case 'unmask': {
        const p = n('port');
        if (!c.isValid(p)) return { rc: EINVAL };
        if (c.isUsable(p)) this.abiUnmask(c, p);
        return { rc: 0 };
      }
      case 'reset': {
        const d = this.lookup(c, n('dom'));
        if (!d) return { rc: ESRCH };
        if (!this.targetAllowed(c, d)) return { rc: EPERM };
        if (d !== c && d.pauseCount === 0) return { rc: EINVAL };
        for (let p = 1; p < d.valid; p++) this.close(d, p);
        if (d.fifo) {
          d.fifo = false;
          d.arrayGfns = [];
          d.cbs.clear();
          d.tails.fill(0);
          d.guestHeads.fill(0);
        }
        return { rc: 0 };
      }
      case 'init_control':
        return this.initControl(c, n('control_gfn'), n('offset'), n('vcpu'));
      case 'expand_array': {
        if (!c.fifo) return { rc: EOPNOTSUPP };
        if (c.arrayGfns.length >= FIFO.MAX_PAGES) return { rc: ENOSPC };
        const gfn = n('array_gfn');
        if (!c.page(gfn)) return { rc: EINVAL };
        const first = c.eventWords;
        c.arrayGfns.push(gfn);
        // Newly covered ports whose sticky flag is set are raised now, bound or not.
        for (let p = first; p < c.eventWords && c.isValid(p); p++)
          if (c.ports[p]!.pendingFlag) {
            this.stats.flagRaisedAtExpand++;
            this.abiSetPending(c, c.ports[p]!.notify, p);
          }
        return { rc: 0 };
      }
      case 'set_priority': {
        const p = n('port');
        if (!c.isValid(p)) return { rc: EINVAL };
        if (!c.fifo) return { rc: ENOSYS };
        if (!c.isUsable(p)) return { rc: EACCES };
        if (n('priority') > 15) return { rc: EINVAL };
        c.ports[p]!.priority = n('priority');
        return { rc: 0 };
      }
    }
    throw new Error(`reference model: op ${step.op} not modelled`);
  }

  private initControl(c: RefDomain, gfn: number, offset: number, vcpu: number): Result {
    if (!this.fifoOffered) return { rc: EOPNOTSUPP };
    if (vcpu >= c.cfg.vcpus) return { rc: ENOENT };
    if (offset > FIFO.MAX_CB_OFFSET || offset % 8 !== 0) return { rc: EINVAL };
    if (c.fifo && c.cbs.has(vcpu)) return { rc: EINVAL };
    if (!c.page(gfn)) return { rc: EINVAL };
    c.cbs.set(vcpu, { gfn, word: offset / 4 });
    c.guestHeads.fill(0, vcpu * FIFO.QUEUES, (vcpu + 1) * FIFO.QUEUES);
    if (!c.fifo) {
      // The switch: every valid port from 1 (below the 2-level limit) carries its 2-level
      // pending bit into the sticky flag and gets the default priority.
      c.fifo = true;
      const prevLimit = TWO_LEVEL_PORTS[c.wordBits];
      for (let p = 1; p < prevLimit && c.isValid(p); p++) {
        if (bit(c.pending2, p)) c.ports[p]!.pendingFlag = true;
        c.ports[p]!.priority = FIFO.DEFAULT_PRIORITY;
      }
    }
    return { rc: 0, link_bits: FIFO.LINK_BITS };
  }

  /**
   * Guest actions on shared memory. `guest_mask`/`guest_clear` set the mask bit / clear the
   * pending bit of a port (FIFO: MASKED / PENDING in its event word, if it has one);
   * `guest_consume` takes the head of one FIFO queue of a vCPU the way Linux's consume_one_event
   * does (the local head, else the control block's head while the queue's ready bit is set;
   * clear LINKED and LINK; a handled event — pending, unmasked — is acknowledged by clearing
   * PENDING; the queue's ready bit is cleared when it empties); `guest_ack` clears a vCPU's
   * upcall-pending flag and (2-level) its selector word.
   */
  private guest(d: RefDomain, step: Step): void {
    const port = step.port as number;
    switch (step.op) {
      case 'guest_mask':
        if (!d.fifo) setBit(d.mask2, port);
        else if (d.word(port) !== undefined) d.setWord(port, d.word(port)! | FIFO.MASKED);
        return;
      case 'guest_clear':
        if (!d.fifo) clearBit(d.pending2, port);
        else if (d.word(port) !== undefined) d.setWord(port, d.word(port)! & ~FIFO.PENDING);
        return;
      case 'guest_ack': {
        const v = step.vcpu as number;
        if (v >= d.cfg.vcpus) return;
        d.upcall[v] = 0;
        if (!d.fifo) d.sel.fill(0, v * 2, v * 2 + 2);
        return;
      }
      case 'guest_consume': {
        const v = step.vcpu as number;
        const prio = step.priority as number;
        if (!d.fifo || !d.cbs.has(v)) return;
        const q = v * FIFO.QUEUES + prio;
        let head = d.guestHeads[q]!;
        if (head === 0) {
          if ((d.cbWord(v, 0) & (1 << prio)) === 0) return;
          head = d.cbWord(v, 2 + prio);
        }
        const w = d.word(head);
        if (head === 0 || w === undefined) {
          d.guestHeads[q] = 0;
          return;
        }
        const next = w & FIFO.LINK_MASK;
        let nw = w & ~(FIFO.LINKED | FIFO.LINK_MASK);
        if ((w & FIFO.PENDING) !== 0 && (w & FIFO.MASKED) === 0) nw &= ~FIFO.PENDING;
        d.setWord(head, nw);
        this.stats.consumed++;
        d.guestHeads[q] = next;
        if (next === 0) d.setCbWord(v, 0, d.cbWord(v, 0) & ~(1 << prio));
        return;
      }
    }
  }

  private create(step: Step): number {
    const id = step.dom as number;
    if (this.domains.has(id)) return EEXIST;
    if (this.destroyedIds.has(id)) this.stats.domidReused++;
    this.domains.set(
      id,
      new RefDomain({
        id,
        vcpus: step.vcpus as number,
        privileged: false,
        maxEvtchnPort: step.maxEvtchnPort === undefined ? undefined : (step.maxEvtchnPort as number),
        nrPirqs: 16,
        pirqs: [],
        memPages: step.memPages as number,
      }),
    );
    return 0;
  }

  private destroy(dom: number): number {
    const d = this.domains.get(dom);
    if (!d) return ESRCH;
    d.dying = true;
    for (let p = 0; p < d.valid; p++) if (d.ports[p]!.state > S.RESERVED) this.close(d, p);
    this.raiseGlobalVirq(VIRQ_DOM_EXC);
    for (const [virq, h] of [...this.globalHandler]) if (h === dom) this.globalHandler.delete(virq);
    this.domains.delete(dom);
    this.destroyedIds.add(dom);
    this.raiseGlobalVirq(VIRQ_DOM_EXC);
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
