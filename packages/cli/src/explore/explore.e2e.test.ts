import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jsonlLines, readScenario, replayDelivery, runDeliveryReplay } from '@evtchn/conformance';
import { main, type CliIo } from '../index.js';
import { captureReplay, cellsOf, type ExploreCell } from './capture.js';
import { exploreFile } from './command.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const vector = (name: string): string => join(root, 'conformance/delivery', name);

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', env: {} } as CliIo & { stdout: string; stderr: string };
  io.out = (s: string) => void (io.stdout += s);
  io.err = (s: string) => void (io.stderr += s);
  return io;
}

/** The state after each step, rebuilt from the recorded changes as the page rebuilds it. */
function rebuild(changes: ReadonlyArray<Readonly<Record<string, ExploreCell | null>>>): Array<Map<string, ExploreCell>> {
  const state = new Map<string, ExploreCell>();
  return changes.map((c) => {
    for (const [k, v] of Object.entries(c)) {
      if (v === null) state.delete(k);
      else state.set(k, v);
    }
    return new Map(state);
  });
}

describe('evtchn explore: what each step records', () => {
  for (const name of ['hand_01_fifo_strict_priority.json', 'hand_04_2l_multiword_resume.json', 'hand_11_fifo_react_preempt_rebind_linked.json', 'rand_s05_2l.json']) {
    it(`${name}: the lines are the replay's, and the recorded changes rebuild the full state of every step`, () => {
      const scenario = readScenario(vector(name));
      const full: Array<Map<string, ExploreCell>> = [];
      replayDelivery(scenario, { onStep: (view) => full.push(cellsOf(view, (scenario as { vcpus: number }).vcpus)) });
      const data = captureReplay(scenario, name);
      expect(data.steps.map((s) => s.line)).toEqual(runDeliveryReplay(scenario));
      expect(rebuild(data.steps.map((s) => s.changes))).toEqual(full);
      // Only what changed is kept: far fewer cells than the full states hold.
      const kept = data.steps.reduce((n, s) => n + Object.keys(s.changes).length, 0);
      expect(kept).toBeLessThan(full.reduce((n, m) => n + m.size, 0) / 2);
    });
  }

  it('records FIFO queues as the event words link them (hand_01 before its first upcall: priority 7 holds ports 1 then 2)', () => {
    const data = captureReplay(readScenario(vector('hand_01_fifo_strict_priority.json')), 'hand_01');
    const before = rebuild(data.steps.map((s) => s.changes))[7]!;
    const cb = before.get('cb:0') as number[];
    // READY has the three priorities sent to (0, 3, 7); HEAD[7] is port 1, whose LINK is port 2.
    expect(cb[0]).toBe((1 << 0) | (1 << 3) | (1 << 7));
    expect(cb[1 + 7]).toBe(1);
    const word1 = (before.get('port:1') as number[])[6]!;
    expect(word1 & 0x1ffff).toBe(2);
    expect((before.get('tail:0') as number[])[7]).toBe(2);
  });

  it('marks the steps that differ from an expected file, compared as JSON values', () => {
    const scenario = readScenario(vector('hand_01_fifo_strict_priority.json'));
    const expected = jsonlLines(readFileSync(vector('hand_01_fifo_strict_priority.expected.jsonl'), 'utf8'));
    expect(captureReplay(scenario, 'x', expected).firstMismatch).toBe(-1);
    const altered = [...expected];
    altered[13] = '{"op":"upcall","vcpu":0,"delivered":[3,2,1]}';
    const data = captureReplay(scenario, 'x', altered);
    expect(data.firstMismatch).toBe(13);
    expect(data.steps.filter((s) => s.differs)).toHaveLength(1);
    expect(data.steps[13]!.differs).toBe(true);
    // Key order and spacing are not differences.
    const reordered = [...expected];
    reordered[8] = '{ "delivered": [4, 3, 1, 2], "vcpu": 0, "op": "upcall" }';
    expect(captureReplay(scenario, 'x', reordered).firstMismatch).toBe(-1);
  });
});

