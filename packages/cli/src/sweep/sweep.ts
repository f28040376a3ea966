/*
 * Runs a study's grid on worker threads (tinypool: small, no dependencies, what vitest grew
 * up on) and writes its table; `--shard I/N` runs every N-th run only, and the shards'
 * tables merge into the full one.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import Tinypool from 'tinypool';
import { ConfigError } from '@evtchn/core';
import { formatTable } from '../text/table.js';
import { formatDuration, formatWallTime } from '../text/units.js';
import type { ProgressMode, ProgressStream } from '../text/progress.js';
import { isTimeMetric } from './metrics.js';
import { runOne, type SweepRow } from './run-one.js';
import { shardRuns, type Study, type StudyRun } from './study.js';
import { fromJsonLines, mergeRows, summarise, toCsv, toJsonLines, type GroupSummary } from './table.js';
import type { WorkerResult } from './worker.js';

/** Options of {@link runSweep}. */
export interface SweepOptions {
  /** Worker threads (default: the machine's parallelism, at most the number of runs); 1 runs in this thread. */
  jobs?: number;
  /** Run only this shard (1-based index of count). */
  shard?: { index: number; count: number };
  /** Progress on stderr. */
  progress?: { mode: ProgressMode; stream: ProgressStream };
}

/** Runs a study (or one shard of it). @returns the rows, in run order */
export async function runSweep(study: Study, opts: SweepOptions = {}): Promise<SweepRow[]> {
  const runs: StudyRun[] = opts.shard ? shardRuns(study.runs, opts.shard.index, opts.shard.count) : study.runs;
  const total = study.runs.length;
  const jobs = Math.max(1, Math.min(opts.jobs ?? availableParallelism(), runs.length || 1));
  const start = performance.now();
  let done = 0;
  let last = -Infinity;
  const tick = (): void => {
    done++;
    const p = opts.progress;
    if (!p || p.mode === 'off') return;
    const now = performance.now();
    if (done < runs.length && now - last < (p.mode === 'lines' ? 5000 : 200)) return;
    last = now;
    const secs = (now - start) / 1000;
    const text = `sweep: ${done}/${runs.length} runs, ${formatWallTime(secs)} so far, ETA ${formatWallTime((secs / done) * (runs.length - done))}`;
    p.stream.write(p.mode === 'redraw' ? `\r${text}${done === runs.length ? '\n' : ''}` : `${text}\n`);
  };
  const rows: SweepRow[] = [];
  if (jobs === 1) {
    for (const run of runs) {
      rows.push(await runOne(run, total));
      tick();
    }
    return rows;
  }
  // The worker is always the built one (dist/), also when this module runs from src/ in tests.
  const pool = new Tinypool({ filename: new URL('../../dist/sweep/worker.js', import.meta.url).href, maxThreads: jobs, minThreads: 1 });
  try {
    const results = await Promise.all(
      runs.map(async (run) => {
        const res = (await pool.run({ run, runs: total })) as WorkerResult;
        tick();
        if ('error' in res) throw res.configError ? new ConfigError(res.error) : new Error(res.error);
        return res.row;
      }),
    );
    return results;
  } finally {
    await pool.destroy();
  }
}

/** Where a sweep's files go. */
export interface SweepFiles {
  /** The rows as JSON lines. */
  jsonl: string;
  /** The rows as CSV. */
  csv: string;
  /** The comparison (full sweeps and merges only). */
  summary?: string;
}

/**
 * Writes a sweep's (or a shard's) rows: `runs.jsonl` and `runs.csv` with the comparison
 * `summary.json`, or `shard-I-of-N.jsonl` and `.csv` for a shard.
 */
export function writeSweep(dir: string, rows: readonly SweepRow[], shard?: { index: number; count: number }): SweepFiles {
  mkdirSync(dir, { recursive: true });
  const stem = shard ? `shard-${shard.index}-of-${shard.count}` : 'runs';
  const files: SweepFiles = { jsonl: join(dir, `${stem}.jsonl`), csv: join(dir, `${stem}.csv`) };
  writeFileSync(files.jsonl, toJsonLines(rows));
  writeFileSync(files.csv, toCsv(rows));
  if (!shard) {
    files.summary = join(dir, 'summary.json');
    writeFileSync(files.summary, `${JSON.stringify(summarise(rows), null, 2)}\n`);
  }
  return files;
}

/** Reads the shards of a folder (`shard-*.jsonl`) or the given `.jsonl` files and merges them. */
export function readShards(paths: readonly string[]): SweepRow[] {
  const files = paths.flatMap((p) => {
    if (p.endsWith('.jsonl')) return [p];
    let names: string[];
    try {
      names = readdirSync(p);
    } catch (e) {
      throw new ConfigError(`${p}: cannot list: ${(e as Error).message}`);
    }
    const shards = names.filter((n) => /^shard-\d+-of-\d+\.jsonl$/.test(n)).sort();
    if (!shards.length) throw new ConfigError(`${p}: no shard-I-of-N.jsonl files here`);
    return shards.map((n) => join(p, n));
  });
  return mergeRows(files.map((f) => ({ source: f, rows: fromJsonLines(readFileSync(f, 'utf8'), f) })));
}

/** The metrics a comparison shows by default: every p99 latency and the totals. */
export function defaultCompare(groups: readonly GroupSummary[]): string[] {
  const names = new Set<string>();
  for (const g of groups) for (const k of Object.keys(g.metrics)) if (/^latency\..*\.p99$/.test(k) || /^total\.(delivered|coalesced|dropped)$/.test(k)) names.add(k);
  return [...names];
}

/** The comparison as text: one row per group, per metric the median and its 95 % interval. */
export function formatComparison(groups: readonly GroupSummary[], compare: readonly string[]): string {
  const show = (m: string, v: number): string => (isTimeMetric(m) ? formatDuration(v) : String(Math.round(v * 100) / 100));
  const paramNames = [...new Set(groups.flatMap((g) => Object.keys(g.params)))];
  const rows = groups.map((g) => [
    g.config,
    ...paramNames.map((p) => (g.params[p] === undefined ? '-' : String(g.params[p]))),
    ...compare.map((m) => {
      const s = g.metrics[m];
      return s ? `${show(m, s.median)} [${show(m, s.low)}, ${show(m, s.high)}]` : '-';
    }),
  ]);
  const n = groups[0] ? Math.max(...Object.values(groups[0].metrics).map((s) => s.n)) : 0;
  return (
    `median across ${n} seed(s) [95 % interval of the median]\n` +
    formatTable(
      [{ header: 'config', align: 'left' }, ...paramNames.map((p) => ({ header: p, align: 'left' as const })), ...compare.map((m) => ({ header: m, align: 'right' as const }))],
      rows,
    )
  );
}
