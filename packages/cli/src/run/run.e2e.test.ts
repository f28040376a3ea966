/*
 * `evtchn run`, `validate`, `lsevtchn` and `dump` end to end: the default example, seeded
 * determinism, and every malformed configuration fixture failing with its message and exit 2.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from '../main.js';
import { runConfigFile } from './command.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const example = `${root}examples/x86-dom0-fifo/platform.yaml`;
const badDir = `${root}packages/cli/fixtures/bad-config/`;

function capture(): CliIo & { out: (t: string) => void; text: () => string; errText: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => void (out += t), err: (t) => void (err += t), text: () => out, errText: () => err };
}

describe('evtchn run on the default example', () => {
  it('delivers every workload to its domain', async () => {
    const { report } = await runConfigFile(example, { duration: '5ms' });
    expect(report.arch).toBe('x86');
    expect(report.domains.map((d) => d.name)).toEqual(['dom0', 'web', 'db', 'batch']);
    for (const d of report.domains) {
      expect(d.abi).toBe('fifo');
      expect(d.delivered).toBeGreaterThan(0);
      expect(d.dropped).toBe(0);
      // Every notification is either delivered or merged into a pending one.
      expect(d.delivered).toBeGreaterThanOrEqual(d.sent - d.coalesced);
      // And the counts add up: what is neither was still pending at the end (a few ports at most).
      // The pending bit bind_interdomain sets counts as sent (dom0's backends: 5 of them).
      expect(d.sent - d.delivered - d.coalesced).toBeGreaterThanOrEqual(0);
      expect(d.sent - d.delivered - d.coalesced).toBeLessThanOrEqual(8);
    }
    // The shared GSI reaches both guests as a pirq.
    for (const name of ['web', 'db']) expect(report.domains.find((d) => d.name === name)!.procInterrupts).toMatch(/xen-pirq\s+-ioapic-level\s+shared-nic/);
    // The MSI passed through to db is delivered as a pirq too.
    expect(report.domains.find((d) => d.name === 'db')!.procInterrupts).toMatch(/^\s*\d+:\s+[1-9]\d*\s+\d+\s+xen-pirq\s+-msi\s+nvme0/m);
    expect(report.latency.map((l) => l.priority)).toEqual([3, 5, 7, 9]);
    for (const l of report.latency) expect(l.p50).toBeLessThanOrEqual(l.p99);
  });

  it('prints the summary and exits 0', async () => {
    const io = capture();
    expect(await main(['run', example, '--duration', '2ms', '--no-progress'], io)).toBe(0);
    expect(io.text()).toMatch(/^run: arch x86, ABIs 2level\+fifo, 2 ms of virtual time, seed 42/);
    expect(io.text()).toContain('/proc/interrupts of dom0:');
  });

  it('gives byte-identical traces and reports for the same seed, different ones for another', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-run-'));
    const outs: string[] = [];
    for (const [i, seed] of [7, 7, 8].entries()) {
      const io = capture();
      expect(await main(['run', example, '--duration', '3ms', '--seed', String(seed), '--trace', `${dir}/t${i}.jsonl`, '--no-progress'], io)).toBe(0);
      outs.push(io.text() + readFileSync(`${dir}/t${i}.jsonl`, 'utf8'));
    }
    expect(outs[0]!.length).toBeGreaterThan(1000);
    expect(outs[1]).toBe(outs[0]);
    expect(outs[2]).not.toBe(outs[0]);
  });

  it('lists and dumps the channels after a run', async () => {
    const io = capture();
    expect(await main(['lsevtchn', example, '1', '--duration', '1ms'], io)).toBe(0);
    expect(io.text()).toMatch(/Interdomain \(Connected\) - Remote Domain 0/);
    const io2 = capture();
    expect(await main(['dump', example, '0', '--duration', '1ms'], io2)).toBe(0);
    expect(io2.text()).toMatch(/Event channel information for domain 0:/);
    expect(io2.text()).toMatch(/s=3 n=\d x=0 d=1 p=\d+/);
  });
});

describe('evtchn run on other platforms', () => {
  it('keeps delivering on a 2-level-only platform (guest-local unmasks force the callback)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-2l-'));
    const file = `${dir}/2l.yaml`;
    writeFileSync(
      file,
      `arch: { name: x86 }
abis: [2level]
domains: [{ id: 0, vcpus: 2 }, { id: 1, vcpus: 2 }]
workloads: [{ type: interdomain, frontend: 1, backend: 0, rate: 20000, vcpu: 0 }]
run: { duration: 5ms }
`,
    );
    const { report } = await runConfigFile(file);
    for (const d of report.domains) {
      expect(d.abi).toBe('2level');
      expect(d.sent).toBeGreaterThan(50);
      expect(d.delivered).toBeGreaterThanOrEqual(d.sent - d.coalesced);
    }
  });

  const modules = `${root}examples/configs/plugins-from-modules.yaml`;
  it.skipIf(!existsSync(`${root}examples/custom-abi-plugin/dist/index.js`))(
    'loads the 3-level ABI and the FLASK-like policy named by module specifier',
    async () => {
      // The example's modules live beside its folder, not under it.
      const { report } = await runConfigFile(modules, { modules: { allowOutsideModules: true } });
      expect(report.abis).toEqual(['3level']);
      const dom0 = report.domains.find((d) => d.name === 'dom0')!;
      expect(dom0.abi).toBe('3level');
      expect(dom0.delivered).toBeGreaterThan(10);
    },
  );
});

describe('malformed configuration files', () => {
  const files = readdirSync(badDir).sort();
  it('has at least 20 fixtures', () => expect(files.length).toBeGreaterThanOrEqual(20));
  for (const name of files) {
    it(`${name}: exit 2 with the expected message`, async () => {
      const path = badDir + name;
      const text = readFileSync(path, 'utf8');
      const expected = name.endsWith('.json')
        ? ['JSON syntax error']
        : text
            .split('\n')
            .filter((l) => l.startsWith('# expect: '))
            .map((l) => l.slice('# expect: '.length));
      expect(expected.length).toBeGreaterThan(0);
      const io = capture();
      // The module fixtures name ../plugins/*.mjs, beside this folder: allowed explicitly.
      const code = await main(['run', path, '--no-progress', '--allow-outside-modules'], io);
      expect(io.errText()).not.toMatch(/\n\s+at /); // no stack trace
      for (const e of expected) expect(io.errText()).toContain(e);
      expect(code).toBe(2);
      const io2 = capture();
      expect(await main(['validate', path, '--load', '--allow-outside-modules'], io2)).toBe(2);
    });
  }
});

describe('evtchn run --trace streams to its file', () => {
  it('writes every traced event to the file as it goes and keeps none in memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-trace-'));
    const tracePath = join(dir, 'trace.jsonl');
    const result = await runConfigFile(example, { duration: '5ms', tracePath });
    expect(Object.keys(result)).toEqual(['report', 'sim']);
    const lines = readFileSync(tracePath, 'utf8').trimEnd().split('\n');
    const events = lines.map((l) => JSON.parse(l) as { ev: string; t: number });
    const handled = events.filter((e) => e.ev === 'handle').length;
    expect(handled).toBe(result.report.domains.reduce((n, d) => n + d.delivered, 0));
    // Lines are in virtual-time order.
    for (let i = 1; i < events.length; i++) expect(events[i]!.t).toBeGreaterThanOrEqual(events[i - 1]!.t);
  });

  it('fails on a trace path it cannot create before doing any work', async () => {
    const io = capture();
    const code = await main(['run', example, '--trace', '/nonexistent-dir/trace.jsonl'], io);
    expect(code).toBe(2);
    expect(io.errText()).toMatch(/--trace \/nonexistent-dir\/trace\.jsonl: cannot create the trace file/);
    expect(io.text()).toBe('');
  });
});

describe('a run that stops early', () => {
  it('prints the report so far and exits 3 when a plugin hook throws mid-run', async () => {
    const io = capture();
    const code = await main(['run', `${root}packages/cli/fixtures/plugins/faulty-policy.yaml`], io);
    expect(code).toBe(3);
    expect(io.text()).toMatch(/dom0/);
    // The hypervisor's PolicyGate names the policy and the hook, keeping the original message.
    expect(io.errText()).toMatch(/the run stopped at .* of virtual time: security policy 'faulty': hook evtchnSend threw: Error: faulty-policy: evtchnSend broke/);
    const { report } = await runConfigFile(`${root}packages/cli/fixtures/plugins/faulty-policy.yaml`);
    expect(report.stopped!.error).toBe("security policy 'faulty': hook evtchnSend threw: Error: faulty-policy: evtchnSend broke");
    expect(report.stopped!.atNs).toBeGreaterThan(0);
    expect(report.stopped!.atNs).toBeLessThan(20_000_000);
    // The counts stop where the run did: 49 sends went through, the 50th threw.
    const dom0 = report.domains.find((d) => d.id === 0)!;
    expect(dom0.delivered).toBeGreaterThan(0);
  });
});

describe('run metrics per vCPU and per port', () => {
  it('per-port rows add up to the domain totals; each vCPU reports its interrupt time', async () => {
    const { report } = await runConfigFile(example, { duration: '5ms' });
    for (const d of report.domains) {
      const sum = (k: 'sent' | 'delivered' | 'coalesced'): number => d.ports.reduce((n, p) => n + p[k], 0);
      expect(sum('sent')).toBe(d.sent);
      expect(sum('delivered')).toBe(d.delivered);
      expect(sum('coalesced')).toBe(d.coalesced);
      for (const p of d.ports) if (p.delivered > 0) expect(p.waitMax).toBeGreaterThanOrEqual(p.waitMean);
      expect(d.vcpus.reduce((n, v) => n + v.upcalls, 0)).toBe(d.upcalls);
      for (const v of d.vcpus) {
        expect(v.interruptShare).toBeGreaterThanOrEqual(0);
        expect(v.interruptShare).toBeLessThan(0.5);
        expect(v.livelocked).toBe(false);
      }
      expect(d.vcpus.some((v) => v.interruptNs > 0)).toBe(true);
    }
  });
});
