/*
 * Resolving a plugin's module specifier to a file without importing it, from the place that
 * names it: a configuration file's folder, or the caller of `loadPlugin` (its `importer`).
 * Node's own resolver resolves from the importing module's file, which for `loadPlugin` would be
 * `@evtchn/core`'s folder, where a plugin installed beside the user's project is not visible in
 * pnpm's layout. So bare package names are looked up the way Node does for an ES module
 * (`node_modules` folders upwards from the importer, then the package's `exports` with the
 * `import`/`node`/`default` conditions, else `main`, else `index.js`), and nothing runs.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from './config-error.js';

/** How a specifier was resolved. */
export interface ResolvedModule {
  /** What to `import()`: a `file:` URL, or the specifier itself for `node:` and `data:` URLs. */
  readonly url: string;
  /** The file the module lives in (absent for `node:` and `data:` URLs). */
  readonly path?: string;
  /** What the specifier named. */
  readonly kind: 'package' | 'path' | 'url';
}

/** Conditions tried in a package's `exports`, in order (what Node's ESM loader uses). */
const CONDITIONS = ['import', 'node', 'default'];

/** The folder a module is resolved from: `from` is a folder path, a file path or a `file:` URL of a file. */
function baseDirOf(from: string | URL): string {
  const s = typeof from === 'string' ? from : from.href;
  if (s.startsWith('file:')) return dirname(fileURLToPath(s));
  if (existsSync(s) && statSync(s).isDirectory()) return s;
  return dirname(s);
}

/** Splits a bare specifier into its package name and subpath (`@a/b/c` → `@a/b`, `./c`). */
function splitPackage(spec: string): { name: string; subpath: string } {
  const parts = spec.split('/');
  const n = spec.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, n).join('/');
  const rest = parts.slice(n).join('/');
  return { name, subpath: rest ? `./${rest}` : '.' };
}

/** Picks a target out of an `exports` value for the ESM conditions. */
function pickTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = pickTarget(v);
      if (t !== undefined) return t;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (CONDITIONS.includes(k)) {
        const t = pickTarget(v);
        if (t !== undefined) return t;
      }
    }
  }
  return undefined;
}

/** The file a package subpath maps to through `exports` (exact keys and `*` patterns). */
function fromExports(exportsField: unknown, subpath: string): string | undefined {
  const isSubpathMap =
    exportsField !== null && typeof exportsField === 'object' && !Array.isArray(exportsField) && Object.keys(exportsField).every((k) => k.startsWith('.'));
  if (!isSubpathMap) return subpath === '.' ? pickTarget(exportsField) : undefined;
  const map = exportsField as Record<string, unknown>;
  if (subpath in map) return pickTarget(map[subpath]);
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf('*');
    if (star < 0) continue;
    const pre = key.slice(0, star);
    const post = key.slice(star + 1);
    if (subpath.startsWith(pre) && subpath.endsWith(post) && subpath.length >= key.length - 1) {
      const t = pickTarget(value);
      if (t !== undefined) return t.replace('*', subpath.slice(pre.length, subpath.length - post.length));
    }
  }
  return undefined;
}

/** Resolves a bare package specifier from `dir` upwards. */
function resolvePackage(spec: string, dir: string): string {
  const { name, subpath } = splitPackage(spec);
  let d = resolve(dir);
  for (;;) {
    const pkgDir = join(d, 'node_modules', name);
    const pkgJson = join(pkgDir, 'package.json');
    if (existsSync(pkgJson)) {
      let pkg: Record<string, unknown>;
      try {
        pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new ConfigError(`module '${spec}': ${pkgJson} is not valid JSON: ${(e as Error).message}`);
      }
      let target: string | undefined;
      if (pkg.exports !== undefined) {
        target = fromExports(pkg.exports, subpath);
        if (target === undefined) throw new ConfigError(`module '${spec}': package '${name}' (${pkgDir}) does not export '${subpath}'`);
      } else if (subpath !== '.') target = subpath;
      else target = typeof pkg.main === 'string' ? pkg.main : 'index.js';
      const file = resolve(pkgDir, target);
      if (!existsSync(file)) throw new ConfigError(`module '${spec}': package '${name}' points at ${file}, which does not exist (is it built?)`);
      return realpathSync(file);
    }
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  throw new ConfigError(`module '${spec}' not found from ${dir} (is the package '${name}' installed there?)`);
}

/**
 * Resolves a module specifier without importing it.
 * @param spec - a package name (`@scope/pkg`, `pkg/sub`), a relative or absolute path, or a
 *   `file:`, `node:` or `data:` URL (without any `#export` suffix)
 * @param from - where it is named: a folder, a file, or a `file:` URL such as `import.meta.url`
 * @returns the URL to import and, for files, the resolved path
 * @throws ConfigError naming the specifier when it cannot be resolved
 */
export function resolveModuleSpecifier(spec: string, from: string | URL): ResolvedModule {
  if (/^(node|data):/.test(spec)) return { url: spec, kind: 'url' };
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec) && !/^[A-Za-z]:[\\/]/.test(spec)) {
    if (!spec.startsWith('file:')) throw new ConfigError(`module '${spec}': only file:, node: and data: URLs can be imported`);
    const path = fileURLToPath(spec);
    return checkFile(spec, path);
  }
  if (isAbsolute(spec)) return checkFile(spec, spec);
  if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') return checkFile(spec, resolve(baseDirOf(from), spec));
  const path = resolvePackage(spec, baseDirOf(from));
  return { url: pathToFileURL(path).href, path, kind: 'package' };
}

function checkFile(spec: string, path: string): ResolvedModule {
  if (!existsSync(path)) throw new ConfigError(`module '${spec}' not found: ${path} does not exist`);
  if (!statSync(path).isFile()) throw new ConfigError(`module '${spec}': ${path} is not a regular file`);
  return { url: pathToFileURL(path).href, path, kind: 'path' };
}

/**
 * Whether `path` lies inside `dir` (after following symbolic links).
 * @param path - a file path
 * @param dir - a folder path
 */
export function isInside(path: string, dir: string): boolean {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const rel = relative(real(dir), real(path));
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
