/*
 * Resolution of a configuration file's plugin references: built-in names map to this
 * repository's plugins (their options were checked with the file, see builtin-options.ts); `module:` references
 * resolve from the configuration file's folder (paths contained in it, no `data:`/`node:` URLs
 * unless allowed) and are loaded with core's `loadPlugin`.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { archArm } from '@evtchn/arch-arm';
import { archX86 } from '@evtchn/arch-x86';
import {
  ConfigError,
  dummyPolicy,
  loadPlugin,
  resolveConfigModule,
  type ConfigModule,
  type ConfigModulePolicy,
  type PlatformFileConfig,
  type Plugin,
  type PluginKind,
  type PluginRef,
} from '@evtchn/core';
import { guestLinux } from '@evtchn/guest-linux';
import type { SimulationPlugins } from '@evtchn/sim';

/** How {@link resolvePlugins} treats module references. */
export type PluginResolveOptions = ConfigModulePolicy;

async function fromModule<K extends PluginKind>(path: string, ref: PluginRef, kind: K, baseDir: string, policy: ConfigModulePolicy): Promise<Plugin<K>> {
  const resolved = resolveConfigModule(ref.module!, baseDir, policy, `${path}.module`);
  try {
    const target = resolved.exportName === undefined ? resolved.url : `${resolved.url}#${resolved.exportName}`;
    return await loadPlugin(target, kind, { options: ref.options, importer: `${baseDir}/` });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`);
    throw e;
  }
}

/**
 * Resolves every `module:` reference of a configuration without importing anything (what
 * `evtchn validate` does without `--load`).
 * @param cfg - the validated configuration
 * @param baseDir - the configuration file's folder
 * @param policy - what module references may name beyond the defaults
 * @returns each module reference with its field path and what it resolved to
 * @throws ConfigError naming the field of a refused or unresolvable reference
 */
export function resolvePluginModules(cfg: PlatformFileConfig, baseDir: string, policy: ConfigModulePolicy = {}): Array<{ path: string; kind: PluginKind; module: ConfigModule }> {
  const refs: Array<{ path: string; kind: PluginKind; ref: PluginRef }> = [];
  if (cfg.arch.module) refs.push({ path: 'arch', kind: 'arch', ref: cfg.arch });
  (cfg.abis ?? []).forEach((raw, i) => {
    const ref = refOf(raw);
    if (ref.module) refs.push({ path: `abis[${i}]`, kind: 'abi', ref });
  });
  if (cfg.guest?.module) refs.push({ path: 'guest', kind: 'guest', ref: cfg.guest });
  if (cfg.policy !== undefined && refOf(cfg.policy).module) refs.push({ path: 'policy', kind: 'policy', ref: refOf(cfg.policy) });
  return refs.map(({ path, kind, ref }) => ({ path, kind, module: resolveConfigModule(ref.module!, baseDir, policy, `${path}.module`) }));
}

function refOf(v: string | PluginRef): PluginRef {
  return typeof v === 'string' ? { name: v } : v;
}

const BUILTIN_ABIS: Record<string, () => Plugin<'abi'>> = { '2level': () => abi2Level(), fifo: () => abiFifo() };

/**
 * Checks the built-in plugin names without creating or importing anything (what `evtchn
 * validate` does besides resolving modules; their options are checked with the file).
 * @throws ConfigError naming the field of an unknown name
 */
export function checkBuiltinPlugins(cfg: PlatformFileConfig): void {
  const a = cfg.arch;
  if (!a.module) {
    const name = a.name ?? 'x86';
    if (name !== 'x86' && name !== 'arm') throw unknownArch(name);
  }
  (cfg.abis ?? []).forEach((raw, i) => {
    const ref = refOf(raw);
    if (!ref.module && !BUILTIN_ABIS[ref.name ?? '']) throw unknownAbi(i, ref.name);
  });
  const g = cfg.guest ?? {};
  if (!g.module && (g.name ?? 'linux') !== 'linux') throw unknownGuest(g.name);
  if (cfg.policy !== undefined) {
    const ref = refOf(cfg.policy);
    if (!ref.module && ref.name !== 'dummy') throw unknownPolicy(ref.name);
  }
}

const unknownArch = (name: unknown): ConfigError =>
  new ConfigError(`arch.name: unknown architecture ${JSON.stringify(name)}; built-in: x86, arm (or give arch.module)`);
const unknownAbi = (i: number, name: unknown): ConfigError =>
  new ConfigError(`abis[${i}]: unknown ABI ${JSON.stringify(name)}; built-in: 2level, fifo (or give module)`);
const unknownGuest = (name: unknown): ConfigError =>
  new ConfigError(`guest.name: unknown guest layer ${JSON.stringify(name)}; built-in: linux (or give guest.module)`);
const unknownPolicy = (name: unknown): ConfigError => new ConfigError(`policy: unknown policy ${JSON.stringify(name)}; built-in: dummy (or give module)`);

/**
 * Turns the configuration's plugin references into plugins (importing `module:` references).
 * @param baseDir - directory of the configuration file (module references resolve from it)
 * @param policy - what module references may name beyond the defaults
 * @throws ConfigError naming the configuration path of an unknown name, invalid options, or a
 *   refused or unloadable module
 */
export async function resolvePlugins(cfg: PlatformFileConfig, baseDir: string, policy: PluginResolveOptions = {}): Promise<SimulationPlugins> {
  // Refuse every bad name, option and module reference before importing any module.
  checkBuiltinPlugins(cfg);
  resolvePluginModules(cfg, baseDir, policy);
  const a = cfg.arch;
  let arch: Plugin<'arch'>;
  if (a.module) arch = await fromModule('arch', a, 'arch', baseDir, policy);
  else {
    const name = a.name ?? 'x86';
    if (name === 'x86') {
      let gsiBase = 0;
      const ioApics = a.ioApics?.map((io, id) => {
        const base = io.gsiBase ?? gsiBase;
        gsiBase = base + io.pins;
        return { id, gsiBase: base, pins: io.pins };
      });
      arch = archX86({ nrPcpus: a.pcpus ?? 2, ioApics, dynIrqPolicy: a.dynIrqPolicy, upcallMode: a.upcall, ...a.options });
    } else if (name === 'arm') {
      arch = archArm({ nrPcpus: a.pcpus ?? 2, listRegisters: a.listRegisters, vtimer: a.vtimer, ...a.options });
    } else throw unknownArch(name);
  }

  const abis: Plugin<'abi'>[] = [];
  for (const [i, raw] of (cfg.abis ?? ['2level', 'fifo']).entries()) {
    const ref = refOf(raw);
    if (ref.module) abis.push(await fromModule(`abis[${i}]`, ref, 'abi', baseDir, policy));
    else {
      const make = BUILTIN_ABIS[ref.name ?? ''];
      if (!make) throw unknownAbi(i, ref.name);
      abis.push(make());
    }
  }

  const g = cfg.guest ?? {};
  let guest: Plugin<'guest'>;
  if (g.module) guest = await fromModule('guest', g, 'guest', baseDir, policy);
  else if ((g.name ?? 'linux') === 'linux') guest = guestLinux({ fifo: g.fifo ?? true, ...g.options });
  else throw unknownGuest(g.name);

  let policyPlugin: Plugin<'policy'> | undefined;
  if (cfg.policy !== undefined) {
    const ref = refOf(cfg.policy);
    if (ref.module) policyPlugin = await fromModule('policy', ref, 'policy', baseDir, policy);
    else if (ref.name === 'dummy') policyPlugin = dummyPolicy();
    else throw unknownPolicy(ref.name);
  }
  return { arch, abis, guest, policy: policyPlugin };
}
