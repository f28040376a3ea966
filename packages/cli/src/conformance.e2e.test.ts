/*
 * The reference vectors (copies of the real Xen/Linux traces kept in this repository under
 * conformance/) run through `evtchn replay --expect`, one test per vector.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from './main.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const suites = ['conformance/hypercall', 'conformance/delivery'];

function capture(): CliIo & { text: () => string } {
  let buf = '';
  return { out: (t) => (buf += t), err: (t) => (buf += t), text: () => buf };
}

for (const dir of suites) {
  const names = readdirSync(root + dir).filter((f) => f.endsWith('.json')).sort();
  describe(`evtchn replay --expect: ${dir}`, () => {
    it('has vectors', () => expect(names.length).toBeGreaterThan(10));
    for (const name of names) {
      it(name, async () => {
        const io = capture();
        const file = `${root}${dir}/${name}`;
        const code = await main(['replay', file, '--expect', file.replace(/\.json$/, '.expected.jsonl')], io);
        expect(io.text()).toContain('steps match');
        expect(code).toBe(0);
      });
    }
  });
}

describe('evtchn replay --expect reports the first difference', () => {
  it('exits 1 naming the step and both lines', async () => {
    const io = capture();
    const file = `${root}conformance/hypercall/close_errors.json`;
    const code = await main(['replay', file, '--expect', `${root}conformance/hypercall/send_rules.expected.jsonl`], io);
    expect(code).toBe(1);
    expect(io.text()).toMatch(/step 0 \(close\): expected \{"rc":0,"port":1\}, got \{"rc":-22\}/);
  });

  it('exits 2 for a missing file or a bad format', async () => {
    const io = capture();
    expect(await main(['replay', `${root}does-not-exist.json`], io)).toBe(2);
    expect(io.text()).toMatch(/cannot read/);
  });
});

describe('the evtchn binary', () => {
  const bin = `${root}packages/cli/bin/evtchn.js`;
  it.skipIf(!existsSync(`${root}packages/cli/dist/main.js`))('replays a vector from the command line', () => {
    const out = execFileSync(process.execPath, [bin, 'replay', `${root}conformance/hypercall/ipi_rules.json`], { encoding: 'utf8' });
    expect(out.trim().split('\n')[2]).toBe('{"rc":0,"port":1}');
  });
});
