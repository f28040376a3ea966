/*
 * A large platform: dom0 plus 1000 guests, each guest with 8 interdomain channels to dom0,
 * both ends bound to IRQs with a handler (a split driver's frontend and backend). Reports the
 * time to build it (platform, domains, guest layers, channels) and the live memory it holds.
 */
import { liveBytes, seconds } from '../lib/measure.js';
import { abi2, core, fifo, linux } from '../lib/stack.js';

function handler() {
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
  });
  const dom0 = platform.domain(0).guest;
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
    }
  }
  return platform;
}

/** @param {{guests?:number, channels?:number}} p */
export function measureDomains(p = {}) {
  const nrGuests = p.guests ?? 1000;
  const channels = p.channels ?? 8;
  const m0 = liveBytes();
  let t = seconds();
  let platform = build(nrGuests, channels);
  const coldSeconds = seconds() - t;
  const m1 = liveBytes();
  const heapBytes = m1 - m0;
  const dom0Ports = platform.domain(0).domain.channels.valid;
  platform = null;
  liveBytes();
  t = seconds();
  platform = build(nrGuests, channels);
  const warmSeconds = seconds() - t;
  return {
    guests: nrGuests,
    channelsPerGuest: channels,
    coldSeconds,
    warmSeconds,
    heapBytes,
    heapBytesPerDomain: heapBytes / (nrGuests + 1),
    dom0ValidPorts: dom0Ports,
  };
}
