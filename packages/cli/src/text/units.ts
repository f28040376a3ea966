/*
 * Units a reader takes in at a glance: a time in the largest unit that keeps it at least 1,
 * with three significant digits and no trailing zeros (`20 ms`, `12.3 us`, `850 ns`).
 */

const STEPS: ReadonlyArray<readonly [number, string]> = [
  [1e9, 's'],
  [1e6, 'ms'],
  [1e3, 'us'],
];

/** Three significant digits, trailing zeros dropped: 20 → `20`, 12.34 → `12.3`, 1.5 → `1.5`. */
function significant(v: number): string {
  if (v >= 100) return String(Math.round(v));
  const digits = v >= 10 ? 1 : 2;
  return v.toFixed(digits).replace(/\.?0+$/, '');
}

/**
 * Formats a duration given in nanoseconds: `20 ms`, `12.3 us`, `850 ns`, `1.5 s`.
 * Values of 1000 s and more stay in seconds.
 */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const sign = ns < 0 ? '-' : '';
  const abs = Math.abs(ns);
  let unit = 'ns';
  let v = abs;
  for (const [scale, name] of STEPS) {
    if (abs >= scale) {
      unit = name;
      v = abs / scale;
      break;
    }
  }
  // 999.6 us would print as 1000 us: say 1 ms instead.
  if (unit !== 's' && Math.round(v) >= 1000) return `${sign}1 ${STEPS[STEPS.findIndex(([, n]) => n === unit) - 1]?.[1] ?? 'us'}`;
  return `${sign}${significant(v)} ${unit}`;
}

/** Formats a wall-clock time in seconds for progress lines: `42s`, `3m05s`, `2h07m`. */
export function formatWallTime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Formats a rate with an SI prefix: `850 events/s`, `12.3k events/s`, `1.5M events/s`. */
export function formatRate(perSecond: number, what = 'events'): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return `? ${what}/s`;
  if (perSecond >= 1e6) return `${significant(perSecond / 1e6)}M ${what}/s`;
  if (perSecond >= 1e3) return `${significant(perSecond / 1e3)}k ${what}/s`;
  return `${Math.round(perSecond)} ${what}/s`;
}
