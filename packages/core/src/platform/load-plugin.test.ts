import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { loadPlugin, type ModuleImporter } from './load-plugin.js';
import type { Plugin } from './plugin.js';

const abiPlugin = (name = 'abi-test', seen?: unknown[]) => (options?: unknown): Plugin => {
  seen?.push(options);
  return { name, kind: 'abi', register() {} };
};

/** An importer serving in-memory modules, failing like Node for anything else. */
function modules(table: Record<string, Record<string, unknown>>): ModuleImporter {
  return async (spec) => {
    const m = table[spec];
    if (m) return m;
    const e = new Error(`Cannot find package '${spec}' imported from /somewhere`) as Error & { code: string };
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  };
}

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  return e as ConfigError;
}

describe('loadPlugin', () => {
  it('calls the default export with the options and returns the plugin', async () => {
    const seen: unknown[] = [];
    const p = await loadPlugin('my-abi', 'abi', { options: { ports: 8 }, import: modules({ 'my-abi': { default: abiPlugin('abi-mine', seen) } }) });
    expect(p.name).toBe('abi-mine');
    expect(seen).toEqual([{ ports: 8 }]);
  });

  it('picks a named export with #name, a `plugin` export, or the only candidate', async () => {
    const table = {
      many: { a: abiPlugin('abi-a'), b: abiPlugin('abi-b') },
      named: { plugin: abiPlugin('abi-p'), other: abiPlugin('abi-o') },
      single: { abi3: abiPlugin('abi-3'), VERSION: '1' },
      object: { default: { name: 'ready', kind: 'abi', register() {} } },
    };
    const load = (s: string) => loadPlugin(s, 'abi', { import: modules(table) });
    expect((await load('many#b')).name).toBe('abi-b');
    expect((await load('named')).name).toBe('abi-p');
    expect((await load('single')).name).toBe('abi-3');
    expect((await load('object')).name).toBe('ready');
    const e = await configError(load('many'));
    expect(e.message).toContain("'many'");
    expect(e.message).toMatch(/several candidates \(a, b\)/);
    expect((await configError(load('many#c'))).message).toMatch(/no export 'c'/);
  });

  it('reports a missing module naming the specifier', async () => {
    const e = await configError(loadPlugin('@nope/abi', 'abi', { import: modules({}) }));
    expect(e.message).toMatch(/^plugin '@nope\/abi': module '@nope\/abi' not found/);
  });

  it('reports a missing module with the real importer', async () => {
    const e = await configError(loadPlugin('@evtchn/definitely-not-installed', 'abi'));
    expect(e.message).toContain("'@evtchn/definitely-not-installed'");
    expect(e.message).toContain('not found');
  });

  it('reports a module that fails to load for another reason', async () => {
    const importer: ModuleImporter = async () => {
      throw new SyntaxError('Unexpected token');
    };
    const e = await configError(loadPlugin('broken', 'abi', { import: importer }));
    expect(e.message).toBe("plugin 'broken': module 'broken' failed to load: Unexpected token");
  });

  it('reports a module that is not a plugin', async () => {
    const table = {
      data: { default: { hello: 'world' } },
      fn: { default: () => 42 },
      nothing: { VERSION: '1.0' },
    };
    const load = (s: string) => loadPlugin(s, 'abi', { import: modules(table) });
    expect((await configError(load('data'))).message).toMatch(/^plugin 'data' is not a plugin: it exports an object with keys hello/);
    expect((await configError(load('fn'))).message).toMatch(/^plugin 'fn' is not a plugin: its factory returned a number/);
    expect((await configError(load('nothing'))).message).toMatch(/^plugin 'nothing' is not a plugin module/);
  });

  it('reports a plugin of the wrong kind', async () => {
    const e = await configError(loadPlugin('my-abi', 'arch', { import: modules({ 'my-abi': { default: abiPlugin('abi-mine') } }) }));
    expect(e.message).toBe("plugin 'my-abi' is an abi plugin ('abi-mine'), but an arch plugin is expected here");
  });

  it('reports a factory that throws', async () => {
    const table = {
      bad: {
        default: () => {
          throw new RangeError('ports must be a power of two');
        },
      },
    };
    const e = await configError(loadPlugin('bad', 'abi', { options: { ports: 3 }, import: modules(table) }));
    expect(e.message).toBe("plugin 'bad': its factory threw: ports must be a power of two");
  });

  it('imports absolute paths as file URLs', async () => {
    const seen: string[] = [];
    const importer: ModuleImporter = async (spec) => {
      seen.push(spec);
      return { default: abiPlugin() };
    };
    await loadPlugin('/opt/plugins/my abi.js#default', 'abi', { import: importer });
    expect(seen).toEqual(['file:///opt/plugins/my%20abi.js']);
  });

  it('loads a real module with the default importer', async () => {
    const url = new URL('./plugin.ts', import.meta.url).href;
    // `isPlugin` is a function whose result is not a plugin.
    const e = await configError(loadPlugin(`${url}#isPlugin`, 'abi'));
    expect(e.message).toContain('is not a plugin');
  });
});
