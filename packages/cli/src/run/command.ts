/*
 * The `evtchn run`, `validate`, `lsevtchn` and `dump` commands: load a configuration, build
 * the platform, run it on the virtual clock, and show the result.
 */
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, parseDuration, parsePlatformConfig, SnapshotError, type Hypervisor, type JsonValue, type PlatformFileConfig } from '@evtchn/core';
import { builtinAbis, readScenario } from '@evtchn/conformance';
import { replayHypercalls } from '@evtchn/conformance';
import { resolvePlugins, type PluginResolveOptions } from './plugins.js';
import { builtinOptionSchemas } from './builtin-options.js';
import { nameErrnos } from './errno-names.js';
import { RunProgress, countScheduledEvents, type ProgressMode, type ProgressStream } from '../text/progress.js';
import { Simulation, type RunReport } from '@evtchn/sim';

/** Default virtual duration of a run when neither the file nor the command line gives one. */
export const DEFAULT_RUN_DURATION = '10ms';

/** Options of {@link runConfigFile}. */
export interface RunFileOptions {
  /** Overrides `run.duration`. */
  duration?: string;
  /** Overrides `run.seed`. */
  seed?: number;
  /** Writes the event trace (JSON lines) here. */
  tracePath?: string;
  /** Progress on stderr: `true` redraws one terminal line; or a {@link ProgressMode}. */
  progress?: boolean | ProgressMode;
  /** Where progress goes (default process.stderr). */
  progressStream?: ProgressStream;
  /** What the file's `module:` references may name beyond the defaults (`--allow-*-modules`). */
  modules?: PluginResolveOptions;
  /** Keep time series in this many intervals (`sim.details().samples`, for `--report`); default none. */
  samplePoints?: number;
  /**
   * Stop at this virtual time (ns) and write the run's snapshot to {@link RunFileOptions.checkpointOut}
   * (`--checkpoint`); the report is then not made (the resumed run makes it).
   */
  checkpointNs?: number;
  /** Where the checkpoint's snapshot goes (`--checkpoint-out`). */
  checkpointOut?: string;
}

/** What {@link runConfigFile} gives back: the report, or the checkpoint written instead. */
export interface RunFileResult {
  /** The report (absent when the run stopped at a checkpoint). */
  report?: RunReport;
  /** The simulation (for inspection). */
  sim: Simulation;
  /** The checkpoint written: its file, virtual time and size in bytes. */
  checkpoint?: { file: string; atNs: number; bytes: number };
}

/** Reads and validates a configuration file. @throws ConfigError */
export function loadConfigFile(file: string): PlatformFileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  return parsePlatformConfig(text, file, { pluginOptions: builtinOptionSchemas });
}

/** A problem found while setting up a run (a bind refused, …): reported like a config error. */
export class RunSetupError extends ConfigError {}

/**
 * Writes trace lines to a file as they come, in 64 KiB chunks, so a run's memory does not grow
 * with its trace. Opened before the run starts: a bad path fails before any work is done.
 */
class TraceFile {
  private readonly fd: number;
  private chunk: string[] = [];
  private size = 0;

  /** @throws RunSetupError when the file cannot be created */
  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new RunSetupError(`--trace ${path}: cannot create the trace file: ${(e as Error).message}`);
    }
  }

  /** Appends one line. */
  write(line: string): void {
    this.chunk.push(line);
    this.size += line.length + 1;
    if (this.size >= 65536) this.flush();
  }

  /** Writes what is buffered. */
  flush(): void {
    if (this.chunk.length === 0) return;
    writeSync(this.fd, `${this.chunk.join('\n')}\n`);
    this.chunk = [];
    this.size = 0;
  }

  /** Flushes and closes the file. */
  close(): void {
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
    }
  }
}

/**
 * Loads, builds and runs a configuration file. The trace, when asked for, streams to its file.
 * @returns the report and the simulation (for inspection)
 */
