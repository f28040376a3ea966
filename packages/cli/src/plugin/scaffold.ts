/*
 * `evtchn plugin new DIR --kind abi|arch|policy|guest`: writes a plugin package that builds and
 * passes its conformance suite as generated (peer dependencies on @evtchn/core, tsyringe and
 * reflect-metadata; NodeNext ESM; a vitest setup loading reflect-metadata; a README).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, PLUGIN_KINDS, type PluginKind } from '@evtchn/core';
import { pluginFiles } from './templates.js';

/** Options of {@link scaffoldPlugin}. */
export interface ScaffoldOptions {
  /** The plugin kind. */
  readonly kind: PluginKind;
  /** npm package name (default: the folder's name). */
  readonly name?: string;
  /** The `@evtchn/*` version to depend on (default: this CLI's own version). */
  readonly evtchnVersion?: string;
}

/** This CLI's version (the `@evtchn/*` packages are released together, so it is theirs too). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const NPM_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

function camel(s: string): string {
  return s.replace(/[-_.]+([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Writes a new plugin package into `dir` (which must not exist or be empty).
 * @param dir - the package folder
 * @param options - kind, package name, versions
 * @returns the files written, relative to `dir`
 * @throws ConfigError for an unknown kind, an invalid package name or a non-empty folder
 */
export function scaffoldPlugin(dir: string, options: ScaffoldOptions): string[] {
  const kind = options.kind;
  if (!(PLUGIN_KINDS as readonly string[]).includes(kind)) throw new ConfigError(`--kind: ${JSON.stringify(kind)} is not a plugin kind; allowed: ${PLUGIN_KINDS.join(', ')}`);
  const target = resolve(dir);
  const packageName = options.name ?? basename(target);
  if (!NPM_NAME.test(packageName) || packageName.length > 214)
    throw new ConfigError(`${JSON.stringify(packageName)} is not a valid npm package name; give one with --name (lower case, e.g. evtchn-${kind}-mine)`);
  if (existsSync(target) && readdirSync(target).length > 0) throw new ConfigError(`${dir}: the folder exists and is not empty`);
  const bare = packageName.replace(/^@[^/]+\//, '');
  const shortName = bare.replace(/^evtchn-/, '').replace(new RegExp(`^(${kind}-)`), '') || kind;
  const ident = camel(`${kind}-${shortName.replace(new RegExp(`^${kind}-|-${kind}$`, 'g'), '')}`).replace(/^[^a-zA-Z_$]+/, '');
  const factory = ident || kind;
  const className = factory[0]!.toUpperCase() + factory.slice(1);
  const files = pluginFiles({ packageName, shortName, factory, className, kind, versions: { evtchn: options.evtchnVersion ?? cliVersion() } });
  for (const [rel, text] of Object.entries(files)) {
    const path = join(target, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return Object.keys(files);
}
