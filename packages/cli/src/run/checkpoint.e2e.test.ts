/*
 * `evtchn run --checkpoint AT --checkpoint-out FILE` then `evtchn run --resume FILE`, end to
 * end: the two runs' stdout (text or --json) and trace files, put together, are byte for byte
 * those of the run that never stopped; broken or hand-edited snapshots fail with exit 2 and
 * the JSON path of the bad field, and a failed resume hands back nothing half-built.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SnapshotError, type JsonValue } from '@evtchn/core';
import { Simulation } from '@evtchn/sim';
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from '../main.js';
import { loadConfigFile } from './command.js';
import { resolvePlugins } from './plugins.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const x86 = `${root}examples/x86-dom0-fifo/platform.yaml`;

function capture(): CliIo & { text: () => string; errText: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => void (out += t), err: (t) => void (err += t), text: () => out, errText: () => err };
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(argv, io);
  return { code, out: io.text(), err: io.errText() };
}

/** An Arm configuration without vtimer workloads (their tick model is not saved yet). */
function armConfig(dir: string): string {
  const file = join(dir, 'arm.yaml');
  writeFileSync(
    file,
    [
      'arch: { name: arm, pcpus: 2 }',
      'abis: [2level, fifo]',
      'guest: { name: linux, fifo: false }',
      'domains:',
      '  - { id: 0, vcpus: 2 }',
      '  - { id: 1, vcpus: 2 }',
      'workloads:',
      '  - { type: interdomain, frontend: 1, backend: 0, rate: 60000 }',
      '  - { type: timer, domain: 1, hz: 1000 }',
      '  - { type: ipi, domain: 0, from: 0, to: 1, rate: 20000 }',
      'run: { duration: 6ms, seed: 9 }',
      '',
    ].join('\n'),
  );
  return file;
}

