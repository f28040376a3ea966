/*
 * Fairness and latency under a flood, 2-level vs FIFO. One vCPU, 64 ports; the one bound in the
 * middle floods: it is sent before every upcall and its handler sends it again, up to `burst`
 * times per upcall (a device that keeps raising while it is serviced). The 63 other ports are
 * sent at a low rate, `perRound` of them per upcall round in turn, and for each of their events the bench records how many
 * events the guest handled between the send and the handler (latency in events) and how many
 * upcall rounds passed (latency in rounds). A measured port sent again before its previous
 * event was handled coalesces: that event is counted as lost.
 */
import { allocLoopback, bindGuest, buildPlatform } from '../lib/platform.js';
import { percentile } from '../lib/measure.js';
import { linux } from '../lib/stack.js';

/**
 * @param {{abi:'2level'|'fifo', label?:string, floodPriority?:number, otherPriority?:number,
 *   others?:number, burst?:number, rounds?:number}} p
 */
export function measureFlood(p) {
  const others = p.others ?? 63;
  const burst = p.burst ?? 256;
  const perRound = p.perRound ?? 4;
  const rounds = p.rounds ?? 20000;
  const env = buildPlatform(p.abi, 1, others + 1);
  const hc = env.hc;
  const state = { handled: 0, round: 0, budget: 0, floodRuns: 0, otherRuns: 0 };
  const measured = [];
  const sentAtEvent = new Float64Array(others + 2).fill(-1);
  const sentAtRound = new Float64Array(others + 2);
  const latEvents = [];
  const latRounds = [];
  const otherHandler = (_irq, dev) => {
    const port = dev.port;
    state.handled++;
    state.otherRuns++;
    if (sentAtEvent[port] >= 0) {
      latEvents.push(state.handled - 1 - sentAtEvent[port]);
      latRounds.push(state.round - sentAtRound[port]);
      sentAtEvent[port] = -1;
    }
    return linux.IRQ_HANDLED;
  };
  const bindOther = () => {
    const port = allocLoopback(env);
    bindGuest(env, port, 0, p.otherPriority ?? 7, otherHandler, { port });
    measured.push(port);
  };
  while (measured.length < others >> 1) bindOther();
  const floodPort = allocLoopback(env);
  bindGuest(env, floodPort, 0, p.floodPriority ?? 7, () => {
    state.handled++;
    state.floodRuns++;
    if (state.budget > 0) {
      state.budget--;
      hc.send(floodPort);
    }
    return linux.IRQ_HANDLED;
  });
  while (measured.length < others) bindOther();
  let sent = 0;
  let coalesced = 0;
  for (let r = 0; r < rounds; r++) {
    state.round = r;
    state.budget = burst;
    hc.send(floodPort);
    for (let k = 0; k < perRound; k++) {
      const port = measured[(r * perRound + k) % others];
      if (sentAtEvent[port] >= 0) coalesced++;
      else {
        sentAtEvent[port] = state.handled;
        sentAtRound[port] = r;
      }
      sent++;
      hc.send(port);
    }
    env.guest.upcall(0);
  }
  let undelivered = 0;
  for (const port of measured) if (sentAtEvent[port] >= 0) undelivered++;
  return {
    label: p.label ?? p.abi,
    abi: p.abi,
    floodPriority: env.isFifo ? (p.floodPriority ?? 7) : null,
    otherPriority: env.isFifo ? (p.otherPriority ?? 7) : null,
    rounds,
    burst,
    perRound,
    measuredSends: sent,
    lost: coalesced + undelivered,
    floodShare: state.floodRuns / state.handled,
    latencyEventsP50: percentile(latEvents, 50),
    latencyEventsP99: percentile(latEvents, 99),
    latencyEventsMax: Math.max(...latEvents),
    latencyRoundsP50: percentile(latRounds, 50),
    latencyRoundsMax: Math.max(...latRounds),
  };
}

/** The flood scenarios compared. */
export const FLOOD_CASES = [
  { abi: '2level', label: '2level' },
  { abi: 'fifo', label: 'fifo, all priority 7' },
  { abi: 'fifo', label: 'fifo, flood at priority 0', floodPriority: 0 },
  { abi: 'fifo', label: 'fifo, measured at priority 0', otherPriority: 0 },
];

/** Runs every case of {@link FLOOD_CASES} with the shared parameters `p`. */
export function measureFloodCases(p = {}) {
  return FLOOD_CASES.map((c) => measureFlood({ ...p, ...c }));
}
