/*
 * The benchmark platform: one guest domain on the real stack (core hypervisor + ABI + Linux
 * guest layer) with ports bound exactly as the `evtchn-replay/1` `bind` step binds them
 * (packages/conformance/src/delivery.ts): EVTCHNOP_alloc_unbound(self, self), the port looped
 * back to itself, bind_evtchn_to_irq, FIFO set_priority, affinity to the port's vCPU, then
 * request_irq (which unmasks it).
 */
import { abi2, core, fifo, linux, x86 } from './stack.js';

/** Domain id of the benchmarked guest. */
export const GUEST_DOMID = 1;
/** Highest port count a FIFO domain can address. */
export const FIFO_PORTS = 131072;

/** Counts handler runs; the handler every bound port uses increments `runs`. */
export const counter = { runs: 0 };

/** The one IRQ handler of the workload: counts and returns IRQ_HANDLED. */
function countingHandler() {
  counter.runs++;
  return linux.IRQ_HANDLED;
}

/**
 * Builds a platform with one guest domain.
 * @param {'2level'|'fifo'} abi
 * @param {number} vcpus
 * @param {number} [ports] - ports the workload will bind (sizes the IRQ space and port limit)
 * @param {'null'|'x86'} [arch] - core's null architecture (default: flat IRQ space, lowest
 *   free IRQ), or x86 (a PV guest's IRQ space with the modern `lower-bound` policy, growing
 *   `nr_irqs` as IRQs are allocated)
 */
export function buildPlatform(abi, vcpus, ports = 64, arch = 'null') {
  const isFifo = abi === 'fifo';
  const platform = core.createPlatform({
    arch: arch === 'x86' ? x86.archX86({ dynIrqPolicy: 'lower-bound' }) : core.archNull({ pirqs: 'none', nrIrqs: Math.max(4096, ports + 1024) }),
    abis: isFifo ? [abi2.abi2Level(), fifo.abiFifo()] : [abi2.abi2Level()],
    guest: linux.guestLinux({ fifo: isFifo }),
    domains: [{ id: GUEST_DOMID, vcpus, maxEvtchnPort: isFifo ? FIFO_PORTS - 1 : 4095 }],
    // The workload calls the guest's upcall itself, as the replay does, so the platform runs
    // in the replay's immediate mode (packages/conformance/src/delivery.ts): in the default
    // timed mode every event would also ask a runner with no slice open to charge nothing.
    // The timed section measures the execution model with its costs.
    execution: { mode: 'immediate' },
  });
  const pd = platform.domain(GUEST_DOMID);
  const guest = pd.guest;
  if (!(guest instanceof linux.LinuxGuest)) throw new Error('bench: the guest layer did not boot');
  if (guest.abiName !== abi) throw new Error(`bench: guest booted on ${guest.abiName}, not ${abi}`);
  return {
    abi,
    isFifo,
    vcpus,
    platform,
    hv: platform.hypervisor,
    domain: pd.domain,
    guest,
    hc: pd.domain.hypercalls,
    /** Bound ports in bind order. */
    ports: [],
  };
}

/**
 * The hypervisor half of a replay `bind`: a fresh port looped back to itself.
 * @returns the port, or a negative errno when allocation fails
 */
export function allocLoopback(env) {
  const port = env.hc.allocUnbound(core.DOMID_SELF, core.DOMID_SELF);
  if (port < 0) return port;
  const rc = env.hv.bindLoopback(env.domain.id, port);
  if (rc < 0) throw new Error(`bench: bindLoopback(${port}) = ${rc}`);
  return port;
}

/**
 * The guest half of a replay `bind` on an already looped-back port.
 * @returns the IRQ
 */
export function bindGuest(env, port, vcpu, priority = 7, handler = countingHandler, devId = undefined) {
  const g = env.guest;
  const irq = g.bindEvtchnToIrq(port);
  if (irq < 0) throw new Error(`bench: bind_evtchn_to_irq(${port}) = ${irq}`);
  if (env.isFifo) g.setIrqPriority(irq, priority);
  g.rebindIrqToCpu(irq, vcpu);
  const rc = g.requestIrq(irq, handler, 0, `bench-${port}`, devId ?? { port });
  if (rc < 0) throw new Error(`bench: request_irq(${irq}) = ${rc}`);
  return irq;
}

/** One replay `bind V`: @returns the port */
export function bindPort(env, vcpu, priority = 7, handler = countingHandler, devId = undefined) {
  const port = allocLoopback(env);
  if (port < 0) throw new Error(`bench: alloc_unbound = ${port}`);
  bindGuest(env, port, vcpu, priority, handler, devId);
  env.ports.push(port);
  return port;
}

/** Binds `n` ports round-robin over the vCPUs (port i → vCPU i mod vcpus). */
export function bindPorts(env, n) {
  for (let i = 0; i < n; i++) bindPort(env, i % env.vcpus);
  return env;
}

/** Removes one bound port the way the replay's `close` does (free_irq, unbind, EVTCHNOP_close). */
export function closePort(env, port) {
  const g = env.guest;
  const irq = g.irqFromEvtchn(port);
  if (irq === -1) {
    env.hc.close(port);
    return;
  }
  const desc = g.irqDesc(irq);
  while (desc.action !== null) g.freeIrq(irq, desc.action.devId);
  g.unbindFromIrq(irq);
}
