/*
 * The command line's behaviour in process: --version, --json on every command, one-line usage
 * errors, exit codes in --help, strict arguments, and `validate` rejecting what `run` rejects.
 */
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from './main.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const example = `${root}examples/x86-dom0-fifo/platform.yaml`;
const scenario = `${root}conformance/hypercall/ipi_rules.json`;

function capture(env: NodeJS.ProcessEnv = {}): CliIo & { text: () => string; errText: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => void (out += t), err: (t) => void (err += t), env, text: () => out, errText: () => err };
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(argv, io);
  return { code, out: io.text(), err: io.errText() };
}

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'evtchn-cli-'));
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

describe('evtchn basics', () => {
  it('prints its version', async () => {
    const pkg = JSON.parse(readFileSync(`${root}packages/cli/package.json`, 'utf8')) as { version: string };
    expect(await cli('--version')).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' });
  });

  it('answers a usage error with one line and a hint, not the help', async () => {
    for (const argv of [['run'], ['frobnicate'], ['run', example, '--bogus']]) {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      const lines = r.err.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^evtchn: /);
      expect(lines[1]).toMatch(/^\(run 'evtchn (run )?--help' for usage\)$/);
    }
  });

  it('lists the exit codes in --help', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Exit codes:\n {2}0 +success\n {2}1 +.*\n {2}2 +bad input.*\n {2}3 +a run stopped early.*\n {2}70 +internal error/);
    expect(r.out).not.toContain('\x1b'); // no colour, whatever FORCE_COLOR says
  });

  it('takes integers strictly', async () => {
    for (const argv of [
      ['lsevtchn', scenario, ''],
      ['lsevtchn', scenario, ' 0'],
      ['dump', scenario, '0x0'],
      ['dump', scenario, '1e0'],
      ['run', example, '--seed', '1.5', '--no-progress'],
      ['run', example, '--seed', '', '--no-progress'],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/^evtchn: (domid|--seed): expected an integer/);
    }
  });

  it('fails conform on a folder with no vectors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-empty-'));
    const r = await cli('conform', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no conformance vectors here');
  });

  it('refuses a configuration nested 200,000 deep as a configuration error (exit 2, not 70)', async () => {
    const file = tmpFile('deep.json', `{"arch": ${'['.repeat(200_000)}${']'.repeat(200_000)}, "domains": [{"id": 0}]}`);
    for (const cmd of ['validate', 'run']) {
      const r = await cli(cmd, file, ...(cmd === 'run' ? ['--no-progress'] : []));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/deep\.json:1:\d+: nested more than 64 levels deep/);
    }
  });
});

describe('--json on every command', () => {
  it('run: the report with /proc/interrupts as data and as text', async () => {
    const r = await cli('run', example, '--duration', '2ms', '--json', '--no-progress');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { domains: { name: string; procInterrupts: string; interrupts: { cpus: number[]; rows: { irq: number; counts: number[]; chip: string; handler?: string; actions: string[] }[] } }[] };
    const dom0 = report.domains.find((d) => d.name === 'dom0')!;
    expect(dom0.procInterrupts).toContain('xen-dyn-lateeoi');
    expect(dom0.interrupts.cpus).toEqual([0, 1, 2, 3]);
    const vif = dom0.interrupts.rows.find((x) => x.actions.includes('vif1.0-be'))!;
    expect(vif).toMatchObject({ chip: 'xen-dyn-lateeoi', handler: 'event' });
    expect(vif.counts).toHaveLength(4);
    // The structured rows are the text's rows.
    expect(dom0.interrupts.rows.map((x) => x.irq)).toEqual(dom0.procInterrupts.split('\n').slice(1).filter(Boolean).map((l) => Number(l.split(':')[0])));
  });

  it('validate, replay, conform, lsevtchn and dump', async () => {
    const v = await cli('validate', example, '--json');
    expect(JSON.parse(v.out)).toMatchObject({ valid: true, domains: 4, workloads: 13, problems: [] });

    const rp = await cli('replay', scenario, '--json');
    const steps = (JSON.parse(rp.out) as { steps: unknown[] }).steps;
    expect(steps.length).toBeGreaterThan(3);
    const re = await cli('replay', scenario, '--expect', scenario.replace(/\.json$/, '.expected.jsonl'), '--json');
    expect(JSON.parse(re.out)).toMatchObject({ match: true, steps: steps.length });

    const dir = mkdtempSync(join(tmpdir(), 'evtchn-conf-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.json'), readFileSync(scenario));
    writeFileSync(join(dir, 'a.expected.jsonl'), readFileSync(scenario.replace(/\.json$/, '.expected.jsonl')));
    const c = await cli('conform', dir, '--json');
    expect(JSON.parse(c.out)).toEqual({ passed: 1, failed: 0, vectors: [{ file: join(dir, 'a.json'), ok: true }] });

    const ls = await cli('lsevtchn', example, '1', '--duration', '1ms', '--json');
    const ports = (JSON.parse(ls.out) as { domain: number; ports: { port: number; status: string; remoteDomain?: number }[] }).ports;
    expect(ports.length).toBeGreaterThan(3);
    expect(ports).toContainEqual(expect.objectContaining({ status: 'interdomain', remoteDomain: 0 }));

    const d = await cli('dump', example, '--duration', '1ms', '--json');
    const doms = (JSON.parse(d.out) as { domains: { id: number; ports: { pending: boolean; masked: boolean }[] }[] }).domains;
    expect(doms.map((x) => x.id)).toEqual([0, 1, 2, 3]);
    expect(typeof doms[0]!.ports[0]!.pending).toBe('boolean');
  });
});

