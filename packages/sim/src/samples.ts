/*
 * Time series of a run, for plots: the run's duration is cut into a fixed number of equal
 * intervals and each series keeps one number per interval, so the memory is the same for a
 * 1 ms run and a 10 s one. Sampling adds no event to the clock (the run is advanced to each
 * interval's end with `runUntil`, which does not change what runs when), so a sampled run is
 * the same run as an unsampled one.
 */

/** Interrupt time of one vCPU in each interval of a run (ns). */
export interface VcpuInterruptSeries {
  /** Domain id. */
  domain: number;
  /** Domain name. */
  name: string;
  /** vCPU id. */
  vcpu: number;
  /** Interrupt-handling time charged to the vCPU in each interval (ns). */
  interruptNs: number[];
}

/**
 * The peak number of ports of one domain that were waiting for their handler (notified, handler
 * not run yet) in each interval. On FIFO one series per priority: the depth of that priority's
 * queues. On 2-level also the number of selector words (the `evtchn_pending_sel` bits) that had a
 * waiting port.
 */
export interface WaitingSeries {
  /** Domain id. */
  domain: number;
  /** Domain name. */
  name: string;
  /** `'ports'`: every waiting port; `'priority'`: those of one FIFO priority; `'words'`: 2-level selector words with a waiting port. */
  kind: 'ports' | 'priority' | 'words';
  /** The FIFO priority, for kind `'priority'`. */
  priority?: number;
  /** Peak count in each interval. */
  peak: number[];
}

/** The sampled time series of a run. */
export interface RunSamples {
  /** End of each interval (ns); the intervals are equal and start at 0. */
  times: number[];
  /** Interrupt time per vCPU. */
  vcpus: VcpuInterruptSeries[];
  /** Waiting ports (queue depth) per domain. */
  waiting: WaitingSeries[];
}

/** A domain the sampler follows. */
export interface SampledDomain {
  /** Domain id. */
  id: number;
  /** Display name. */
  name: string;
  /** vCPUs. */
  nrVcpus: number;
  /** Bits per 2-level selector word (the guest's word size). */
  wordBits: number;
}

interface Level {
  readonly series: WaitingSeries;
  current: number;
}

interface DomainWaiting {
  readonly all: Level;
  readonly byPriority: Map<number, Level>;
  readonly words: Level;
  /** Waiting ports of each selector word. */
  readonly perWord: Map<number, number>;
  /** The group each waiting port was counted in (its priority may change while it waits). */
  readonly ports: Map<number, number | '-'>;
}

/** Collects a run's {@link RunSamples}. */
export class RunSampler {
  /** End of each interval (ns). */
  readonly times: number[];
  private readonly vcpus: VcpuInterruptSeries[] = [];
  private readonly lastInterrupt: number[] = [];
  private readonly waiting = new Map<number, DomainWaiting>();
  private next = 0;

  /**
   * @param points - number of intervals (at least 1)
   * @param durationNs - the run's virtual duration
   * @param domains - the domains to follow
   * @param interruptNs - a vCPU's total interrupt time so far
   */
  constructor(
    points: number,
    private readonly durationNs: number,
    private readonly domains: readonly SampledDomain[],
    private readonly interruptNs: (domain: number, vcpu: number) => number,
  ) {
    const n = Math.max(1, Math.floor(points));
    this.times = Array.from({ length: n }, (_, k) => Math.round(((k + 1) * durationNs) / n));
    for (const d of domains)
      for (let v = 0; v < d.nrVcpus; v++) {
        this.vcpus.push({ domain: d.id, name: d.name, vcpu: v, interruptNs: new Array<number>(n).fill(0) });
        this.lastInterrupt.push(0);
      }
  }

  private interval(t: number): number {
    const n = this.times.length;
    if (!(this.durationNs > 0)) return n - 1;
    return Math.min(n - 1, Math.max(0, Math.floor((t * n) / this.durationNs)));
  }

