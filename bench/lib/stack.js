/*
 * Loads the built workspace packages for the benchmarks. The bench directory is not a
 * workspace package, so bare `@evtchn/*` specifiers are resolved the way the CLI package
 * resolves them (it depends on every package), and the built `dist/` entry is imported.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const fromCli = createRequire(fileURLToPath(new URL('../../packages/cli/package.json', import.meta.url)));

/** Imports a workspace package by name from its built entry. */
async function load(name) {
  const entry = fromCli.resolve(name);
  if (!existsSync(entry)) throw new Error(`bench: ${name} is not built (${entry}); run \`pnpm build\` first`);
  return import(pathToFileURL(entry).href);
}

/** `@evtchn/core`. */
export const core = await load('@evtchn/core');
/** `@evtchn/abi-2level`. */
export const abi2 = await load('@evtchn/abi-2level');
/** `@evtchn/abi-fifo`. */
export const fifo = await load('@evtchn/abi-fifo');
/** `@evtchn/guest-linux`. */
export const linux = await load('@evtchn/guest-linux');
/** `@evtchn/arch-x86`. */
export const x86 = await load('@evtchn/arch-x86');
/** `@evtchn/conformance` (the replay runners). */
export const conformance = await load('@evtchn/conformance');
/** `@evtchn/cli` (`runConfigFile`: a configuration run as `evtchn run` runs it). */
export const cli = await load('@evtchn/cli');
