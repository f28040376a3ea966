/*
 * `evtchn explore FILE`: replays an `evtchn-replay/1` delivery scenario, or runs a platform
 * configuration one clock instant at a time, records the state each step leaves, and writes
 * the explorer page (one self-contained HTML file).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError, parseDuration } from '@evtchn/core';
import { jsonlLines, readScenario, ScenarioError } from '@evtchn/conformance';
import { Simulation } from '@evtchn/sim';
import { ReportFile } from '../report/file.js';
import { loadConfigFile, RunSetupError } from '../run/command.js';
import { resolvePlugins, type PluginResolveOptions } from '../run/plugins.js';
import { captureReplay, type ExploreData } from './capture.js';
import { captureRun } from './capture-run.js';
import { explorerHtml } from './page.js';

/** Virtual time a configuration is explored for by default: a few hundred clock instants. */
export const DEFAULT_EXPLORE_DURATION = '200us';
/** Clock instants a run's page holds at most by default. */
export const DEFAULT_EXPLORE_MAX_STEPS = 5000;

/** How {@link exploreFile} runs a configuration (ignored for replay scenarios). */
export interface ExploreRunOptions {
  /** Virtual time to run (`200us`, `1ms`); default {@link DEFAULT_EXPLORE_DURATION}. */
  readonly duration?: string;
  /** Seed of the workloads (default: the configuration's `run.seed`, else 1). */
  readonly seed?: number;
  /** Clock instants recorded at most (default {@link DEFAULT_EXPLORE_MAX_STEPS}). */
  readonly maxSteps?: number;
  /** How `module:` plugins may be loaded (as for `run`). */
  readonly modules?: PluginResolveOptions;
}

/** The parsed scenario when `file` holds one (JSON with a `format`), else `undefined` (a platform configuration). */
function scenarioIn(file: string): { format?: unknown } | undefined {
  if (!/\.json$/i.test(file)) return undefined;
  const sc = readScenario(file) as { format?: unknown } | null;
  return sc !== null && typeof sc === 'object' && 'format' in sc ? sc : undefined;
}

/**
 * Checks `out` writable before any work, captures, then writes the page; a capture that throws
 * leaves no file behind.
 */
function writePage(out: string | undefined, capture: () => ExploreData): ExploreResult {
  const page = out === undefined ? undefined : new ReportFile(out, '--out');
  let data: ExploreData;
  try {
    data = capture();
  } catch (e) {
    page?.discard();
    throw e;
  }
  const html = explorerHtml(data);
  page?.write(html);
  return { ...(out !== undefined && { out }), html, data };
}

/** What {@link exploreFile} made. */
export interface ExploreResult {
  /** The page's path, when it was written. */
  readonly out?: string;
  /** The page. */
  readonly html: string;
  /** The captured steps. */
  readonly data: ExploreData;
}

/**
 * Writes the explorer page of a delivery scenario or of a configuration's run.
 * @param file - the scenario (`evtchn-replay/1`), or a platform configuration (YAML/JSON)
 * @param out - where the page goes (checked writable before the replay); `undefined`: not written
 * @param expectFile - an `.expected.jsonl` to show beside each step's output (scenarios only)
 * @param run - duration, seed and step limit of a configuration's run
 * @throws ScenarioError for an unreadable or malformed scenario, ConfigError for an unwritable `out`
 */
export async function exploreFile(file: string, out: string | undefined, expectFile?: string, run: ExploreRunOptions = {}): Promise<ExploreResult> {
  const scenario = scenarioIn(file);
  if (scenario === undefined) {
    if (expectFile !== undefined) throw new ConfigError('--expect compares a replay scenario\'s output; a configuration run has no expected file');
    return exploreConfig(file, out, run);
  }
  const format = scenario.format;
  if (format !== 'evtchn-replay/1')
    throw new ScenarioError(`${file}: $.format`, `the explorer steps through evtchn-replay/1 delivery scenarios, got ${JSON.stringify(format)}`);
  let expected: string[] | undefined;
  if (expectFile !== undefined) {
    try {
      expected = jsonlLines(readFileSync(expectFile, 'utf8'));
    } catch (e) {
      throw new ScenarioError(expectFile, `cannot read: ${(e as Error).message}`);
    }
  }
  return writePage(out, () => captureReplay(scenario, basename(file), expected));
}

/** The default page name for a file: `NAME.explore.html` in the current folder. */
export function defaultExploreOut(file: string): string {
  return `${basename(file).replace(/\.(json|ya?ml)$/i, '')}.explore.html`;
}

async function exploreConfig(file: string, out: string | undefined, run: ExploreRunOptions): Promise<ExploreResult> {
  const cfg = loadConfigFile(file);
  const plugins = await resolvePlugins(cfg, dirname(resolve(file)), run.modules);
  const durationNs = parseDuration(run.duration ?? DEFAULT_EXPLORE_DURATION, '--duration');
  const maxSteps = run.maxSteps ?? DEFAULT_EXPLORE_MAX_STEPS;
  let pending: string[] = [];
  return writePage(out, () => {
    let sim: Simulation;
    try {
      sim = new Simulation(cfg, plugins, { durationNs, seed: run.seed ?? cfg.run?.seed ?? 1, trace: (line) => void pending.push(line) });
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new RunSetupError(`${file}: ${(e as Error).message}`);
    }
    const drainTrace = (): string[] => {
      const lines = pending;
      pending = [];
      return lines;
    };
    return captureRun(sim, { title: basename(file), maxSteps, durationNs, drainTrace });
  });
}
