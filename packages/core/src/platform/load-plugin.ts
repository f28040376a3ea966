/*
 * Loading a plugin named by a module specifier, the way a configuration file names plugins
 * (`abis: ["@evtchn/abi-fifo", "./my-abi.js#abi3Level"]`). Modelled on how Rollup and Vite
 * resolve plugins named in config files: import the module, take its factory, call it with the
 * options, and check that what came back is a plugin of the kind the configuration key wants.
 */
import { aOrAn } from '../util/text.js';
import { ConfigError } from './config-error.js';
import { isPlugin, type Plugin, type PluginKind } from './plugin.js';

/** Imports a module by specifier (default: the runtime's dynamic `import()`). */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

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
 * The specifier is a package name (`@evtchn/abi-fifo`), a URL or an absolute path, optionally
 * followed by `#exportName` to pick a named export. Without `#`, the module's default export
 * is used, else its `plugin` export, else its only exported function or plugin. When the export is a function it is
 * called with `options` (and awaited) as a plugin factory; otherwise it must be a plugin.
 * Relative paths are resolved against this module, so callers (such as a configuration
 * loader) should resolve them against the configuration file first.
 *
 * @param specifier - module specifier, optionally with `#exportName`
 * @param expectedKind - the kind of plugin the configuration key takes
 * @param options - passed to the factory
 * @param importer - imports a module (default: dynamic `import()`); tests and bundlers pass their own
 * @returns the plugin
 * @throws ConfigError naming `specifier` when the module is missing or fails to load, does not
 *   provide a plugin, or provides a plugin of another kind
 * @example
 * ```ts
 * const fifo = await loadPlugin('@evtchn/abi-fifo#abiFifo', 'abi');
 * ```
 */
export async function loadPlugin(
  specifier: string,
  expectedKind: PluginKind,
  options?: unknown,
  importer: ModuleImporter = defaultImporter,
): Promise<Plugin> {
  if (typeof specifier !== 'string' || specifier.length === 0)
    throw new ConfigError(`plugin specifier must be a non-empty string, got ${JSON.stringify(specifier)}`);
  const { module, exportName } = splitSpecifier(specifier);
  let ns: unknown;
  try {
    ns = await importer(toImportable(module));
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
    try {
      value = await (exported as (opts?: unknown) => unknown)(options);
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
  return value;
}
