/*
 * One run of a sweep, built only on the public `runConfigFile`: the configuration with the
 * run's parameters applied is written to a temporary file (plugin module paths made absolute)
 * and run with the run's seed.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { parseDocument } from 'yaml';
import { ConfigError } from '@evtchn/core';
import { runConfigFile } from '../index.js';
import { reportMetrics } from './metrics.js';
import type { StudyRun } from './study.js';

/** A row of a sweep's table: the run, its parameters and seed, and every metric. */
export type SweepRow = Record<string, string | number | boolean | null>;

/** `workloads[2].rate` → `['workloads', 2, 'rate']`. */
function segments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new ConfigError(`parameters: ${JSON.stringify(path)} is not a field path like workloads[2].rate`);
    out.push(m[1]!);
    for (const i of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(i[1]));
  }
  return out;
}

function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const segs = segments(path);
  let o: Record<string | number, unknown> = root;
  segs.slice(0, -1).forEach((seg, i) => {
    if (o[seg] === undefined || o[seg] === null || typeof o[seg] !== 'object') o[seg] = typeof segs[i + 1] === 'number' ? [] : {};
    o = o[seg] as Record<string | number, unknown>;
  });
  o[segs[segs.length - 1]!] = value;
}

function absolutizeModules(cfg: Record<string, unknown>, baseDir: string): void {
  const fix = (ref: unknown): void => {
    if (ref && typeof ref === 'object' && typeof (ref as { module?: unknown }).module === 'string') {
      const r = ref as { module: string };
      if (r.module.startsWith('./') || r.module.startsWith('../')) r.module = resolve(baseDir, r.module);
    }
  };
  fix(cfg.arch);
  fix(cfg.guest);
  fix(cfg.policy);
  if (Array.isArray(cfg.abis)) cfg.abis.forEach(fix);
}

/** The fixed columns of a row, before the parameters and the metrics. */
export function rowHead(run: StudyRun, runs: number): SweepRow {
  const row: SweepRow = { run: run.index, runs, config: run.config, seed: run.seed };
  for (const [k, v] of Object.entries(run.params)) row[`param.${k}`] = typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
  return row;
}

/** Runs one run of a study. @returns its row */
export async function runOne(run: StudyRun, runs: number): Promise<SweepRow> {
  const what = `${run.config}${Object.keys(run.params).length ? ` with ${JSON.stringify(run.params)}` : ''}`;
  let text: string;
  try {
    text = readFileSync(run.configPath, 'utf8');
  } catch (e) {
    throw new ConfigError(`${run.config}: cannot read: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { merge: true, uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(`${run.config}: ${doc.errors[0]!.message.split('\n')[0]}`);
  const cfg = doc.toJS() as Record<string, unknown>;
  if (!cfg || typeof cfg !== 'object') throw new ConfigError(`${run.config}: not a configuration`);
  for (const [k, v] of Object.entries(run.params)) setPath(cfg, k, v);
  absolutizeModules(cfg, dirname(run.configPath));
  const tmp = join(tmpdir(), `evtchn-sweep-${process.pid}-${threadId}-${run.index}.json`);
  writeFileSync(tmp, JSON.stringify(cfg));
  try {
    const { report } = await runConfigFile(tmp, { seed: run.seed, duration: run.duration });
    return { ...rowHead(run, runs), ...reportMetrics(report) };
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${what}, seed ${run.seed}: ${e.message.split(tmp).join('config')}`);
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}
