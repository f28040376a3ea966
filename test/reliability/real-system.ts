/*
 * Builds the real hypervisor core (null architecture, dummy policy, the real ABIs) for a
 * generated scenario and runs its steps the way the `evtchn-hypercall/1` replay does.
 */
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { FifoAbi } from '@evtchn/abi-fifo';
import { EVTCHNOP, Hypervisor, nullArchitecture, type EventAbi, type EvtchnOpName, type RawOpResult } from '@evtchn/core';
import type { HypercallScenario } from './arbitraries.js';
import type { Step } from './reference-model.js';

/** A hypervisor with the scenario's domains. */
export function buildHypervisor(sc: Pick<HypercallScenario, 'fifoOffered' | 'domains'>): Hypervisor {
  const abis: EventAbi[] = sc.fifoOffered ? [new TwoLevelAbi(), new FifoAbi()] : [new TwoLevelAbi()];
  const hv = Hypervisor.create({ arch: nullArchitecture({ name: 'x86', pirqs: 'permissive' }), abis });
  for (const d of sc.domains) {
    hv.createDomain({
      id: d.id,
      vcpus: d.vcpus,
      privileged: d.privileged,
      maxEvtchnPort: d.maxEvtchnPort,
      nrPirqs: d.nrPirqs,
      pirqs: d.pirqs,
      memPages: d.memPages,
    });
  }
  return hv;
}

/** Runs one step on the real hypervisor. */
export function runRealStep(hv: Hypervisor, step: Step): RawOpResult {
  switch (step.op) {
    case 'pause':
      return { rc: hv.pause(step.dom as number) };
    case 'unpause':
      return { rc: hv.unpause(step.dom as number) };
    case 'destroy':
      return { rc: hv.destroy(step.dom as number) };
    case 'set_global_virq_handler':
      return { rc: hv.setGlobalVirqHandler(step.virq as number, step.dom as number) };
    default:
      return hv.eventChannelOp(step.caller!, EVTCHNOP[step.op as EvtchnOpName], step);
  }
}
