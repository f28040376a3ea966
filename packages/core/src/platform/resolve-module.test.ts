// Plugin modules resolve from where they are named: a package installed beside the user's
// project is found from the importer (npm's flat layout and pnpm's symlinked one), and a
// configuration's references resolve from its folder, contained in it, with no data:/node: URLs.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfigModule } from '../config/modules.js';
import { loadPlugin } from './load-plugin.js';
import { resolveModuleSpecifier } from './resolve-module.js';

const root = mkdtempSync(join(tmpdir(), 'evtchn-resolve-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PLUGIN_JS = `export default function acme(options = {}) {
  return { name: 'abi-acme' + (options.suffix ?? ''), kind: 'abi', apiVersion: 1, register() {} };
}
export const other = () => ({ name: 'abi-other', kind: 'abi', register() {} });
`;

/** Writes the package @acme/evtchn-plugin into `dir` (ESM, `exports` with an `import` condition). */
function writePackage(dir: string): void {
  mkdirSync(join(dir, 'dist'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: '@acme/evtchn-plugin', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' }, './other': './dist/index.js' } }),
  );
  writeFileSync(join(dir, 'dist', 'index.js'), PLUGIN_JS);
}

function project(name: string, layout: 'npm' | 'pnpm'): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  if (layout === 'npm') writePackage(join(dir, 'node_modules', '@acme', 'evtchn-plugin'));
  else {
    const real = join(dir, 'node_modules', '.pnpm', '@acme+evtchn-plugin@1.0.0', 'node_modules', '@acme', 'evtchn-plugin');
    writePackage(real);
    mkdirSync(join(dir, 'node_modules', '@acme'), { recursive: true });
    symlinkSync(real, join(dir, 'node_modules', '@acme', 'evtchn-plugin'), 'dir');
  }
  writeFileSync(join(dir, 'src', 'main.js'), '');
  return dir;
}

describe('loadPlugin resolves from its importer', () => {
  for (const layout of ['npm', 'pnpm'] as const) {
    it(`finds a package installed in the caller's project (${layout} layout)`, async () => {
      const dir = project(`app-${layout}`, layout);
      const importer = pathToFileURL(join(dir, 'src', 'main.js')).href;
      const plugin = await loadPlugin('@acme/evtchn-plugin', 'abi', { importer, options: { suffix: '-x' } });
      expect(plugin.name).toBe('abi-acme-x');
      expect((await loadPlugin('@acme/evtchn-plugin#other', 'abi', { importer })).name).toBe('abi-other');
      expect((await loadPlugin('@acme/evtchn-plugin/other', 'abi', { importer: join(dir, 'src') })).name).toBe('abi-acme');
      // from a folder where it is not installed, it is not found, and the message says from where
      await expect(loadPlugin('@acme/evtchn-plugin', 'abi', { importer: root })).rejects.toThrow(/module '@acme\/evtchn-plugin' not found from .*is the package '@acme\/evtchn-plugin' installed there/);
    });
  }

  it('refuses a subpath the package does not export', () => {
    const dir = project('app-subpath', 'npm');
    expect(() => resolveModuleSpecifier('@acme/evtchn-plugin/secret', dir)).toThrow(/does not export '.\/secret'/);
  });
});

describe('a configuration\'s module references', () => {
  const dir = join(root, 'cfg');
  mkdirSync(join(dir, 'plugins'), { recursive: true });
  writeFileSync(join(dir, 'plugins', 'mine.js'), PLUGIN_JS);
  writeFileSync(join(root, 'outside.js'), PLUGIN_JS);

  it('resolve relative to the configuration file, without importing', () => {
    const m = resolveConfigModule('./plugins/mine.js#other', dir, {}, 'abis[0].module');
    expect(m.path).toBe(join(dir, 'plugins', 'mine.js'));
    expect(m.exportName).toBe('other');
  });

  it('must stay under the configuration folder unless allowed', () => {
    expect(() => resolveConfigModule('../outside.js', dir, {}, 'abis[0].module')).toThrow(
      /^abis\[0\]\.module: "\.\.\/outside\.js" resolves to .*outside\.js, outside the configuration's folder .*--allow-outside-modules/,
    );
    expect(() => resolveConfigModule('../../../../../../../../etc/passwd', dir)).toThrow(/outside the configuration's folder/);
    expect(resolveConfigModule('../outside.js', dir, { allowOutsideModules: true }).path).toBe(join(root, 'outside.js'));
    expect(() => resolveConfigModule('/dev/zero', dir, { allowOutsideModules: true })).toThrow(/is not a regular file/);
  });

  it('refuse data: and node: URLs unless allowed', () => {
    expect(() => resolveConfigModule('data:text/javascript,export default 1', dir, {}, 'arch.module')).toThrow(
      /^arch\.module: .* is a data: URL; configurations may not name inline code or Node built-ins \(allow with --allow-url-modules\)/,
    );
    expect(() => resolveConfigModule('node:process#exit', dir)).toThrow(/is a node: URL/);
    expect(resolveConfigModule('node:process#exit', dir, { allowUrlModules: true }).url).toBe('node:process');
  });
});
