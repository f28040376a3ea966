/* Timing, heap and GC helpers shared by the suites. */
import { PerformanceObserver, performance } from 'node:perf_hooks';

/** Seconds since an arbitrary origin (high resolution). */
export function seconds() {
  return performance.now() / 1000;
}

/** CPU seconds (user + system) this process has used: robust against other load on the machine. */
export function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Runs a full garbage collection (needs `node --expose-gc`); a few passes settle weak refs. */
export function fullGc() {
  if (typeof globalThis.gc !== 'function') throw new Error('bench: run node with --expose-gc');
  for (let i = 0; i < 3; i++) globalThis.gc();
}

/**
 * Live memory after a full GC: the JS heap plus ArrayBuffer backing stores (typed arrays larger
 * than a few words live outside the JS heap, so heapUsed alone would miss the tables).
 */
export function liveBytes() {
  fullGc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Counts garbage collections by kind while `fn` runs (entries arrive asynchronously). */
export async function countGcs(fn) {
  const counts = { minor: 0, major: 0, other: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = e.detail?.kind ?? e.kind;
      if (kind === 1) counts.minor++;
      else if (kind === 2) counts.major++;
      else counts.other++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const result = fn();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return { result, counts };
}

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Percentile (nearest rank) of numbers. */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
