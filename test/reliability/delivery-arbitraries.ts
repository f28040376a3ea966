/*
 * fast-check generator of `evtchn-replay/1` delivery scenarios (SPEC §6.1).
 */
import fc from 'fast-check';

/** An ABI of the delivery replay. */
export type Abi = '2level' | 'fifo';
/** One `evtchn-replay/1` step. */
export type DStep = { op: string } & Record<string, string | number | number[]>;

/** A delivery scenario. */
export interface DeliveryScenario {
  abi: Abi;
  vcpus: number;
  steps: DStep[];
}

const PORTS = 6;

/** Random delivery scenarios on 1–3 vCPUs; `withReact` adds handlers that send. */
export function deliveryScenario(abi: Abi, withReact: boolean): fc.Arbitrary<DeliveryScenario> {
  return fc.integer({ min: 1, max: 3 }).chain((vcpus) => {
    const vcpu = fc.integer({ min: 0, max: vcpus - 1 });
    const port = fc.integer({ min: 1, max: PORTS });
    const prio = fc.integer({ min: 0, max: 15 });
    const one = (op: string, fields: Record<string, fc.Arbitrary<number | number[]>>): fc.Arbitrary<DStep[]> =>
      fc.record({ op: fc.constant(op), ...fields }).map((s) => [s as DStep]);
    const w = (weight: number, arbitrary: fc.Arbitrary<DStep[]>) => ({ weight, arbitrary });
    // A masked port gets events, an upcall must not see them, then unmask and upcall must.
    const maskedWindow = fc
      .record({ p: port, v: vcpu, n: fc.integer({ min: 1, max: 3 }) })
      .map(({ p, v, n }): DStep[] => [
        { op: 'mask', port: p },
        ...Array.from({ length: n }, () => ({ op: 'send', port: p })),
        { op: 'upcall', vcpu: v },
        { op: 'unmask', port: p },
        { op: 'upcall', vcpu: v },
      ]);
    const burst = fc.array(port, { minLength: 2, maxLength: 6 }).map((ps): DStep[] => ps.map((p) => ({ op: 'send', port: p })));
    const options = [
      w(5, fc.record({ op: fc.constant('bind'), vcpu, priority: prio }).map((s) => [s as DStep])),
      w(2, one('close', { port })),
      w(8, one('send', { port })),
      w(3, burst),
      w(2, one('mask', { port })),
      w(2, one('unmask', { port })),
      w(2, one('prio', { port, priority: fc.integer({ min: 0, max: 16 }) })),
      w(2, one('rebind', { port, vcpu })),
      w(6, one('upcall', { vcpu })),
      w(2, maskedWindow),
    ];
    if (withReact)
      options.push(
        w(3, one('react', { port, times: fc.integer({ min: 1, max: 3 }), send: fc.array(port, { minLength: 1, maxLength: 3 }) })),
      );
    return fc.record({
      abi: fc.constant(abi),
      vcpus: fc.constant(vcpus),
      steps: fc.array(fc.oneof(...options), { minLength: 1, maxLength: 40, size: 'max' }).map((c) => c.flat()),
    });
  });
}
