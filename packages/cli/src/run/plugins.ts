/*
 * Resolution of a configuration file's plugin references: built-in names map to this
 * repository's plugins; `module:` references are loaded with core's `loadPlugin`, relative
 * to the configuration file.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { archArm } from '@evtchn/arch-arm';
import { archX86 } from '@evtchn/arch-x86';
import { ConfigError, dummyPolicy, loadPlugin, type PlatformFileConfig, type Plugin, type PluginKind, type PluginRef } from '@evtchn/core';
import { guestLinux } from '@evtchn/guest-linux';
import type { SimulationPlugins } from '@evtchn/sim';

function moduleSpecifier(spec: string, baseDir: string): string {
  // Relative paths are relative to the configuration file; bare names are packages.
  if (spec.startsWith('./') || spec.startsWith('../')) return pathToFileURL(resolve(baseDir, spec)).href;
  if (isAbsolute(spec)) return pathToFileURL(spec).href;
  return spec;
}

async function fromModule(path: string, ref: PluginRef, kind: PluginKind, baseDir: string): Promise<Plugin> {
  try {
    return await loadPlugin(moduleSpecifier(ref.module!, baseDir), kind, ref.options);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`);
    throw e;
  }
}

function refOf(v: string | PluginRef): PluginRef {
  return typeof v === 'string' ? { name: v } : v;
}

const BUILTIN_ABIS: Record<string, () => Plugin> = { '2level': () => abi2Level(), fifo: () => abiFifo() };

/**
 * Turns the configuration's plugin references into plugins.
 * @param baseDir - directory of the configuration file (for relative module specifiers)
 * @throws ConfigError naming the configuration path of an unknown name or unloadable module
 */
export async function resolvePlugins(cfg: PlatformFileConfig, baseDir: string): Promise<SimulationPlugins> {
  const a = cfg.arch;
  let arch: Plugin;
  if (a.module) arch = await fromModule('arch', a, 'arch', baseDir);
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
    } else throw new ConfigError(`arch.name: unknown architecture ${JSON.stringify(name)}; built-in: x86, arm (or give arch.module)`);
  }

  const abis: Plugin[] = [];
  for (const [i, raw] of (cfg.abis ?? ['2level', 'fifo']).entries()) {
    const ref = refOf(raw);
    if (ref.module) abis.push(await fromModule(`abis[${i}]`, ref, 'abi', baseDir));
    else {
      const make = BUILTIN_ABIS[ref.name ?? ''];
      if (!make) throw new ConfigError(`abis[${i}]: unknown ABI ${JSON.stringify(ref.name)}; built-in: 2level, fifo (or give module)`);
      abis.push(make());
    }
  }

  const g = cfg.guest ?? {};
  let guest: Plugin;
  if (g.module) guest = await fromModule('guest', g, 'guest', baseDir);
  else if ((g.name ?? 'linux') === 'linux') guest = guestLinux({ fifo: g.fifo ?? true, ...g.options });
  else throw new ConfigError(`guest.name: unknown guest layer ${JSON.stringify(g.name)}; built-in: linux (or give guest.module)`);

  let policy: Plugin | undefined;
  if (cfg.policy !== undefined) {
    const ref = refOf(cfg.policy);
    if (ref.module) policy = await fromModule('policy', ref, 'policy', baseDir);
    else if (ref.name === 'dummy') policy = dummyPolicy();
    else throw new ConfigError(`policy: unknown policy ${JSON.stringify(ref.name)}; built-in: dummy (or give module)`);
  }
  return { arch, abis, guest, policy };
}
