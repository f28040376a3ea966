/*
 * Loading a plugin named by a module specifier, the way a configuration file names plugins
 * (`abis: ["@evtchn/abi-fifo", "./my-abi.js#abi3Level"]`). Modelled on how Rollup and Vite
 * resolve plugins named in config files: import the module, take its factory, call it with the
 * options, and check that what came back is a plugin of the kind the configuration key wants.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { aOrAn } from '../util/text.js';
import { ConfigError } from './config-error.js';
import { checkApiVersion } from './plugin-checks.js';
import { isPlugin, type OptionsSchema, type Plugin, type PluginKind } from './plugin.js';
import { resolveModuleSpecifier } from './resolve-module.js';

/** Imports a module by specifier (default: the runtime's dynamic `import()`). */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

/** Options of {@link loadPlugin}. */
export interface LoadPluginOptions {
  /** Passed to the plugin factory (validated first against the factory's `optionsSchema`, if it has one). */
  readonly options?: unknown;
  /**
   * Where the specifier is named, for resolving it: the caller's `import.meta.url`, a file or a
   * folder (a configuration file's folder). Bare package names are looked up in `node_modules`
   * upwards from there, relative paths against it. Default: the current working directory.
   */
  readonly importer?: string | URL;
  /**
   * Imports the resolved module (default: dynamic `import()`). Tests and bundlers pass their own;
   * with a custom one and no `importer`, the specifier is passed to it unresolved.
   */
  readonly import?: ModuleImporter;
}

/** Error codes Node and Vite use for a module that cannot be found. */
const NOT_FOUND_CODES = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_LOAD_URL', 'ERR_UNSUPPORTED_DIR_IMPORT']);

const defaultImporter: ModuleImporter = (specifier) => import(specifier);

/** Splits `module#export` into the module and the export name. */
function splitSpecifier(specifier: string): { module: string; exportName?: string } {
  const hash = specifier.lastIndexOf('#');
  // A leading '#' is a Node subpath import ("#internal"), not an export selector.
  if (hash <= 0) return { module: specifier };
  return { module: specifier.slice(0, hash), exportName: specifier.slice(hash + 1) };
}

/** An absolute file-system path is imported as a `file:` URL (Node's ESM loader needs one). */
function toImportable(module: string): string {
  if (module.startsWith('/')) return `file://${encodeURI(module)}`;
  if (/^[A-Za-z]:[\\/]/.test(module)) return `file:///${encodeURI(module.replace(/\\/g, '/'))}`;
  return module;
}

function isNotFound(error: unknown, module: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string' && NOT_FOUND_CODES.has(e.code)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /cannot find (module|package)|failed to (load|resolve)|does not exist/i.test(message) && message.includes(module.replace(/^file:\/\//, ''));
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const keys = Object.keys(value as object);
    return keys.length ? `an object with keys ${keys.slice(0, 6).join(', ')}` : 'an empty object';
  }
  return `a ${typeof value}`;
}

/** Picks the factory (or plugin) a module offers: the named export, the default export, or its only candidate. */
function pickExport(ns: Record<string, unknown>, specifier: string, exportName: string | undefined): unknown {
  if (exportName !== undefined) {
    if (!(exportName in ns))
      throw new ConfigError(
        `plugin '${specifier}': the module has no export '${exportName}' (it exports ${Object.keys(ns).join(', ') || 'nothing'})`,
      );
    return ns[exportName];
  }
  if (ns.default !== undefined) return ns.default;
  if (ns.plugin !== undefined) return ns.plugin;
  const candidates = Object.keys(ns).filter((k) => typeof ns[k] === 'function' || isPlugin(ns[k]));
  if (candidates.length === 1) return ns[candidates[0]!];
  if (candidates.length === 0)
    throw new ConfigError(
      `plugin '${specifier}' is not a plugin module: it has no default export and no function or plugin export (exports: ${Object.keys(ns).join(', ') || 'nothing'})`,
    );
  throw new ConfigError(
    `plugin '${specifier}': the module has no default export and several candidates (${candidates.join(', ')}); name one as '${specifier}#${candidates[0]}'`,
  );
}

