/*
 * Timed mode against immediate mode: the throughput workload (64 ports looped back, port i on
 * vCPU 0, every port sent once per round) on the x86 architecture, once with the execution
 * model running the guest (`execution.mode: 'timed'`, the default: each upcall is raised,
 * taken `entryLatencyNs` later, and every scan step, upcall and handler charges its virtual
 * cost) and once in immediate mode (the workload calls the guest's upcall itself, at no cost).
 * A round is: EVTCHNOP_send on every port, then, timed, `platform.run(200 µs)` (enough virtual
 * time for the 64 events at the default costs, so every event is handled within its round);
 * immediate, `guest.upcall(0)`. Figure: handler runs per wall-clock second (and per CPU-second).
 */
import { cpuSeconds, median, seconds } from '../lib/measure.js';
import { abi2, core, fifo, linux, x86 } from '../lib/stack.js';

const PORTS = 64;
/** Virtual time each round runs in timed mode. */
const ROUND_NS = 200_000;

/** @param {{abi:'2level'|'fifo', mode:'timed'|'immediate', minEvents?:number, samples?:number}} p */
export function measureTimed(p) {
  const isFifo = p.abi === 'fifo';
  let runs = 0;
  const handler = () => {
    runs++;
    return linux.IRQ_HANDLED;
  };
  const platform = core.createPlatform({
    arch: x86.archX86(),
    abis: isFifo ? [abi2.abi2Level(), fifo.abiFifo()] : [abi2.abi2Level()],
    guest: linux.guestLinux({ fifo: isFifo }),
    domains: [{ id: 0 }, { id: 1, vcpus: 1 }],
    execution: { mode: p.mode },
  });
  const pd = platform.domain(1);
  const guest = pd.guest;
  const hc = pd.domain.hypercalls;
  if (guest.abiName !== p.abi) throw new Error(`bench: guest booted on ${guest.abiName}, not ${p.abi}`);
  const ports = new Uint32Array(PORTS);
  for (let i = 0; i < PORTS; i++) {
    const port = hc.allocUnbound(core.DOMID_SELF, core.DOMID_SELF);
    if (port < 0 || platform.hypervisor.bindLoopback(1, port) < 0) throw new Error(`bench: loopback port ${port}`);
    const irq = guest.bindEvtchnToIrq(port);
    if (isFifo) guest.setIrqPriority(irq, 7);
    guest.rebindIrqToCpu(irq, 0);
    if (guest.requestIrq(irq, handler, 0, `bench-${port}`, null) < 0) throw new Error('bench: request_irq');
    ports[i] = port;
  }
  const timed = p.mode === 'timed';
  const rounds = (n) => {
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < PORTS; i++) hc.send(ports[i]);
      if (timed) platform.run(ROUND_NS);
      else guest.upcall(0);
    }
  };
  const perSample = Math.ceil((p.minEvents ?? 2_000_000) / PORTS);
  rounds(Math.ceil(1_000_000 / PORTS));
  const rates = [];
  const cpuRates = [];
  for (let s = 0; s < (p.samples ?? 3); s++) {
    const before = runs;
    const t = seconds();
    const c = cpuSeconds();
    rounds(perSample);
    const elapsed = seconds() - t;
    const cpu = cpuSeconds() - c;
    const events = runs - before;
    // Every send must reach its handler within its round, or the figure means nothing.
    if (events !== perSample * PORTS) throw new Error(`bench: ${events} handler runs for ${perSample * PORTS} sends (${p.mode})`);
    rates.push(events / elapsed);
    cpuRates.push(events / cpu);
  }
  return { abi: p.abi, mode: p.mode, eventsPerSecond: median(rates), eventsPerCpuSecond: median(cpuRates), virtualNs: platform.clock.now() };
}
