/*
 * Sweeps: the grid, the table, the comparison across seeds, and shards run as separate
 * processes merging into exactly the unsharded table. Needs the built CLI (worker threads and
 * the shard processes run dist/).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from '../main.js';
import { loadStudy, parseShard, shardRuns } from './study.js';
import { medianIntervalIndices, summarise } from './table.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const study = `${root}packages/cli/fixtures/study/study.yaml`;
const bin = `${root}packages/cli/bin/evtchn.js`;
const built = existsSync(`${root}packages/cli/dist/sweep/worker.js`);

function capture(): CliIo & { text: () => string; errText: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => void (out += t), err: (t) => void (err += t), env: {}, text: () => out, errText: () => err };
}

function spawnCli(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root });
    let err = '';
    child.stderr.on('data', (d: Buffer) => void (err += d.toString()));
    child.on('close', (code) => resolve({ code, err }));
  });
}

describe('study grids', () => {
  it('expands configs x parameters x seeds in a fixed order, and shards partition it', () => {
    const s = loadStudy(study);
    expect(s.runs).toHaveLength(12);
    expect(s.runs[0]).toMatchObject({ index: 0, params: { abis: ['2level'], 'workloads[0].rate': 20000 }, seed: 1 });
    expect(s.runs[11]).toMatchObject({ index: 11, params: { abis: ['fifo'], 'workloads[0].rate': 80000 }, seed: 3 });
    const shards = [1, 2, 3, 4].map((i) => shardRuns(s.runs, i, 4).map((r) => r.index));
    expect(shards.flat().sort((a, b) => a - b)).toEqual(s.runs.map((r) => r.index));
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '1', 'a/b']) expect(() => parseShard(bad)).toThrow(/--shard/);
  });

  it('gives the 95 % interval of the median by order statistics', () => {
    // n = 30: x(10)..x(21), coverage 0.957 (a binomial table); fewer than 6 samples: min..max.
    expect(medianIntervalIndices(30)).toEqual([9, 20]);
    expect(medianIntervalIndices(5)).toEqual([0, 4]);
    expect(medianIntervalIndices(6)).toEqual([0, 5]);
    expect(summarise([{ run: 0, runs: 3, config: 'c', seed: 1, m: 3 }, { run: 1, runs: 3, config: 'c', seed: 2, m: 1 }, { run: 2, runs: 3, config: 'c', seed: 3, m: 2 }])).toEqual([
      { config: 'c', params: {}, metrics: { m: { n: 3, median: 2, low: 1, high: 3 } } },
    ]);
  });
});

describe.skipIf(!built)('evtchn sweep', () => {
  it('writes one row per run with every metric, and compares the groups across seeds', async () => {
    const out = mkdtempSync(join(tmpdir(), 'evtchn-sweep-'));
    const io = capture();
    expect(await main(['sweep', study, '--out', out, '--jobs', '2', '--no-progress'], io), io.errText()).toBe(0);
    const rows = readFileSync(join(out, 'runs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r.run)).toEqual([...Array(12).keys()]);
    expect(rows[0]).toMatchObject({ config: 'platform.yaml', seed: 1, 'param.abis': '["2level"]', 'param.workloads[0].rate': 20000 });
    expect(rows[0]!['total.delivered']).toBeGreaterThan(0);
    expect(rows[0]).toHaveProperty('latency.2level.p99');
    expect(rows[11]).toHaveProperty('latency.prio3.p99');
    // A higher rate sends more.
    expect(rows[3]!['total.sent']).toBeGreaterThan(rows[0]!['total.sent'] as number);
    const csv = readFileSync(join(out, 'runs.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(13);
    expect(csv[0]).toMatch(/^run,runs,config,seed,param\.abis,param\.workloads\[0\]\.rate,/);
    expect(io.text()).toMatch(/median across 3 seed\(s\) \[95 % interval of the median\]/);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toHaveLength(4);
  }, 120_000);

  it('4 shards run as separate processes merge into the unsharded table, row for row', async () => {
    const whole = mkdtempSync(join(tmpdir(), 'evtchn-whole-'));
    const sharded = mkdtempSync(join(tmpdir(), 'evtchn-shards-'));
    expect(await main(['sweep', study, '--out', whole, '--jobs', '1', '--no-progress'], capture())).toBe(0);
    const results = await Promise.all([1, 2, 3, 4].map((i) => spawnCli(['sweep', study, '--shard', `${i}/4`, '--out', sharded, '--jobs', '1', '--no-progress'])));
    for (const r of results) expect(r.code, r.err).toBe(0);
    const io = capture();
    expect(await main(['sweep', 'merge', sharded], io), io.errText()).toBe(0);
    for (const f of ['runs.jsonl', 'runs.csv', 'summary.json']) expect(readFileSync(join(sharded, f), 'utf8'), f).toBe(readFileSync(join(whole, f), 'utf8'));
  }, 180_000);

  it('runs the bundled study (examples/study-flood): 120 runs; one shard of it here', async () => {
    const flood = `${root}examples/study-flood/study.yaml`;
    expect(loadStudy(flood).runs).toHaveLength(120);
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-flood-'));
    expect(await main(['sweep', flood, '--shard', '1/40', '--out', dir, '--jobs', '1', '--no-progress'], capture())).toBe(0);
    const rows = readFileSync(join(dir, 'shard-1-of-40.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(rows.map((r) => r.run)).toEqual([0, 40, 80]);
    // The FIFO runs report the urgent device's priority apart from the flood's.
    expect(rows[2]!['latency.prio0.p99']).toBeGreaterThan(0);
    expect(rows[2]!['latency.prio15.p99']).toBeGreaterThan(0);
    // Both ABIs report each device's own wait, by its handler's name (the study compares them).
    for (const r of rows) {
      expect(r['port.dom0.urgent-be.waitMean']).toBeGreaterThan(0);
      expect(r['port.dom0.bulk-be.sent']).toBeGreaterThan(r['port.dom0.urgent-be.sent']!);
    }
  }, 120_000);

  it('refuses to merge when a shard is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-partial-'));
    expect(await main(['sweep', study, '--shard', '1/2', '--out', dir, '--jobs', '1', '--no-progress'], capture())).toBe(0);
    const io = capture();
    expect(await main(['sweep', 'merge', dir], io)).toBe(2);
    expect(io.errText()).toMatch(/6 of 12 runs missing \(e\.g\. run 1\): a shard is missing or unfinished/);
  }, 120_000);
});
