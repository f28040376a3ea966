// `evtchn validate` runs no code a configuration names: module references are resolved, not
// imported; data:/node: URLs and paths outside the configuration's folder are refused unless
// allowed; `--load` imports them and runs the registration checks, and says so. Built-in
// plugin options are checked against their schema.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../main.js';

const root = mkdtempSync(join(tmpdir(), 'evtchn-validate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function capture(): CliIo & { outText: () => string; errText: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => void (out += t), err: (t) => void (err += t), outText: () => out, errText: () => err };
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(args, io);
  return { code, out: io.outText(), err: io.errText() };
}

/** Writes a configuration into its own folder and returns its path. */
function config(name: string, body: string, files: Record<string, string> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  const path = join(dir, 'platform.yaml');
  writeFileSync(path, `arch: { name: x86 }\ndomains: [{ id: 0 }]\n${body}`);
  return path;
}

describe('evtchn validate runs no plugin code', () => {
  const marker = join(root, 'pwned');
  const writer = `data:text/javascript,import{writeFileSync}from'node:fs';writeFileSync(${JSON.stringify(marker)},'x');export default()=>({name:'p',kind:'policy',register(){}})`;

  it('refuses a data: module, and with --allow-url-modules resolves it without running it', async () => {
    const path = config('data', `policy: { module: ${JSON.stringify(writer)} }\n`);
    const refused = await run(['validate', path]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/policy\.module: .* is a data: URL; configurations may not name inline code or Node built-ins \(allow with --allow-url-modules\)/);
    const allowed = await run(['validate', path, '--allow-url-modules']);
    expect(allowed.code).toBe(0);
    expect(allowed.out).toContain('(resolved, not loaded)');
    expect(allowed.out).toContain('add --load to import them');
    expect(existsSync(marker)).toBe(false);
    // run refuses it too
    expect((await run(['run', path, '--no-progress'])).code).toBe(2);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses node:process#exit instead of exiting quietly', async () => {
    const path = config('node', 'policy: { module: "node:process#exit" }\n');
    const r = await run(['validate', path]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is a node: URL/);
  });

  it('refuses module paths outside the configuration folder, and files that are not regular files', async () => {
    const path = config('outside', 'policy: { module: ../../../../../../../../../../etc/passwd }\n');
    const r = await run(['validate', path]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/policy\.module: .* resolves to \/etc\/passwd, outside the configuration's folder/);
    const zero = config('zero', 'policy: { module: /dev/zero }\n');
    expect((await run(['validate', zero])).code).toBe(2);
    expect((await run(['validate', zero, '--allow-outside-modules'])).err).toMatch(/\/dev\/zero is not a regular file/);
  });

  it('rejects built-in plugin options out of range, naming the field', async () => {
    const path = config('options', '');
    writeFileSync(path, 'arch: { name: x86, options: { nrPcpus: 100000000 } }\ndomains: [{ id: 0 }]\n');
    const r = await run(['validate', path]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('arch.options.nrPcpus: must be <= 1024, got 100000000');
  });

  it('--load imports the modules and runs the registration checks, naming an incomplete plugin', async () => {
    const half = `export default () => ({ name: 'abi-half', kind: 'abi', apiVersion: 1,
      register(c) { c.register(Symbol.for('evtchn.EventAbi'), { useValue: { name: 'half', maxPorts: () => 8, createGuestSide() {} } }); } });\n`;
    const path = config('load', 'abis: [{ module: ./half.mjs }]\n', { 'half.mjs': half });
    const quiet = await run(['validate', path]);
    expect(quiet.code).toBe(0);
    expect(quiet.out).toMatch(/abis\[0\]\.module: \.\/half\.mjs -> .*half\.mjs \(resolved, not loaded\)/);
    const loaded = await run(['validate', path, '--load']);
    expect(loaded.code).toBe(2);
    expect(loaded.err).toContain("'abis[0]': plugin 'abi-half' its EventAbi has no 'createHypervisorSide' (a method the contract requires)");
  });

  it('--load says that plugin code ran', async () => {
    const ok = `export default () => ({ name: 'policy-ok', kind: 'policy', register(c) {
      c.register(Symbol.for('evtchn.SecurityPolicy'), { useValue: { name: 'ok', evtchnUnbound: () => 0, evtchnInterdomain: () => 0,
        evtchnSend: () => 0, evtchnStatus: () => 0, evtchnReset: () => 0, pirqAccess: () => 0 } }); } });\n`;
    const path = config('load-ok', 'policy: { module: ./ok.mjs }\n', { 'ok.mjs': ok });
    const r = await run(['validate', path, '--load']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/loaded 1 module\(s\) and ran the registration checks of 5 plugin\(s\) \(plugin code was executed\)/);
  });
});

describe('evtchn plugin new', () => {
  it('refuses an unknown kind and a folder that is not empty', async () => {
    expect((await run(['plugin', 'new', join(root, 'k'), '--kind', 'abi ']).then((r) => r.code))).toBe(2);
    const dir = join(root, 'full');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'x'), '');
    const r = await run(['plugin', 'new', dir, '--kind', 'abi']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('the folder exists and is not empty');
  });

  it('writes a package with peer dependencies, a NodeNext tsconfig and a vitest setup loading reflect-metadata', async () => {
    const dir = join(root, 'evtchn-policy-mine');
    const r = await run(['plugin', 'new', dir, '--kind', 'policy']);
    expect(r.code).toBe(0);
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(Object.keys(pkg.peerDependencies!).sort()).toEqual(['@evtchn/core', 'reflect-metadata', 'tsyringe']);
    expect(pkg.dependencies?.['@evtchn/core']).toBeUndefined();
    expect(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).toContain('"module": "NodeNext"');
    expect(readFileSync(join(dir, 'vitest.setup.ts'), 'utf8')).toBe("import 'reflect-metadata';\n");
    expect(readFileSync(join(dir, 'src/policy.test.ts'), 'utf8')).toContain('describeSecurityPolicyConformance');
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('peer dependencies');
  });
});
