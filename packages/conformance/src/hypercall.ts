/*
 * The `evtchn-hypercall/1` replay (SPEC §6.2): raw EVTCHNOPs issued by several domains against
 * the real hypervisor core and ABIs, one output line per step.
 */
import {
  DummySecurityPolicy,
  EVTCHNOP,
  Hypervisor,
  nullArchitecture,
  type EventAbi,
  type EvtchnOpName,
  type RawOpResult,
} from '@evtchn/core';
import { ScenarioError, expectArray, expectObject, optionalInt } from './scenario.js';

/** Every argument field of the public EVTCHNOP structs, zeroed: what `op_raw` passes. */
const ZERO_ARGS = Object.freeze({
  remote_dom: 0,
  remote_port: 0,
  virq: 0,
  vcpu: 0,
  pirq: 0,
  flags: 0,
  port: 0,
  dom: 0,
  control_gfn: 0,
  offset: 0,
  array_gfn: 0,
  priority: 0,
});

const TOOLSTACK_OPS = new Set(['pause', 'unpause', 'destroy', 'set_global_virq_handler', 'query']);

/**
 * Runs an `evtchn-hypercall/1` scenario.
 * @param scenario - the parsed JSON scenario
 * @param offered - the ABI implementations available, by name (`'2level'`, `'fifo'`)
 * @returns one JSON line per step
 * @throws ScenarioError when the scenario itself is malformed
 */
export function runHypercallReplay(scenario: unknown, offered: ReadonlyMap<string, EventAbi>): string[] {
  return replayHypercalls(scenario, offered).lines;
}

/**
 * Runs an `evtchn-hypercall/1` scenario and keeps the hypervisor for inspection
 * (`evtchn lsevtchn`, `evtchn dump`).
 * @returns the output lines and the hypervisor in its final state
 */
export function replayHypercalls(scenario: unknown, offered: ReadonlyMap<string, EventAbi>): { lines: string[]; hypervisor: Hypervisor } {
  const sc = expectObject(scenario, '$');
  if (sc.format !== 'evtchn-hypercall/1') throw new ScenarioError('$.format', `expected "evtchn-hypercall/1", got ${JSON.stringify(sc.format)}`);
  const arch = sc.arch ?? 'x86';
  if (arch !== 'x86' && arch !== 'arm') throw new ScenarioError('$.arch', `expected "x86" or "arm", got ${JSON.stringify(arch)}`);
  const abiNames = sc.abis === undefined ? ['2level', 'fifo'] : expectArray(sc.abis, '$.abis');
  const abis: EventAbi[] = abiNames.map((n, i) => {
    const abi = typeof n === 'string' ? offered.get(n) : undefined;
    if (!abi) throw new ScenarioError(`$.abis[${i}]`, `unknown ABI ${JSON.stringify(n)}; known: ${[...offered.keys()].join(', ')}`);
    return abi;
  });
  const hv = Hypervisor.create({
    arch: nullArchitecture({ name: arch, pirqs: arch === 'x86' ? 'permissive' : 'none' }),
    abis,
    policy: new DummySecurityPolicy(),
  });
  expectArray(sc.domains, '$.domains').forEach((raw, i) => {
    const path = `$.domains[${i}]`;
    const d = expectObject(raw, path);
    const id = optionalInt(d.id, `${path}.id`);
    if (id === undefined) throw new ScenarioError(`${path}.id`, 'missing domain id');
    const pirqs = d.pirqs === undefined ? [] : expectArray(d.pirqs, `${path}.pirqs`);
    hv.createDomain({
      id,
      vcpus: optionalInt(d.vcpus, `${path}.vcpus`),
      privileged: d.privileged === undefined ? undefined : Boolean(d.privileged),
      maxEvtchnPort: optionalInt(d.maxEvtchnPort, `${path}.maxEvtchnPort`),
      nrPirqs: optionalInt(d.nrPirqs, `${path}.nrPirqs`),
      pirqs: pirqs.map((p, j) => optionalInt(p, `${path}.pirqs[${j}]`) ?? 0),
      memPages: optionalInt(d.memPages, `${path}.memPages`),
    });
  });
  const lines = expectArray(sc.steps, '$.steps').map((raw, i) => JSON.stringify(runStep(hv, expectObject(raw, `$.steps[${i}]`), i)));
  return { lines, hypervisor: hv };
}

function runStep(hv: Hypervisor, step: Record<string, unknown>, index: number): RawOpResult {
  const op = step.op;
  if (typeof op !== 'string') throw new ScenarioError(`$.steps[${index}].op`, 'missing op');
  if (TOOLSTACK_OPS.has(op)) {
    const dom = step.dom as number;
    switch (op) {
      case 'pause':
        return { rc: hv.pause(dom) };
      case 'unpause':
        return { rc: hv.unpause(dom) };
      case 'destroy':
        return { rc: hv.destroy(dom) };
      case 'set_global_virq_handler':
        return { rc: hv.setGlobalVirqHandler(step.virq as number, dom) };
      default:
        return hv.query(dom, step.port as number);
    }
  }
  const caller = step.caller;
  if (typeof caller !== 'number') throw new ScenarioError(`$.steps[${index}].caller`, `op ${op} needs a caller domain`);
  // op_raw prints only the return code, whatever the op fills in.
  if (op === 'op_raw') return { rc: hv.eventChannelOp(caller, step.cmd as number, ZERO_ARGS).rc };
  // Own keys only: 'constructor', '__proto__' or 'toString' are not op names.
  if (!Object.hasOwn(EVTCHNOP, op)) throw new ScenarioError(`$.steps[${index}].op`, `unknown op ${JSON.stringify(op)}`);
  return hv.eventChannelOp(caller, EVTCHNOP[op as EvtchnOpName], step);
}