describe('evtchn validate rejects what evtchn run rejects', () => {
  const pairs = (n: number): string => Array.from({ length: n }, () => '  - { type: interdomain, frontend: 1, backend: 0, rate: 100 }').join('\n');
  const config = (maxPort: number): string => `arch: { name: x86 }\ndomains: [{ id: 0 }, { id: 1, maxEvtchnPort: ${maxPort} }]\nworkloads:\n${pairs(4)}\nrun: { duration: 1ms }\n`;

  it('maxEvtchnPort: 3 with 4 device pairs: both refuse with the same clear message; 4 is enough for both', async () => {
    const bad = tmpFile('ports.yaml', config(3));
    const v = await cli('validate', bad);
    const r = await cli('run', bad, '--no-progress');
    expect(v.code).toBe(2);
    expect(r.code).toBe(2);
    for (const out of [v.err, r.err]) expect(out).toMatch(/ports\.yaml:2:\d+: domains\[1\]\.maxEvtchnPort: 3 is too small: the workloads bind 4 event channel\(s\)/);
    const good = tmpFile('ports.yaml', config(4));
    expect((await cli('validate', good)).code).toBe(0);
    expect((await cli('run', good, '--no-progress')).code).toBe(0);
  });

  it('counts the channels of timers, IPIs and pirqs exactly: the least maxEvtchnPort that runs is the one validate asks for', async () => {
    const mixed = (maxPort: number): string => `arch: { name: x86 }
domains: [{ id: 0, vcpus: 2 }, { id: 1, vcpus: 2, maxEvtchnPort: ${maxPort} }]
workloads:
  - { type: interdomain, frontend: 1, backend: 0, rate: 100 }
  - { type: timer, domain: 1, hz: 100 }
  - { type: ipi, domain: 1, from: 0, to: 1, rate: 10 }
  - { type: pirq, gsi: 20, rate: 10, domains: [1] }
  - { type: pirq, msi: true, rate: 10, domains: [1] }
run: { duration: 1ms }
`;
    const enough = tmpFile('mixed.yaml', mixed(7));
    expect((await cli('run', enough, '--no-progress')).code).toBe(0);
    const short = tmpFile('mixed.yaml', mixed(6));
    const v = await cli('validate', short);
    expect(v.code).toBe(2);
    expect(v.err).toContain('domains[1].maxEvtchnPort: 6 is too small: the workloads bind 7 event channel(s)');
  });

  it('plugin options are checked: nrPcpus -5 is a problem with its position, not a DI error', async () => {
    const file = tmpFile('opts.yaml', 'arch: { name: x86, options: { nrPcpus: -5, msi: true } }\ndomains: [{ id: 0, vcpu: 2 }]\n');
    const v = await cli('validate', file, '--json');
    expect(v.code).toBe(2);
    const problems = (JSON.parse(v.out) as { valid: boolean; problems: { message: string; line: number; column: number }[] }).problems;
    expect(problems).toEqual([
      { message: 'arch.options.nrPcpus: must be >= 1, got -5', path: 'arch.options.nrPcpus', line: 1, column: 40 },
      { message: expect.stringMatching(/^domains\[0\]: unknown key "vcpu" \(did you mean "vcpus"\?\)/), path: 'domains[0].vcpu', line: 2, column: 20 },
    ]);
    const r = await cli('run', file, '--no-progress');
    expect(r.code).toBe(2);
    expect(r.err).toContain('arch.options.nrPcpus: must be >= 1, got -5');
    // Too big is refused before it reaches a typed-array allocation.
    const huge = tmpFile('huge.yaml', 'arch: { name: x86, options: { nrPcpus: 100000000 } }\ndomains: [{ id: 0 }]\n');
    const h = await cli('validate', huge);
    expect(h.code).toBe(2);
    expect(h.err).toContain('arch.options.nrPcpus: must be <= 1024, got 100000000');
  });

  it('a bind the model refuses is found by validate, with the errno named', async () => {
    // Domain 1 may only bind pirqs it was granted, but the pirq space is exhausted: nrPirqs 0.
    const file = tmpFile('pirq.yaml', 'arch: { name: x86 }\ndomains: [{ id: 0 }, { id: 1, nrPirqs: 0 }]\nworkloads: [{ type: pirq, gsi: 20, rate: 10, domains: [1] }]\n');
    const v = await cli('validate', file);
    const r = await cli('run', file, '--no-progress');
    expect(r.code).toBe(2);
    expect(v.code).toBe(2);
    expect(v.err).toMatch(/\(-\d+ E[A-Z]+\)/);
  });

  it('warns, with an estimate, when a run will take very long', async () => {
    const file = tmpFile('long.yaml', 'arch: { name: x86 }\ndomains: [{ id: 0 }, { id: 1 }]\nworkloads: [{ type: interdomain, frontend: 1, backend: 0, rate: 1000000 }]\nrun: { duration: 1000s }\n');
    const v = await cli('validate', file);
    expect(v.code).toBe(0);
    expect(v.err).toMatch(/^evtchn: warning: this run will take very long: about 2\.0e\+9 notifications in 1000 s of virtual time, roughly \d+h\d\dm of wall time/);
    expect((await cli('validate', example)).err).toBe('');
  });
});
