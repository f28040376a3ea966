/*
 * What `evtchn validate` checks: everything `evtchn run` would reject before its first event.
 * The file's own problems come from core's one validation pass; then the plugins are resolved
 * and the platform is built and its workloads bound (a run of 1 ns), so a bind the model
 * refuses is found too, and reported with its errno's name.
 */
import { dirname, resolve } from 'node:path';
import { ConfigError, parseDuration, type PlatformFileConfig } from '@evtchn/core';
import { DEFAULT_RUN_DURATION, RunSetupError, loadConfigFile } from './command.js';
import { nameErrnos } from './errno-names.js';
import { estimateRun, type RunEstimate } from './estimate.js';
import { resolvePlugins } from './plugins.js';
import { Simulation } from '@evtchn/sim';

/** What a configuration that passed every check amounts to. */
export interface ConfigCheck {
  /** The validated configuration. */
  cfg: PlatformFileConfig;
  /** Virtual duration of a run (`run.duration` or the default). */
  durationNs: number;
  /** Forecast of a run's size and wall time. */
  estimate: RunEstimate;
}

/**
 * Checks a configuration file as `run` would, without running it.
 * @param duration - overrides `run.duration` (for the forecast)
 * @throws ConfigError (RunSetupError for a refused set-up) with every problem of the file
 */
export async function checkConfigFile(file: string, duration?: string): Promise<ConfigCheck> {
  const cfg = loadConfigFile(file);
  const plugins = await resolvePlugins(cfg, dirname(resolve(file)));
  const durationNs = parseDuration(duration ?? cfg.run?.duration ?? DEFAULT_RUN_DURATION, duration ? '--duration' : 'run.duration');
  try {
    new Simulation(cfg, plugins, { durationNs: 1, seed: cfg.run?.seed ?? 1 }).run();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new RunSetupError(`${file}: ${nameErrnos((e as Error).message)}`);
  }
  return { cfg, durationNs, estimate: estimateRun(cfg, durationNs) };
}