  private level(d: SampledDomain, kind: WaitingSeries['kind'], priority?: number): Level {
    const series: WaitingSeries = { domain: d.id, name: d.name, kind, ...(priority !== undefined && { priority }), peak: new Array<number>(this.times.length).fill(0) };
    return { series, current: 0 };
  }

  private domainWaiting(dom: number): DomainWaiting | undefined {
    let w = this.waiting.get(dom);
    if (w) return w;
    const d = this.domains.find((x) => x.id === dom);
    if (!d) return undefined;
    w = { all: this.level(d, 'ports'), byPriority: new Map(), words: this.level(d, 'words'), perWord: new Map(), ports: new Map() };
    this.waiting.set(dom, w);
    return w;
  }

  private bump(l: Level, by: number, at: number): void {
    l.current += by;
    const p = l.series.peak;
    if (l.current > p[at]!) p[at] = l.current;
  }

  /**
   * A port of `dom` started waiting for its handler at `t`.
   * @param priority - its FIFO priority, or `'-'` on 2-level
   */
  portWaiting(dom: number, port: number, priority: number | '-', t: number): void {
    const w = this.domainWaiting(dom);
    if (!w || w.ports.has(port)) return;
    const at = this.interval(t);
    w.ports.set(port, priority);
    this.bump(w.all, 1, at);
    if (priority === '-') {
      const word = Math.floor(port / this.domains.find((d) => d.id === dom)!.wordBits);
      const n = w.perWord.get(word) ?? 0;
      w.perWord.set(word, n + 1);
      if (n === 0) this.bump(w.words, 1, at);
    } else {
      let l = w.byPriority.get(priority);
      if (!l) w.byPriority.set(priority, (l = this.level(this.domains.find((d) => d.id === dom)!, 'priority', priority)));
      this.bump(l, 1, at);
    }
  }

  /** A waiting port of `dom` had its handler run at `t`. */
  portHandled(dom: number, port: number, t: number): void {
    const w = this.waiting.get(dom);
    const priority = w?.ports.get(port);
    if (!w || priority === undefined) return;
    const at = this.interval(t);
    w.ports.delete(port);
    this.bump(w.all, -1, at);
    if (priority === '-') {
      const word = Math.floor(port / this.domains.find((d) => d.id === dom)!.wordBits);
      const n = w.perWord.get(word)! - 1;
      if (n === 0) {
        w.perWord.delete(word);
        this.bump(w.words, -1, at);
      } else w.perWord.set(word, n);
    } else this.bump(w.byPriority.get(priority)!, -1, at);
  }

  /**
   * Closes the intervals that end at or before `t`: reads each vCPU's interrupt time and
   * carries the waiting counts into the next interval. Called at each of {@link times}.
   */
  sample(t: number): void {
    while (this.next < this.times.length && this.times[this.next]! <= t) {
      const k = this.next++;
      this.vcpus.forEach((s, i) => {
        const total = this.interruptNs(s.domain, s.vcpu);
        s.interruptNs[k] = total - this.lastInterrupt[i]!;
        this.lastInterrupt[i] = total;
      });
      if (k + 1 < this.times.length)
        for (const w of this.waiting.values())
          for (const l of [w.all, w.words, ...w.byPriority.values()]) if (l.current > l.series.peak[k + 1]!) l.series.peak[k + 1] = l.current;
    }
  }

  /** The series collected so far (a run that stopped early has zeros after its stop). */
  result(): RunSamples {
    const waiting: WaitingSeries[] = [];
    for (const w of [...this.waiting.entries()].sort(([a], [b]) => a - b).map(([, w]) => w)) {
      waiting.push(w.all.series);
      for (const [, l] of [...w.byPriority.entries()].sort(([a], [b]) => a - b)) waiting.push(l.series);
      if (w.perWord.size > 0 || w.words.series.peak.some((p) => p > 0)) waiting.push(w.words.series);
    }
    return { times: [...this.times], vcpus: this.vcpus.map((s) => ({ ...s, interruptNs: [...s.interruptNs] })), waiting };
  }
}
