import { describe, expect, it } from 'vitest';
import { runHypercallReplay } from './hypercall.js';
import { builtinAbis } from './replay.js';
import { runDeliveryReplay } from './delivery.js';
import { ScenarioError } from './scenario.js';

/** Names every plain object inherits: none of them is a replay op. */
const INHERITED = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];

describe('replay op names are looked up as own keys', () => {
  const hypercall = (op: string): unknown =>
    runHypercallReplay({ format: 'evtchn-hypercall/1', domains: [{ id: 0 }], steps: [{ op, caller: 0, port: 1 }] }, builtinAbis());

  it.each(INHERITED)('evtchn-hypercall/1: op %j is an unknown op (ScenarioError), not rc -38', (op) => {
    expect(() => hypercall(op)).toThrow(ScenarioError);
    expect(() => hypercall(op)).toThrow(`$.steps[0].op: unknown op ${JSON.stringify(op)}`);
  });

  it('evtchn-hypercall/1: a real op still runs', () => {
    expect(hypercall('bind_ipi')).toEqual(['{"rc":-22}']);
    expect(runHypercallReplay({ format: 'evtchn-hypercall/1', domains: [{ id: 0 }], steps: [{ op: 'bind_ipi', caller: 0, vcpu: 0 }] }, builtinAbis())).toEqual([
      '{"rc":0,"port":1}',
    ]);
  });

  it.each(INHERITED)('evtchn-replay/1: op %j is an unknown op (ScenarioError)', (op) => {
    expect(() => runDeliveryReplay({ format: 'evtchn-replay/1', abi: '2level', vcpus: 1, steps: [{ op }] })).toThrow(/\$\.steps\[0\]\.op: unknown op/);
  });
});