export async function runConfigFile(file: string, opts: RunFileOptions & { checkpointNs: number; checkpointOut: string }): Promise<RunFileResult>;
export async function runConfigFile(file: string, opts?: RunFileOptions): Promise<{ report: RunReport; sim: Simulation }>;
export async function runConfigFile(file: string, opts: RunFileOptions = {}): Promise<RunFileResult> {
  const cfg = loadConfigFile(file);
  const baseDir = dirname(resolve(file));
  const plugins = await resolvePlugins(cfg, baseDir, opts.modules);
  const durationNs = parseDuration(opts.duration ?? cfg.run?.duration ?? DEFAULT_RUN_DURATION, opts.duration ? '--duration' : 'run.duration');
  const seed = opts.seed ?? cfg.run?.seed ?? 1;
  if (opts.checkpointNs !== undefined && !(opts.checkpointNs >= 0 && opts.checkpointNs < durationNs))
    throw new ConfigError(`--checkpoint: expected a time below the run's duration (${durationNs} ns), got ${opts.checkpointNs} ns`);
  const trace = opts.tracePath ? new TraceFile(opts.tracePath) : undefined;
  const mode: ProgressMode = opts.progress === true ? 'redraw' : opts.progress || 'off';
  const bar = mode === 'off' ? undefined : new RunProgress(opts.progressStream ?? process.stderr, mode);
  let events = (): number => 0;
  try {
    let sim: Simulation;
    try {
      sim = new Simulation(cfg, plugins, {
        durationNs,
        seed,
        trace: trace ? (line) => trace.write(line) : undefined,
        onProgress: bar ? (done, total) => bar.update(done, total, events()) : undefined,
        ...(opts.samplePoints && { samplePoints: opts.samplePoints }),
      });
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new RunSetupError(`${file}: ${nameErrnos((e as Error).message)}`);
    }
    if (bar) events = countScheduledEvents(sim.platform.clock);
    let report: RunReport;
    try {
      if (opts.checkpointNs !== undefined) {
        // A run that stopped early before its checkpoint is reported as the uninterrupted run would be.
        if (sim.runUntil(opts.checkpointNs)) {
          const saved = writeCheckpoint(sim, baseDir, opts.checkpointOut ?? '');
          return { sim, checkpoint: { ...saved, atNs: opts.checkpointNs } };
        }
      }
      report = sim.run();
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new RunSetupError(`${file}: ${nameErrnos((e as Error).message)}`);
    } finally {
      bar?.finish(durationNs, events());
    }
    return { report, sim };
  } finally {
    trace?.close();
  }
}

/**
 * Writes the snapshot of a run stopped at its checkpoint, with the configuration's folder (its
 * `module:` paths are relative to it).
 */
function writeCheckpoint(sim: Simulation, baseDir: string, out: string): { file: string; bytes: number } {
  let snap;
  try {
    snap = sim.snapshot();
  } catch (e) {
    throw new RunSetupError(`--checkpoint: this run cannot be snapshotted: ${(e as Error).message}`);
  }
  const text = `${JSON.stringify({ ...snap, configDir: baseDir })}\n`;
  try {
    writeFileSync(out, text);
  } catch (e) {
    throw new RunSetupError(`--checkpoint-out ${out}: cannot write the snapshot: ${(e as Error).message}`);
  }
  return { file: out, bytes: Buffer.byteLength(text) };
}

/** Options of {@link resumeRunFile}: the trace, progress and module policy of the resumed part. */
export type ResumeOptions = Pick<RunFileOptions, 'tracePath' | 'progress' | 'progressStream' | 'modules'>;

/**
 * Continues a run from a snapshot written by `--checkpoint-out` (`evtchn run --resume`): the
 * configuration, duration and seed come from the snapshot; the report and the trace lines are
 * those the uninterrupted run would have given from the checkpoint on.
 * @throws SnapshotError naming the JSON path of a bad field
 */
export async function resumeRunFile(file: string, opts: ResumeOptions = {}): Promise<{ report: RunReport; sim: Simulation }> {
  let doc: JsonValue;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as JsonValue;
  } catch (e) {
    throw new SnapshotError('(snapshot)', `${file}: cannot read the snapshot: ${(e as Error).message}`);
  }
  const top = (doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? doc : {}) as { config?: unknown; configDir?: unknown };
  const baseDir = typeof top.configDir === 'string' ? top.configDir : dirname(resolve(file));
  if (top.config === null || typeof top.config !== 'object') throw new SnapshotError('config', 'expected an object (the run\'s configuration)');
  let plugins;
  try {
    plugins = await resolvePlugins(top.config as PlatformFileConfig, baseDir, opts.modules);
  } catch (e) {
    throw new SnapshotError('config', (e as Error).message);
  }
  const trace = opts.tracePath ? new TraceFile(opts.tracePath) : undefined;
  const mode: ProgressMode = opts.progress === true ? 'redraw' : opts.progress || 'off';
  const bar = mode === 'off' ? undefined : new RunProgress(opts.progressStream ?? process.stderr, mode);
  let events = (): number => 0;
  let total = 0;
  try {
    const sim = Simulation.resume(doc, plugins, {
      trace: trace ? (line) => trace.write(line) : undefined,
      onProgress: bar ? (done, t) => bar.update(done, (total = t), events()) : undefined,
    });
    if (bar) events = countScheduledEvents(sim.platform.clock);
    try {
      return { report: sim.run(), sim };
    } finally {
      bar?.finish(total, events());
    }
  } finally {
    trace?.close();
  }
}

/**
 * The hypervisor state a listing command shows: a hypercall scenario replayed, or a
 * configuration run for its duration.
 */
export async function hypervisorFromFile(file: string, duration?: string): Promise<Hypervisor> {
  if (file.endsWith('.json')) {
    const sc = readScenario(file) as { format?: unknown };
    if (sc && typeof sc === 'object' && sc.format === 'evtchn-hypercall/1') return replayHypercalls(sc, builtinAbis()).hypervisor;
  }
  const { sim } = await runConfigFile(file, { duration });
  return sim.platform.hypervisor;
}
