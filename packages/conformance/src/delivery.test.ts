import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runDeliveryReplay } from './delivery.js';

const dir = fileURLToPath(new URL('../../../conformance/delivery/', import.meta.url));
const vectors = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

function parseLines(text: string): unknown[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as unknown);
}

describe('evtchn-replay/1 delivery vectors (conformance/delivery)', () => {
  it('finds the vectors for both ABIs', () => {
    expect(vectors.some((f) => f.includes('2l'))).toBe(true);
    expect(vectors.some((f) => f.includes('fifo'))).toBe(true);
  });

  for (const file of vectors) {
    it(file, () => {
      const scenario = JSON.parse(readFileSync(dir + file, 'utf8')) as { steps: { op: string }[] };
      const expected = parseLines(readFileSync(dir + file.replace(/\.json$/, '.expected.jsonl'), 'utf8'));
      const actual = runDeliveryReplay(scenario).map((l) => JSON.parse(l) as unknown);
      expect(actual.length, 'one output line per step').toBe(scenario.steps.length);
      for (let i = 0; i < expected.length; i++) {
        const step = JSON.stringify(scenario.steps[i]);
        expect(actual[i], `step ${i} ${step}`).toEqual(expected[i]);
      }
      expect(actual.length).toBe(expected.length);
    });
  }
});

describe('runDeliveryReplay input checks', () => {
  const ok = { format: 'evtchn-replay/1', abi: '2level', vcpus: 1, steps: [] as unknown[] };

  it('rejects a wrong format, ABI or vCPU count, naming the field', () => {
    expect(() => runDeliveryReplay({ ...ok, format: 'evtchn-hypercall/1' })).toThrow(/\$\.format/);
    expect(() => runDeliveryReplay({ ...ok, abi: '3level' })).toThrow(/\$\.abi/);
    expect(() => runDeliveryReplay({ ...ok, vcpus: 0 })).toThrow(/\$\.vcpus/);
    expect(() => runDeliveryReplay({ ...ok, steps: 'x' })).toThrow(/\$\.steps/);
  });

  it('rejects unknown ops, bad fields and upcalls on a missing vCPU, naming the step', () => {
    expect(() => runDeliveryReplay({ ...ok, steps: [{ op: 'fly' }] })).toThrow(/\$\.steps\[0\]\.op/);
    expect(() => runDeliveryReplay({ ...ok, steps: [{ op: 'send', port: -1 }] })).toThrow(/\$\.steps\[0\]\.port/);
    expect(() => runDeliveryReplay({ ...ok, steps: [{ op: 'send' }, { op: 'upcall', vcpu: 1 }] })).toThrow(/\$\.steps\[0\]\.port/);
    expect(() => runDeliveryReplay({ ...ok, steps: [{ op: 'upcall', vcpu: 1 }] })).toThrow(/\$\.steps\[0\]\.vcpu/);
    expect(() => runDeliveryReplay({ ...ok, steps: [{ op: 'react', port: 1, times: 1, send: ['a'] }] })).toThrow(/send\[0\]/);
  });

  it('has no per-domain port cap: only the ABI limit refuses a bind, with its errno (SPEC §6.1)', () => {
    // 2-level: 4096 ports (EVTCHN_2L_NR_CHANNELS = sizeof(xen_ulong_t)^2 * 64 on 64-bit Xen,
    // xen/include/public/event_channel.h); port 0 is reserved, so 4095 binds succeed and the
    // next is -ENOSPC.
    const steps = Array.from({ length: 4096 }, () => ({ op: 'bind', vcpu: 0 }));
    const out = runDeliveryReplay({ ...ok, steps }).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out[0]).toEqual({ op: 'bind', port: 1 });
    expect(out[1023]).toEqual({ op: 'bind', port: 1024 });
    expect(out[4094]).toEqual({ op: 'bind', port: 4095 });
    expect(out[4095]).toEqual({ op: 'bind', rc: -28 });
  });
});

describe('runaway handlers (the replay bounds)', () => {
  const header = { format: 'evtchn-replay/1', abi: '2level', vcpus: 1 };

  it('rejects a react.times larger than the handler-run bound, naming the field', () => {
    const sc = { ...header, steps: [{ op: 'bind', vcpu: 0 }, { op: 'react', port: 1, times: 9007199254740991, send: [1] }, { op: 'upcall', vcpu: 0 }] };
    expect(() => runDeliveryReplay(sc)).toThrow(/\$\.steps\[1\]\.times: expected at most 1000000/);
  });

  it('gives up an upcall step whose handler keeps re-raising its port, naming the step', () => {
    const sc = { ...header, steps: [{ op: 'bind', vcpu: 0 }, { op: 'react', port: 1, times: 1_000_000, send: [1] }, { op: 'send', port: 1 }, { op: 'upcall', vcpu: 0 }] };
    expect(() => runDeliveryReplay(sc)).toThrow(/\$\.steps\[3\]: the upcall did not finish after 1000000 handler runs/);
  });

  it('a handler that re-raises itself a bounded number of times finishes', () => {
    const sc = { ...header, steps: [{ op: 'bind', vcpu: 0 }, { op: 'react', port: 1, times: 3, send: [1] }, { op: 'send', port: 1 }, { op: 'upcall', vcpu: 0 }] };
    const last = JSON.parse(runDeliveryReplay(sc).at(-1)!) as { delivered: number[] };
    expect(last.delivered).toEqual([1, 1, 1, 1]);
  });
});
