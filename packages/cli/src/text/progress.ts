/*
 * Progress of a run on stderr: virtual time done, simulation events per wall second and the
 * time left. On a terminal one line is redrawn with a carriage return; it never hides the
 * cursor or turns line wrap off, so an interrupted run (Ctrl-C) leaves the terminal as it was.
 * Off a terminal (or on a dumb one asked for progress) it prints a plain line now and then.
 */
import { formatDuration, formatRate, formatWallTime } from './units.js';

/** Where progress goes (process.stderr, or a fake in tests). */
export interface ProgressStream {
  /** Writes text. */
  write(text: string): unknown;
  /** True on a terminal. */
  isTTY?: boolean;
  /** Terminal width. */
  columns?: number;
}

/** How progress is shown: redrawn on one terminal line, as separate lines, or not at all. */
export type ProgressMode = 'redraw' | 'lines' | 'off';

/**
 * Picks how to show progress.
 * @param flag - `--progress` (true), `--no-progress` (false) or neither (undefined: only on a terminal)
 * @param env - the environment (`TERM=dumb` terminals get plain lines)
 */
export function progressMode(flag: boolean | undefined, stream: ProgressStream, env: NodeJS.ProcessEnv): ProgressMode {
  if (flag === false) return 'off';
  const tty = stream.isTTY === true;
  if (flag === undefined && !tty) return 'off';
  if (!tty || env.TERM === 'dumb') return 'lines';
  return 'redraw';
}

/** Draws the progress of one run. */
export class RunProgress {
  private readonly start: number;
  private lastDraw = -Infinity;
  private drawn = 0;
  private done = false;

  /**
   * @param mode - from {@link progressMode}
   * @param now - wall clock in ms (injectable for tests)
   * @param minIntervalMs - least time between two drawings (lines mode: between two lines)
   */
  constructor(
    private readonly stream: ProgressStream,
    private readonly mode: ProgressMode,
    private readonly now: () => number = () => performance.now(),
    private readonly minIntervalMs = mode === 'lines' ? 5000 : 100,
  ) {
    this.start = now();
  }

  /**
   * Notes how far the run is.
   * @param doneNs - virtual time done
   * @param totalNs - virtual time of the whole run
   * @param events - simulation events handled so far
   */
  update(doneNs: number, totalNs: number, events: number): void {
    if (this.mode === 'off' || this.done) return;
    const t = this.now();
    if (t - this.lastDraw < this.minIntervalMs) return;
    this.lastDraw = t;
    this.draw(this.describe(doneNs, totalNs, events, t));
  }

  /** Ends the progress: clears the redrawn line, or prints a last line off a terminal. */
  finish(totalNs: number, events: number): void {
    if (this.mode === 'off' || this.done) return;
    this.done = true;
    if (this.mode === 'redraw') {
      if (this.drawn) this.stream.write(`\r${' '.repeat(this.drawn)}\r`);
    } else {
      const secs = (this.now() - this.start) / 1000;
      this.stream.write(`run: ${formatDuration(totalNs)} of virtual time done in ${formatWallTime(secs)}, ${events} events, ${formatRate(events / Math.max(secs, 1e-3))}\n`);
    }
  }

  private describe(doneNs: number, totalNs: number, events: number, t: number): string {
    const secs = (t - this.start) / 1000;
    const frac = totalNs > 0 ? Math.min(1, doneNs / totalNs) : 1;
    const eta = frac > 0 ? (secs * (1 - frac)) / frac : Number.NaN;
    const rate = secs > 0 ? events / secs : Number.NaN;
    return `run: ${String(Math.floor(frac * 100)).padStart(3)}%  ${formatDuration(doneNs)} of ${formatDuration(totalNs)} virtual  ${formatRate(rate)}  ETA ${formatWallTime(eta)}`;
  }

  private draw(text: string): void {
    if (this.mode === 'lines') {
      this.stream.write(`${text}\n`);
      return;
    }
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const line = text.length > width ? text.slice(0, width) : text;
    // Pad over the previous, possibly longer, line instead of an erase escape.
    this.stream.write(`\r${line.padEnd(this.drawn)}`);
    this.drawn = Math.max(this.drawn, line.length);
  }
}

/**
 * Counts the events a clock schedules (each one a callback the simulation runs), without
 * slowing it: the clock's `at` is wrapped on this instance only.
 * @returns a function giving the count so far
 */
export function countScheduledEvents(clock: { at(at: number, fn: () => void): unknown }): () => number {
  let n = 0;
  const at = clock.at.bind(clock);
  clock.at = (when: number, fn: () => void) => {
    n++;
    return at(when, fn);
  };
  return () => n;
}