describe('evtchn run --checkpoint / --resume', () => {
  it('text report and trace: checkpoint run + resumed run = the run that never stopped (x86 demo)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-ckpt-'));
    const full = await cli('run', x86, '--duration', '8ms', '--trace', join(dir, 'full.trace'), '--no-progress');
    expect(full.code).toBe(0);
    const snap = join(dir, 'snap.json');
    const a = await cli('run', x86, '--duration', '8ms', '--checkpoint', '3.25ms', '--checkpoint-out', snap, '--trace', join(dir, 'a.trace'), '--no-progress');
    expect(a.code).toBe(0);
    expect(a.out).toBe('');
    expect(a.err).toMatch(/run saved at 3\.25 ms of virtual time to .*snap\.json \(\d+ bytes\)/);
    const b = await cli('run', '--resume', snap, '--trace', join(dir, 'b.trace'), '--no-progress');
    expect(b.code).toBe(0);
    expect(a.out + b.out).toBe(full.out);
    expect(readFileSync(join(dir, 'a.trace'), 'utf8') + readFileSync(join(dir, 'b.trace'), 'utf8')).toBe(readFileSync(join(dir, 'full.trace'), 'utf8'));
    // The checkpoint really split the trace.
    expect(readFileSync(join(dir, 'a.trace'), 'utf8').length).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'b.trace'), 'utf8').length).toBeGreaterThan(0);
  });

  it('--json report: the same document as the uninterrupted run (Arm, 2-level)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-ckpt-'));
    const cfg = armConfig(dir);
    const full = await cli('run', cfg, '--json', '--no-progress');
    expect(full.code).toBe(0);
    const snap = join(dir, 'arm.json');
    expect((await cli('run', cfg, '--checkpoint', '2.5ms', '--checkpoint-out', snap, '--no-progress')).code).toBe(0);
    const b = await cli('run', '--resume', snap, '--json', '--no-progress');
    expect(b.code).toBe(0);
    expect(b.out).toBe(full.out);
    expect(JSON.parse(b.out).scheduler.contextSwitches).toBeGreaterThan(0);
  });

  it('refuses inconsistent flags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-ckpt-'));
    expect((await cli('run', x86, '--checkpoint', '1ms')).err).toMatch(/--checkpoint and --checkpoint-out go together/);
    expect((await cli('run', x86, '--checkpoint', '50ms', '--checkpoint-out', join(dir, 's.json'))).err).toMatch(/--checkpoint: expected a time below the run's duration/);
    const snap = join(dir, 's.json');
    await cli('run', x86, '--duration', '2ms', '--checkpoint', '1ms', '--checkpoint-out', snap, '--no-progress');
    const r = await cli('run', '--resume', snap, '--seed', '3');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--seed cannot be given/);
    expect((await cli('run', '--resume', snap, '--report', join(dir, 'r.html'))).err).toMatch(/--report cannot be combined with --checkpoint or --resume/);
    expect((await cli('run')).err).toMatch(/missing required argument 'config' \(or --resume SNAPSHOT\)/);
  });

  it('a broken or hand-edited snapshot fails with exit 2 and the JSON path of the bad field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-ckpt-'));
    const snap = join(dir, 'snap.json');
    await cli('run', x86, '--duration', '4ms', '--checkpoint', '2ms', '--checkpoint-out', snap, '--no-progress');
    const good = JSON.parse(readFileSync(snap, 'utf8')) as Record<string, any>;
    const cases: Array<[string, (d: Record<string, any>) => void, RegExp]> = [
      ['another version', (d) => (d.version = 2), /^evtchn: snapshot: version: snapshot version 2 cannot be loaded by this build, which reads version 1$/m],
      ['another format', (d) => (d.format = 'something'), /format: expected "evtchn-lab\/run"/],
      ['a port state', (d) => (d.platform.hypervisor.domains[1].ports.state[7] = 9), /platform\.hypervisor\.domains\[1\]\.ports\.state\[7\]: expected one of 0 \(FREE\), .*6 \(IPI\), got 9/],
      ['a runner time', (d) => (d.platform.runner[0].busyUntil[0] = 'x'), /platform\.runner\[0\]\.busyUntil\[0\]: expected a finite number, got "x"/],
      ['a handler list', (d) => (d.platform.guests[2].irqs[3].actions = ['nope']), /platform\.guests\[2\]\.irqs\[3\]\.actions: expected the handlers/],
      ['the RNG', (d) => (d.run.rng = -1), /run\.rng: expected an integer 0\.\.4294967295, got -1/],
      ['a LAPIC register', (d) => delete d.platform.arch.irqs.lapics[0].irr, /platform\.arch\.irqs\.lapics\[0\]\.irr: expected an array, got nothing/],
      ['a FIFO page', (d) => (d.platform.hypervisor.domains[0].abiState.eventGfns = [1e12]), /platform\.hypervisor\.domains\[0\]\.abiState\.eventGfns\[0\]: guest frame .* is outside/],
      ['a scheduler where there is none', (d) => (d.platform.scheduler = { ...d.platform.scheduler }), /platform\.scheduler: expected null/],
      ['a stream timer', (d) => (d.run.streams[0] = { at: -5, seq: 1 }), /run\.streams\[0\]\.at: expected a finite number >= 0, got -5/],
      ['a FIFO priority', (d) => (d.platform.hypervisor.domains[1].ports.priority[2] = 16), /ports\.priority\[2\]: expected a FIFO priority 0\.\.15, got 16/],
    ];
    for (const [what, edit, message] of cases) {
      const doc = structuredClone(good);
      edit(doc);
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify(doc));
      const r = await cli('run', '--resume', file);
      expect(r.code, what).toBe(2);
      expect(r.out, what).toBe('');
      expect(r.err, what).toMatch(message);
    }
    writeFileSync(join(dir, 'cut.json'), readFileSync(snap, 'utf8').slice(0, 4000));
    const cut = await cli('run', '--resume', join(dir, 'cut.json'));
    expect(cut.code).toBe(2);
    expect(cut.err).toMatch(/cannot read the snapshot/);
  });

  it('a resume that fails hands back nothing, and the run it was taken from is untouched', async () => {
    const cfg = loadConfigFile(x86);
    const plugins = await resolvePlugins(cfg, dirname(x86));
    const opts = { durationNs: 3_000_000, seed: 5 };
    const whole = JSON.stringify(new Simulation(cfg, plugins, opts).run());
    const sim = new Simulation(cfg, plugins, opts);
    sim.runUntil(1_000_000);
    const snap = JSON.parse(JSON.stringify(sim.snapshot())) as Record<string, any>;
    // Broken late: after the platform's parts were set, in the run's own state.
    snap.run.latency = [['x', null]];
    let resumed: Simulation | undefined;
    let error: unknown;
    try {
      resumed = Simulation.resume(snap as JsonValue, await resolvePlugins(cfg, dirname(x86)));
    } catch (e) {
      error = e;
    }
    expect(resumed).toBeUndefined();
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as SnapshotError).path).toBe('run.latency[0][0]');
    // The original simulation was only read: it finishes exactly like the uninterrupted run.
    expect(JSON.stringify(sim.run())).toBe(whole);
  });

  it('a snapshot of a resumed run is the snapshot of the run that never stopped, at any later time', async () => {
    // The run keeps bookkeeping (e.g. which ports wait for a delivery) in structures whose
    // order depends on history; the snapshot must not, or two equal runs would save differently.
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-order-'));
    const file = join(dir, 'many.yaml');
    // Several channels into one domain, fast enough that a few wait at once.
    writeFileSync(
      file,
      [
        'arch: { name: x86, pcpus: 2 }',
        'abis: [2level, fifo]',
        'guest: { name: linux, fifo: true }',
        'domains: [{ id: 0, vcpus: 2 }, { id: 1, vcpus: 1 }, { id: 2, vcpus: 1 }]',
        'workloads:',
        '  - { type: interdomain, frontend: 1, backend: 0, rate: 400000 }',
        '  - { type: interdomain, frontend: 2, backend: 0, rate: 300000 }',
        '  - { type: interdomain, frontend: 1, backend: 0, rate: 500000 }',
        '  - { type: ipi, domain: 0, from: 0, to: 1, rate: 200000 }',
        '',
      ].join('\n'),
    );
    const cfg = loadConfigFile(file);
    const plugins = await resolvePlugins(cfg, dir);
    const opts = { durationNs: 4_000_000, seed: 3 };
    const whole = new Simulation(cfg, plugins, opts);
    const first = new Simulation(cfg, plugins, opts);
    first.runUntil(1_000_000);
    const resumed = Simulation.resume(JSON.parse(JSON.stringify(first.snapshot())) as JsonValue, await resolvePlugins(cfg, dir));
    let together = 0;
    for (let at = 1_000_000 + 7_919; at < 4_000_000; at += 61_333) {
      whole.runUntil(at);
      resumed.runUntil(at);
      const a = whole.snapshot() as unknown as { run: { firstPending: [number, [number, number][]][] } };
      expect(JSON.stringify(resumed.snapshot()), `at ${at} ns`).toBe(JSON.stringify(a));
      for (const [, ports] of a.run.firstPending) {
        if (ports.length > 1) together++;
        expect(ports.map(([port]) => port)).toEqual([...new Set(ports.map(([port]) => port))].sort((x, y) => x - y));
      }
    }
    // The checkpoints did catch several ports of one domain waiting for their deliveries.
    expect(together).toBeGreaterThan(0);
    rmSync(dir, { recursive: true, force: true });
  });
});

