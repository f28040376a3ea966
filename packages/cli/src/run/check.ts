/*
 * What `evtchn validate` checks: everything `evtchn run` would reject before its first event.
 * The file's own problems come from core's one validation pass; then the plugins are resolved
 * and the platform is built and its workloads bound (a run of 1 ns), so a bind the model
 * refuses is found too, and reported with its errno's name.
 *
 * Code a configuration names is never run unless asked: `module:` references are resolved (found,
 * contained in the file's folder, no data:/node: URLs unless allowed) but not imported, and then
 * the platform is not built; with `load` they are imported, each plugin's registration is
 * checked against its contract, and the platform is built as above.
 */
import { dirname, resolve } from 'node:path';
import { ConfigError, parseDuration, type PlatformFileConfig } from '@evtchn/core';
import { DEFAULT_RUN_DURATION, RunSetupError, loadConfigFile } from './command.js';
import { nameErrnos } from './errno-names.js';
import { estimateRun, type RunEstimate } from './estimate.js';
import { checkPluginRegistration } from '@evtchn/core';
import { checkBuiltinPlugins, resolvePluginModules, resolvePlugins, type PluginResolveOptions } from './plugins.js';
import { Simulation } from '@evtchn/sim';

/** What a configuration that passed every check amounts to. */
export interface ConfigCheck {
  /** The validated configuration. */
  cfg: PlatformFileConfig;
  /** Virtual duration of a run (`run.duration` or the default). */
  durationNs: number;
  /** Forecast of a run's size and wall time. */
  estimate: RunEstimate;
  /** What was done with the module plugins (resolved only, or loaded and checked), one line each. */
  notes: string[];
}

/** Options of {@link checkConfigFile}. */
export interface CheckOptions extends PluginResolveOptions {
  /** Import the module plugins, check what they register and build the platform (runs their code). */
  readonly load?: boolean;
}

/**
 * Checks a configuration file as `run` would, without running it.
 * @param duration - overrides `run.duration` (for the forecast)
 * @throws ConfigError (RunSetupError for a refused set-up) with every problem of the file
 */
export async function checkConfigFile(file: string, duration?: string, options: CheckOptions = {}): Promise<ConfigCheck> {
  const cfg = loadConfigFile(file);
  const dir = dirname(resolve(file));
  const durationNs = parseDuration(duration ?? cfg.run?.duration ?? DEFAULT_RUN_DURATION, duration ? '--duration' : 'run.duration');
  checkBuiltinPlugins(cfg);
  const modules = resolvePluginModules(cfg, dir, options);
  const notes: string[] = [];
  if (modules.length > 0 && !options.load) {
    for (const m of modules) notes.push(`${m.path}.module: ${m.module.specifier} -> ${m.module.path ?? m.module.url} (resolved, not loaded)`);
    notes.push('module plugins were not imported and the platform was not built; add --load to import them and check what they register (runs their code)');
    return { cfg, durationNs, estimate: estimateRun(cfg, durationNs), notes };
  }
  const plugins = await resolvePlugins(cfg, dir, options);
  if (modules.length > 0) {
    const all: Array<[string, unknown, 'arch' | 'abi' | 'guest' | 'policy']> = [
      ['arch', plugins.arch, 'arch'],
      ...plugins.abis.map((p, i): [string, unknown, 'abi'] => [`abis[${i}]`, p, 'abi']),
      ['guest', plugins.guest, 'guest'],
    ];
    if (plugins.policy) all.push(['policy', plugins.policy, 'policy']);
    for (const [key, plugin, kind] of all) checkPluginRegistration(plugin, kind, key);
    notes.push(`loaded ${modules.length} module(s) and ran the registration checks of ${all.length} plugin(s) (plugin code was executed)`);
  }
  try {
    new Simulation(cfg, plugins, { durationNs: 1, seed: cfg.run?.seed ?? 1 }).run();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new RunSetupError(`${file}: ${nameErrnos((e as Error).message)}`);
  }
  return { cfg, durationNs, estimate: estimateRun(cfg, durationNs), notes };
}
