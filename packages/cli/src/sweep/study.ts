/*
 * A study: which configurations to run, over which parameter grid and which seeds. The grid
 * is expanded into a list of runs in a fixed order, so that a shard (`--shard I/N`) is a
 * fixed subset and merged shards give the same table as one unsharded sweep.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, parseDuration } from '@evtchn/core';

/** A study file (YAML or JSON). */
export interface StudyFile {
  /** What the study asks. */
  name?: string;
  /** Platform configuration files, relative to the study file. */
  configs: string[];
  /** The parameter grid: a configuration field path (`abis`, `guest.fifo`, `workloads[2].rate`) → the values to try. */
  parameters?: Record<string, unknown[]>;
  /** Seeds: a list, or `{ from, count }` (from defaults to 1). */
  seeds: number[] | { from?: number; count: number };
  /** Overrides every configuration's `run.duration`. */
  duration?: string;
  /** Metrics the comparison shows (default: every `latency.*.p99` and the `total.*` counts). */
  compare?: string[];
}

/** One run of a study. */
export interface StudyRun {
  /** Position in the full grid, from 0. */
  index: number;
  /** The configuration as the study names it. */
  config: string;
  /** Its absolute path. */
  configPath: string;
  /** The parameter values of this run, by field path. */
  params: Record<string, unknown>;
  /** Seed of the arrival times. */
  seed: number;
  /** Virtual duration override, if the study gives one. */
  duration?: string;
}

/** A loaded study and its expanded grid. */
export interface Study {
  /** The study file. */
  file: string;
  /** Its content. */
  spec: StudyFile;
  /** Every run, in grid order (configs, then parameters in the order given, then seeds). */
  runs: StudyRun[];
}

function fail(file: string, message: string): never {
  throw new ConfigError(`${file}: ${message}`);
}

/** Reads and expands a study file. @throws ConfigError naming what is wrong */
export function loadStudy(file: string): Study {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(file, `cannot read: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { uniqueKeys: true, merge: true });
  if (doc.errors.length) fail(file, `syntax error: ${doc.errors[0]!.message.split('\n')[0]}`);
  const spec = doc.toJS() as StudyFile;
  if (!spec || typeof spec !== 'object') fail(file, 'expected a map with configs, parameters and seeds');
  const known = new Set(['name', 'configs', 'parameters', 'seeds', 'duration', 'compare']);
  for (const k of Object.keys(spec)) if (!known.has(k)) fail(file, `unknown key ${JSON.stringify(k)}; allowed: ${[...known].join(', ')}`);
  if (!Array.isArray(spec.configs) || spec.configs.length === 0 || !spec.configs.every((c) => typeof c === 'string'))
    fail(file, 'configs: give a list of configuration files');
  const params = spec.parameters ?? {};
  if (typeof params !== 'object' || Array.isArray(params)) fail(file, 'parameters: give a map of field path → list of values');
  for (const [k, v] of Object.entries(params)) if (!Array.isArray(v) || v.length === 0) fail(file, `parameters.${k}: give a non-empty list of values`);
  let seeds: number[];
  const s = spec.seeds;
  if (Array.isArray(s)) seeds = s;
  else if (s && typeof s === 'object' && Number.isInteger(s.count) && s.count > 0) seeds = Array.from({ length: s.count }, (_, i) => (s.from ?? 1) + i);
  else fail(file, 'seeds: give a list of seeds or { from, count }');
  if (!seeds.every((s) => Number.isInteger(s) && s >= 0 && s <= 0xffffffff)) fail(file, 'seeds: each seed is an integer 0..4294967295');
  if (spec.duration !== undefined) parseDuration(spec.duration, `${file}: duration`);

  const base = dirname(resolve(file));
  const grid: Record<string, unknown>[] = Object.entries(params).reduce<Record<string, unknown>[]>(
    (acc, [k, values]) => acc.flatMap((p) => values.map((v) => ({ ...p, [k]: v }))),
    [{}],
  );
  const runs: StudyRun[] = [];
  for (const config of spec.configs)
    for (const p of grid)
      for (const seed of seeds) {
        const run: StudyRun = { index: runs.length, config, configPath: resolve(base, config), params: p, seed };
        if (spec.duration !== undefined) run.duration = spec.duration;
        runs.push(run);
      }
  return { file, spec, runs };
}

/**
 * Parses `--shard I/N` (1 ≤ I ≤ N).
 * @returns the shard's number from 1 and the shard count
 */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(text);
  if (!m || Number(m[1]) > Number(m[2])) throw new ConfigError(`--shard: expected I/N with 1 <= I <= N, got ${JSON.stringify(text)}`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** The runs of shard `index` of `count`: every `count`-th run, so shards get similar work. */
export function shardRuns(runs: readonly StudyRun[], index: number, count: number): StudyRun[] {
  return runs.filter((r) => r.index % count === index - 1);
}
