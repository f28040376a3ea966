/*
 * A large platform: dom0 (4 vCPUs) plus 1000 guests, each guest with 64 interdomain channels
 * to dom0, both ends bound to IRQs with a handler (a split driver's frontend and backend).
 * Then at least 1e6 events are delivered: each round every guest sends on all its channels
 * (frontend → backend), dom0 runs its upcalls, dom0 sends back on every backend port and each
 * guest runs its upcall. Reports the time to build (platform, domains, guest layers,
 * channels), the time to deliver, their sum, and the live memory the platform holds.
 */
import { cpuSeconds, liveBytes, seconds } from '../lib/measure.js';
import { abi2, core, fifo, linux } from '../lib/stack.js';

let handled = 0;
function handler() {
  handled++;
  return linux.IRQ_HANDLED;
}

function build(nrGuests, channels) {
  const domains = [{ id: 0, vcpus: 4 }];
  for (let i = 1; i <= nrGuests; i++) domains.push({ id: i, vcpus: 1 });
  const platform = core.createPlatform({
    arch: core.archNull({ pirqs: 'none', nrIrqs: Math.max(4096, nrGuests * channels + 1024) }),
    abis: [abi2.abi2Level(), fifo.abiFifo()],
    guest: linux.guestLinux(),
    domains,
    // The workload runs the upcalls itself: the replay's immediate mode.
    execution: { mode: 'immediate' },
  });
  const dom0 = platform.domain(0).guest;
  const backPorts = new Uint32Array(nrGuests * channels);
  const frontPorts = new Uint32Array(nrGuests * channels);
  for (let i = 1; i <= nrGuests; i++) {
    const pd = platform.domain(i);
    const guest = pd.guest;
    for (let c = 0; c < channels; c++) {
      const port = pd.domain.hypercalls.allocUnbound(core.DOMID_SELF, 0);
      if (port < 0) throw new Error(`bench: d${i} alloc_unbound = ${port}`);
      const backIrq = dom0.bindInterdomainEvtchnToIrq(i, port);
      if (backIrq < 0) throw new Error(`bench: dom0 bind_interdomain(${i}, ${port}) = ${backIrq}`);
      if (dom0.requestIrq(backIrq, handler, 0, `vif${i}.${c}`, null) < 0) throw new Error('bench: dom0 request_irq');
      const frontIrq = guest.bindEvtchnToIrq(port);
      if (frontIrq < 0) throw new Error(`bench: d${i} bind_evtchn_to_irq = ${frontIrq}`);
      if (guest.requestIrq(frontIrq, handler, 0, `eth${c}`, null) < 0) throw new Error('bench: guest request_irq');
      const k = (i - 1) * channels + c;
      frontPorts[k] = port;
      backPorts[k] = dom0.evtchnFromIrq(backIrq);
    }
  }
  return { platform, backPorts, frontPorts };
}

/** Delivers `rounds` rounds both ways. @returns handler runs */
function deliver(env, nrGuests, channels, rounds) {
  const { platform, backPorts, frontPorts } = env;
  const d0 = platform.domain(0);
  const dom0 = d0.guest;
  const hc0 = d0.domain.hypercalls;
  const guests = [];
  const hcs = [];
  for (let i = 1; i <= nrGuests; i++) {
    const pd = platform.domain(i);
    guests.push(pd.guest);
    hcs.push(pd.domain.hypercalls);
  }
  const before = handled;
  for (let r = 0; r < rounds; r++) {
    for (let g = 0; g < nrGuests; g++) {
      const hc = hcs[g];
      for (let c = 0, k = g * channels; c < channels; c++, k++) hc.send(frontPorts[k]);
    }
    for (let v = 0; v < 4; v++) dom0.upcall(v);
    for (let k = 0; k < backPorts.length; k++) hc0.send(backPorts[k]);
    for (let g = 0; g < nrGuests; g++) guests[g].upcall(0);
  }
  return handled - before;
}

/** @param {{guests?:number, channels?:number, events?:number}} p */
export function measureDomains(p = {}) {
  const nrGuests = p.guests ?? 1000;
  const channels = p.channels ?? 64;
  const events = p.events ?? 1_000_000;
  const perRound = 2 * nrGuests * channels;
  const rounds = Math.ceil(events / perRound);
  const m0 = liveBytes();
  const c0 = cpuSeconds();
  let t = seconds();
  let env = build(nrGuests, channels);
  const buildSeconds = seconds() - t;
  t = seconds();
  const delivered = deliver(env, nrGuests, channels, rounds);
  const deliverSeconds = seconds() - t;
  const cpu = cpuSeconds() - c0;
  // Every send reaches its handler exactly once, or the figure means nothing.
  if (delivered !== rounds * perRound) throw new Error(`bench: ${delivered} handler runs for ${rounds * perRound} sends`);
  const m1 = liveBytes();
  const heapBytes = m1 - m0;
  const dom0Ports = env.platform.domain(0).domain.channels.valid;
  env = null;
  liveBytes();
  t = seconds();
  env = build(nrGuests, channels);
  const warmBuildSeconds = seconds() - t;
  return {
    guests: nrGuests,
    channelsPerGuest: channels,
    events: delivered,
    buildSeconds,
    deliverSeconds,
    totalSeconds: buildSeconds + deliverSeconds,
    totalCpuSeconds: cpu,
    warmBuildSeconds,
    heapBytes,
    heapBytesPerDomain: heapBytes / (nrGuests + 1),
    dom0ValidPorts: dom0Ports,
  };
}
