/*
 * The scaffold and the guides, end to end, as a plugin author gets them: the workspace packages
 * are packed into tarballs (`pnpm pack`, which turns `workspace:^` into versions and ships the
 * conformance vectors), `evtchn plugin new` writes one package per kind in a temporary folder
 * outside the workspace, npm installs them (one npm workspace, the @evtchn/* tarballs pinned by
 * `overrides`, everything else from the registry), and each package builds and passes its
 * generated tests. A further package holds every ```ts block of docs/guides as its own test file,
 * in a vitest project without any setup file, so each snippet runs exactly as written.
 *
 * Needs the built workspace (`pnpm build`; `pnpm test` builds first), pnpm, npm and the npm
 * registry. Set EVTCHN_SKIP_PACKAGING=1 to leave it out (e.g. offline).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaffoldPlugin } from '@evtchn/cli';
import { PLUGIN_KINDS } from '@evtchn/core';

const repo = fileURLToPath(new URL('../../', import.meta.url));
/** The packages a generated plugin installs (its own and those of its tests, with their dependencies) and those the guides import. */
const PACKED = ['core', 'conformance', 'abi-2level', 'abi-fifo', 'guest-linux', 'arch-x86', 'arch-arm', 'sim'];
const skip = process.env.EVTCHN_SKIP_PACKAGING === '1';

