/*
 * End-to-end events/s: EVTCHNOP_send → hypervisor → ABI setPending → upcall marking → guest
 * upcall loop → ABI scan → IRQ flow → handler. The workload is fixed so the figure compares
 * with compiled code: ports bound as the replay's `bind` does (port i on vCPU i mod vcpus),
 * then rounds of "send every bound port once, in bind order, then the upcall on every vCPU".
 * events/s = handler runs / seconds, over at least `minEvents` after a warm-up.
 */
import { bindPorts, buildPlatform, counter } from '../lib/platform.js';
import { cpuSeconds, median, seconds } from '../lib/measure.js';

/**
 * Runs `rounds` rounds of the workload.
 * @param {Uint32Array} sendPorts - ports to send each round, in order
 */
export function runRounds(hc, guest, sendPorts, vcpus, rounds) {
  const n = sendPorts.length;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) hc.send(sendPorts[i]);
    for (let v = 0; v < vcpus; v++) guest.upcall(v);
  }
}

/** The ports a round sends (see `measureThroughput`). */
function pickPorts(bound, send) {
  if (send === 'all' || bound.length <= 64) return bound;
  if (send === 'last64') return bound.slice(bound.length - 64);
  if (send === 'spread64') {
    const step = bound.length / 64;
    return Array.from({ length: 64 }, (_, i) => bound[Math.floor(i * step)]);
  }
  throw new Error(`bench: unknown send set ${send}`);
}

/**
 * Measures one configuration.
 * @param {{abi:'2level'|'fifo', ports:number, vcpus:number, send?:'all'|'last64'|'spread64', minEvents?:number, samples?:number, warmupEvents?:number}} p
 *   `send` picks the ports sent each round: every bound port (default), the 64 bound last
 *   (highest ports: anything scanning from port 0 would pay for the idle ones), or 64 spread
 *   evenly over the bound ports (adds the memory-locality cost of touching far-apart ports).
 */
export function measureThroughput(p) {
  const minEvents = p.minEvents ?? 2_000_000;
  const samples = p.samples ?? 5;
  const t0 = seconds();
  const env = bindPorts(buildPlatform(p.abi, p.vcpus, p.ports), p.ports);
  const setupSeconds = seconds() - t0;
  const sendPorts = Uint32Array.from(pickPorts(env.ports, p.send ?? 'all'));
  const perRound = sendPorts.length;
  const rounds = Math.max(1, Math.ceil(minEvents / perRound));
  const warmRounds = Math.max(1, Math.ceil((p.warmupEvents ?? 1_000_000) / perRound));

  runRounds(env.hc, env.guest, sendPorts, p.vcpus, warmRounds);
  const rates = [];
  const cpuRates = [];
  for (let s = 0; s < samples; s++) {
    const before = counter.runs;
    const start = seconds();
    const cpuStart = cpuSeconds();
    runRounds(env.hc, env.guest, sendPorts, p.vcpus, rounds);
    const elapsed = seconds() - start;
    const cpu = cpuSeconds() - cpuStart;
    const events = counter.runs - before;
    // Every send of a round must reach its handler exactly once, or the figure means nothing.
    if (events !== rounds * perRound) throw new Error(`bench: ${events} handler runs for ${rounds * perRound} sends (${p.abi}, ${p.ports} ports)`);
    rates.push(events / elapsed);
    cpuRates.push(events / cpu);
  }
  return {
    abi: p.abi,
    ports: p.ports,
    send: p.send ?? 'all',
    vcpus: p.vcpus,
    sentPerRound: perRound,
    eventsPerSample: rounds * perRound,
    samples,
    eventsPerSecond: median(rates),
    best: Math.max(...rates),
    worst: Math.min(...rates),
    eventsPerCpuSecond: median(cpuRates),
    setupSeconds,
  };
}
