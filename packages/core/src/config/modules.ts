/*
 * The module references of a configuration file (`module: ./my-abi.js#abi3Level`), resolved the
 * way a configuration may name code: relative to the file's folder and contained in it, packages
 * from the `node_modules` folders above it, and no `data:` or `node:` URLs, unless the caller
 * (the user, through a command-line flag) explicitly allows more. Resolving never imports.
 */
import { ConfigError } from '../platform/config-error.js';
import { isInside, resolveModuleSpecifier, type ResolvedModule } from '../platform/resolve-module.js';

/** What a configuration's module references may name beyond the defaults. */
export interface ConfigModulePolicy {
  /** Allow `data:` and `node:` URLs (code inline in the configuration, or Node built-ins). Default false. */
  readonly allowUrlModules?: boolean;
  /** Allow module paths outside the configuration file's folder. Default false. */
  readonly allowOutsideModules?: boolean;
}

/** A resolved module reference of a configuration. */
export interface ConfigModule extends ResolvedModule {
  /** The export the reference picks (`#name`), if any. */
  readonly exportName?: string;
  /** The reference as written. */
  readonly specifier: string;
}

/**
 * Resolves one module reference of a configuration file without importing it.
 * @param specifier - as written in the configuration (`pkg`, `./file.js#export`, ...)
 * @param configDir - the configuration file's folder
 * @param policy - what beyond the defaults is allowed
 * @param path - the field path, for messages (`abis[1].module`)
 * @throws ConfigError naming the field for a refused URL, a path outside the folder or a module
 *   that cannot be resolved
 */
export function resolveConfigModule(specifier: string, configDir: string, policy: ConfigModulePolicy = {}, path = 'module'): ConfigModule {
  const hash = specifier.lastIndexOf('#');
  const module = hash > 0 ? specifier.slice(0, hash) : specifier;
  const exportName = hash > 0 ? specifier.slice(hash + 1) : undefined;
  if (/^(data|node):/i.test(module) && !policy.allowUrlModules)
    throw new ConfigError(
      `${path}: ${JSON.stringify(specifier)} is a ${module.slice(0, module.indexOf(':')).toLowerCase()}: URL; configurations may not name inline code or Node built-ins (allow with --allow-url-modules)`,
    );
  let resolved: ResolvedModule;
  try {
    resolved = resolveModuleSpecifier(module, configDir.endsWith('/') ? configDir : `${configDir}/`);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`);
    throw e;
  }
  if (resolved.kind === 'path' && resolved.path !== undefined && !policy.allowOutsideModules && !isInside(resolved.path, configDir))
    throw new ConfigError(
      `${path}: ${JSON.stringify(specifier)} resolves to ${resolved.path}, outside the configuration's folder ${configDir} (allow with --allow-outside-modules, or install it as a package)`,
    );
  return { ...resolved, exportName, specifier };
}