describe('evtchn explore: the command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evtchn-explore-'));

  it('writes a self-contained page and says so (--json gives the same facts)', async () => {
    const out = join(dir, 'page.html');
    const io = capture();
    const file = vector('hand_01_fifo_strict_priority.json');
    const expect_ = vector('hand_01_fifo_strict_priority.expected.jsonl');
    expect(await main(['explore', file, '-o', out, '--expect', expect_, '--json'], io)).toBe(0);
    expect(JSON.parse(io.stdout)).toEqual({ file, out, abi: 'fifo', steps: 22, expected: expect_ });
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<script id="explore-data" type="application/json">');
    // Nothing is loaded from anywhere: no src= or href= pointing outside the page.
    expect(html).not.toMatch(/\s(src|href)=["'](?!#)/);
  });

  it('names the first difference from an expected file', async () => {
    const expected = readFileSync(vector('hand_01_fifo_strict_priority.expected.jsonl'), 'utf8').replace('"delivered":[2,3,1]', '"delivered":[3,2,1]');
    const altered = join(dir, 'altered.expected.jsonl');
    writeFileSync(altered, expected);
    const io = capture();
    expect(await main(['explore', vector('hand_01_fifo_strict_priority.json'), '-o', join(dir, 'b.html'), '--expect', altered], io)).toBe(0);
    expect(io.stdout).toMatch(/first difference from .* at step 13/);
  });

  it('refuses what it cannot step through, with exit 2 and the reason', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['explore', join(dir, 'missing.json'), '-o', join(dir, 'c.html')], /cannot read/],
      [['explore', join(root, 'conformance/hypercall/ipi_rules.json'), '-o', join(dir, 'd.html')], /evtchn-replay\/1 delivery scenarios/],
      [['explore', vector('hand_01_fifo_strict_priority.json'), '-o', join(dir, 'no-such-dir', 'e.html')], /--out .*cannot write/],
      [['explore', vector('hand_01_fifo_strict_priority.json'), '-o', join(dir, 'f.html'), '--expect', join(dir, 'none.jsonl')], /none\.jsonl.*cannot read/],
    ];
    for (const [argv, message] of cases) {
      const io = capture();
      expect(await main(argv, io), argv.join(' ')).toBe(2);
      expect(io.stderr).toMatch(message);
    }
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ format: 'evtchn-replay/1', abi: 'fifo', vcpus: 1, steps: [{ op: 'bind', vcpu: 0 }, { op: 'send' }] }));
    const io = capture();
    expect(await main(['explore', bad, '-o', join(dir, 'g.html')], io)).toBe(2);
    expect(io.stderr).toContain('$.steps[1].port');
  });

  it('serves the page on 127.0.0.1 with --serve until stopped, and refuses --port without it', async () => {
    const stop = new AbortController();
    const io = capture();
    io.signal = stop.signal;
    const done = main(['explore', vector('hand_03_2l_ascending_then_resume.json'), '--serve', '--json'], io);
    let url: string | undefined;
    for (let i = 0; i < 200 && url === undefined; i++) {
      await new Promise((r) => setTimeout(r, 25));
      if (io.stdout.trim().endsWith('}')) url = (JSON.parse(io.stdout) as { url: string }).url;
    }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('hand_03_2l_ascending_then_resume.json');
    expect((await fetch(new URL('/etc/passwd', url))).status).toBe(404);
    stop.abort();
    expect(await done).toBe(0);
    const usage = capture();
    expect(await main(['explore', vector('hand_03_2l_ascending_then_resume.json'), '--port', '8080'], usage)).toBe(2);
    expect(usage.stderr).toContain('--port needs --serve');
  });

});

describe('evtchn explore: a configuration, one clock instant per step', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evtchn-explore-run-'));

  it('x86: the steps are the run itself: their trace lines, in order, are what evtchn run --trace writes for the same time and seed', async () => {
    const config = join(root, 'examples/x86-dom0-fifo/platform.yaml');
    const { data } = await exploreFile(config, join(dir, 'x86.html'), undefined, { duration: '100us', seed: 7 });
    const trace = join(dir, 'x86.trace');
    expect(await main(['run', config, '--duration', '100us', '--seed', '7', '--trace', trace, '--json'], capture())).toBe(0);
    const traced = jsonlLines(readFileSync(trace, 'utf8'));
    const explored = data.steps.flatMap((s) => (s.line ? s.line.split('\n') : []));
    expect(explored).toEqual(traced);
    expect(data.kind).toBe('run');
    expect(data.domains.map((d) => d.name)).toEqual(['dom0', 'web', 'db', 'batch']);
    // One step per instant, in time order, every cell named after its domain.
    const times = data.steps.map((s) => s.step.t as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBe(times.length);
    const cells = rebuild(data.steps.map((s) => s.changes)).at(-1)!;
    expect([...cells.keys()].every((k) => /^d\d+\//.test(k))).toBe(true);
    // Each vCPU of each domain has its vLAPIC's IRR and ISR (8 words each).
    for (const d of data.domains) for (let v = 0; v < d.vcpus; v++) expect((cells.get(`${d.prefix}lapic:${v}`) as number[]).length).toBe(16);
  });

  it('Arm: the vGIC list registers and the pCPU of each vCPU are recorded, and the event PPI passes through a list register', async () => {
    const { data } = await exploreFile(join(root, 'examples/arm-vtimer/platform.yaml'), undefined, undefined, { duration: '3ms', maxSteps: 400 });
    const states = rebuild(data.steps.map((s) => s.changes));
    const lrVirqs = new Set<number>();
    for (const st of states)
      for (const [k, v] of st)
        if (k.includes('/lr:')) for (let j = 0; j < (v as number[]).length; j += 4) if ((v as number[])[j]! >= 0) lrVirqs.add((v as number[])[j]!);
    // Xen's event-channel PPI for a domU is 31 (SPEC §5.1; Xen 4.x xen/include/public/arch-arm.h GUEST_EVTCHN_PPI).
    expect(lrVirqs.has(31)).toBe(true);
    const last = states.at(-1)!;
    for (const d of data.domains) for (let v = 0; v < d.vcpus; v++) expect(last.has(`${d.prefix}pcpu:${v}`)).toBe(true);
  });

  it('stops at --max-steps and refuses --expect for a configuration', async () => {
    const config = join(root, 'examples/x86-dom0-fifo/platform.yaml');
    const { data } = await exploreFile(config, undefined, undefined, { duration: '1ms', maxSteps: 10 });
    expect(data.steps).toHaveLength(10);
    const io = capture();
    expect(await main(['explore', config, '--expect', vector('hand_01_fifo_strict_priority.expected.jsonl'), '-o', join(dir, 'x.html')], io)).toBe(2);
    expect(io.stderr).toContain('--expect');
  });
});