/** Each ```ts block of the guides, with the guide and line it starts on. */
function guideSnippets(): Array<{ guide: string; line: number; code: string }> {
  const dir = join(repo, 'docs', 'guides');
  const out: Array<{ guide: string; line: number; code: string }> = [];
  for (const guide of readdirSync(dir).filter((f) => f.endsWith('.md')).sort()) {
    const lines = readFileSync(join(dir, guide), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^```ts\s*$/.test(lines[i]!)) continue;
      let end = i + 1;
      while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
      out.push({ guide, line: i + 2, code: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return out;
}

/** A package whose test files are the guides' snippets, as written (no setup file: each brings its own imports). */
function writeSnippets(dir: string, evtchnPackages: string[]): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  const deps = Object.fromEntries(evtchnPackages.map((p) => [p, '*']));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'guide-snippets', private: true, type: 'module', dependencies: { ...deps, 'reflect-metadata': '^0.2.2', tsyringe: '^4.10.0', vitest: '^4.1.12' } }, null, 2),
  );
  writeFileSync(join(dir, 'vitest.config.ts'), "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ oxc: { decorator: { legacy: true } }, test: { include: ['src/**/*.test.ts'] } });\n");
  for (const s of guideSnippets()) {
    const name = `${s.guide.replace(/\.md$/, '')}-line-${s.line}.test.ts`;
    // The snippet first, untouched; a test after it so vitest counts the file even when the
    // snippet declares none (its top-level code has run by then).
    writeFileSync(join(dir, 'src', name), `${s.code}\n\nimport { it as __snippetIt } from 'vitest';\n__snippetIt('runs as written', () => {});\n`);
  }
}

let root = '';
let ws = '';

function run(cmd: string, args: string[], cwd: string): { code: number; output: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' }, timeout: 170_000 });
  return { code: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

describe.skipIf(skip)('evtchn plugin new, packed and installed outside the workspace', () => {
  beforeAll(() => {
    for (const p of PACKED)
      if (!existsSync(join(repo, 'packages', p, 'dist', 'index.js'))) throw new Error(`packages/${p} is not built: run pnpm build first`);
    root = mkdtempSync(join(tmpdir(), 'evtchn-scaffold-'));
    const tarballs = join(root, 'tarballs');
    mkdirSync(tarballs);
    const filters = PACKED.flatMap((p) => ['--filter', `@evtchn/${p}`]);
    execFileSync('pnpm', ['-r', ...filters, 'pack', '--pack-destination', tarballs], { cwd: repo, stdio: 'pipe' });
    const files = readdirSync(tarballs);
    const overrides: Record<string, string> = {};
    for (const p of PACKED) {
      const file = files.find((f) => f.startsWith(`evtchn-${p}-`) && f.endsWith('.tgz'));
      if (!file) throw new Error(`pnpm pack made no tarball for @evtchn/${p} (made: ${files.join(', ')})`);
      overrides[`@evtchn/${p}`] = `file:${join(tarballs, file)}`;
    }
    ws = join(root, 'ws');
    mkdirSync(join(ws, 'plugins'), { recursive: true });
    writeFileSync(join(ws, 'package.json'), JSON.stringify({ name: 'scaffold-check', private: true, workspaces: ['plugins/*'], overrides }, null, 2));
    for (const kind of PLUGIN_KINDS) scaffoldPlugin(join(ws, 'plugins', kind), { kind, name: `evtchn-${kind}-scaffolded` });
    writeSnippets(join(ws, 'plugins', 'snippets'), Object.keys(overrides));
    const install = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], ws);
    if (install.code !== 0) throw new Error(`npm install failed (${install.code}):\n${install.output}`);
  }, 240_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('installed one copy of core, tsyringe and reflect-metadata (peer dependencies)', () => {
    for (const kind of PLUGIN_KINDS) {
      expect(existsSync(join(ws, 'plugins', kind, 'node_modules', '@evtchn', 'core')), kind).toBe(false);
      expect(existsSync(join(ws, 'plugins', kind, 'node_modules', 'tsyringe')), kind).toBe(false);
    }
    // the packed @evtchn/conformance replays the vectors it ships
    const code = "await import('reflect-metadata'); const m = await import('@evtchn/conformance'); console.log(m.vectorsDir('delivery'));";
    const r = run('node', ['--input-type=module', '-e', code], ws);
    expect(r.code, r.output).toBe(0);
    expect(r.output.trim()).toBe(join(ws, 'node_modules', '@evtchn', 'conformance', 'vectors', 'delivery') + '/');
  });

  it('every ts block of docs/guides runs as written in a fresh project', () => {
    const r = run('npx', ['vitest', 'run'], join(ws, 'plugins', 'snippets'));
    expect(r.code, r.output).toBe(0);
    const files = readdirSync(join(ws, 'plugins', 'snippets', 'src')).length;
    expect(r.output).toMatch(new RegExp(`Test Files\\s+${files} passed`));
  }, 120_000);

  for (const kind of PLUGIN_KINDS) {
    it(`${kind === 'guest' || kind === 'policy' ? 'a' : 'an'} ${kind} plugin builds and passes its generated tests`, () => {
      const dir = join(ws, 'plugins', kind);
      const build = run('npm', ['run', 'build'], dir);
      expect(build.code, build.output).toBe(0);
      expect(existsSync(join(dir, 'dist', 'index.js'))).toBe(true);
      const test = run('npx', ['vitest', 'run'], dir);
      expect(test.code, test.output).toBe(0);
      expect(test.output).toMatch(/Tests\s+\d+ passed/);
      expect(test.output).not.toMatch(/failed|skipped/);
    }, 120_000);
  }

  it('a built plugin loads by package name from the project that installed it, checked like a configuration would', () => {
    const code = [
      "await import('reflect-metadata');",
      "const { loadPlugin, checkPluginRegistration } = await import('@evtchn/core');",
      "const p = await loadPlugin('evtchn-policy-scaffolded', 'policy', { importer: process.cwd() + '/', options: { isolated: [2] } });",
      'checkPluginRegistration(p);',
      "const bad = await loadPlugin('evtchn-policy-scaffolded', 'policy', { importer: process.cwd() + '/', options: { isolated: 'x' } }).catch((e) => e.message);",
      'console.log(p.name, p.apiVersion, JSON.stringify(bad));',
    ].join(' ');
    const r = run('node', ['--input-type=module', '-e', code], ws);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('policy-scaffolded 1 ');
    expect(r.output).toContain('options.isolated: must be array');
  });
});