/**
 * Loads a plugin from a module specifier, as a configuration file names plugins.
 *
 * The specifier is a package name (`@evtchn/abi-fifo`), a relative or absolute path or a URL,
 * optionally followed by `#exportName` to pick a named export. It is resolved from
 * `importer` (pass `import.meta.url` to resolve as your own module would), so a plugin
 * installed beside your project is found in npm's and pnpm's layouts alike. Without `#`, the
 * module's default export is used, else its `plugin` export, else its only exported function or
 * plugin. When the export is a function it is called with `options` (after checking them against
 * its `optionsSchema`, see `withOptionsSchema`) and awaited; otherwise it must be a plugin. The
 * plugin's kind and API version are checked.
 *
 * @param specifier - module specifier, optionally with `#exportName`
 * @param expectedKind - the kind of plugin the configuration key takes
 * @param load - the factory's options, where to resolve from, and how to import
 * @returns the plugin
 * @throws ConfigError naming `specifier` when the module is missing or fails to load, its options
 *   are invalid (naming each field), it does not provide a plugin, or provides a plugin of another
 *   kind or an unsupported API version
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { loadPlugin } from '@evtchn/core';
 *
 * const fifo = await loadPlugin('@evtchn/abi-fifo#abiFifo', 'abi', { importer: import.meta.url });
 * console.log(fifo.name);
 * ```
 */
export async function loadPlugin<K extends PluginKind>(specifier: string, expectedKind: K, load: LoadPluginOptions = {}): Promise<Plugin<K>> {
  if (typeof specifier !== 'string' || specifier.length === 0)
    throw new ConfigError(`plugin specifier must be a non-empty string, got ${JSON.stringify(specifier)}`);
  const { module, exportName } = splitSpecifier(specifier);
  const importer = load.import ?? defaultImporter;
  let target: string;
  if (load.import !== undefined && load.importer === undefined) target = toImportable(module);
  else {
    try {
      target = resolveModuleSpecifier(module, load.importer ?? `${process.cwd()}/`).url;
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(`plugin '${specifier}': ${e.message}`);
      throw e;
    }
  }
  let ns: unknown;
  try {
    ns = await importer(target);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (isNotFound(e, module))
      throw new ConfigError(`plugin '${specifier}': module '${module}' not found (is it installed?): ${message}`);
    throw new ConfigError(`plugin '${specifier}': module '${module}' failed to load: ${message}`);
  }
  if (typeof ns !== 'object' || ns === null)
    throw new ConfigError(`plugin '${specifier}' is not a plugin module: importing it gave ${describeValue(ns)}`);
  const exported = pickExport(ns as Record<string, unknown>, specifier, exportName);
  let value: unknown = exported;
  if (typeof exported === 'function') {
    const schema = (exported as { optionsSchema?: OptionsSchema }).optionsSchema;
    if (schema !== undefined) checkOptions(specifier, schema, load.options);
    try {
      value = await (exported as (opts?: unknown) => unknown)(load.options);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new ConfigError(`plugin '${specifier}': its factory threw: ${message}`);
    }
  }
  if (!isPlugin(value))
    throw new ConfigError(
      `plugin '${specifier}' is not a plugin: ${typeof exported === 'function' ? 'its factory returned' : 'it exports'} ${describeValue(value)} (expected { name, kind, register(container) })`,
    );
  if (value.kind !== expectedKind)
    throw new ConfigError(`plugin '${specifier}' is ${aOrAn(value.kind)} ${value.kind} plugin ('${value.name}'), but ${aOrAn(expectedKind)} ${expectedKind} plugin is expected here`);
  checkApiVersion(specifier, value);
  return value as Plugin<K>;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new WeakMap<OptionsSchema, ReturnType<Ajv['compile']>>();

/** `/a/0/b` → `options.a[0].b`. */
function optionPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : `${acc}.${seg.replace(/~1/g, '/').replace(/~0/g, '~')}`), 'options');
}

function describeOptionError(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${optionPath(e.instancePath)}: unknown key ${JSON.stringify(p.additionalProperty)}`;
  if (e.keyword === 'required') return `${optionPath(e.instancePath)}: missing required key ${JSON.stringify(p.missingProperty)}`;
  return `${optionPath(e.instancePath)}: ${e.message ?? 'is invalid'}`;
}

/**
 * Validates a plugin factory's options against its JSON Schema.
 * @param plugin - the plugin's specifier or name (for messages)
 * @param schema - the factory's `optionsSchema`
 * @param options - the options given
 * @throws ConfigError naming the plugin and each bad field (`options.nrPcpus: must be <= 4096`)
 */
export function checkOptions(plugin: string, schema: OptionsSchema, options: unknown): void {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    try {
      validate = ajv.compile(schema);
    } catch (e) {
      throw new ConfigError(`plugin '${plugin}': its optionsSchema is not a valid JSON Schema: ${(e as Error).message}`);
    }
    compiled.set(schema, validate);
  }
  if (validate(options ?? {})) return;
  const issues = [...new Set((validate.errors ?? []).map(describeOptionError))];
  throw new ConfigError(`plugin '${plugin}': invalid options:\n  ${issues.join('\n  ')}`, issues);
}
