/*
 * Bytes per bound port, from live memory (JS heap + ArrayBuffer backing stores, after a full
 * GC) measured before the platform exists, after it booted, after the hypervisor half of every
 * bind (alloc_unbound + loopback, and the ABI's event array grown to cover the ports), and
 * after the guest half (bind_evtchn_to_irq, request_irq, priority, affinity).
 *
 * "Tables" is what the target counts: everything the platform, the hypervisor and the
 * ABI hold (fixed-size bitmaps included), plus the guest's port→IRQ table, divided by the
 * bound ports. The guest's per-IRQ objects (descriptor, irq_info, action) are reported apart.
 */
import { allocLoopback, bindGuest, buildPlatform, FIFO_PORTS } from '../lib/platform.js';
import { liveBytes, median } from '../lib/measure.js';
import { linux } from '../lib/stack.js';

/**
 * @param {{abi:'2level'|'fifo', ports?:number}} p - `ports` = port space (131072 FIFO, 4096 2-level);
 *   every port but port 0 is bound
 */
export function measureMemory(p) {
  // Compiled code and feedback count as heap too: a first pass absorbs most of it, and the
  // median of the next passes drops what optimising compilation adds to one of them.
  measureOnce(p);
  const passes = [];
  for (let i = 0; i < (p.passes ?? 3); i++) passes.push(measureOnce(p));
  const out = { ...passes[0] };
  for (const k of Object.keys(out)) if (typeof out[k] === 'number') out[k] = median(passes.map((r) => r[k]));
  out.passes = passes.length;
  return out;
}

function measureOnce(p) {
  const space = p.ports ?? (p.abi === 'fifo' ? FIFO_PORTS : 4096);
  const perCopy = space - 1;
  // A 4095-port figure is small next to the heap's noise: measure several platforms at once.
  const copies = p.copies ?? Math.max(1, Math.round(65536 / space));
  const n = perCopy * copies;
  const m0 = liveBytes();
  const envs = [];
  for (let c = 0; c < copies; c++) envs.push(buildPlatform(p.abi, 1, perCopy));
  const m1 = liveBytes();
  const ports = new Uint32Array(perCopy);
  for (const env of envs) {
    for (let i = 0; i < perCopy; i++) {
      const port = allocLoopback(env);
      if (port < 0) throw new Error(`bench: alloc_unbound ${i} = ${port}`);
      ports[i] = port;
    }
    const setupRc = env.guest.abi.setup(ports[perCopy - 1]);
    if (setupRc < 0) throw new Error(`bench: ABI setup = ${setupRc}`);
  }
  const m2 = liveBytes();
  for (const env of envs) for (let i = 0; i < perCopy; i++) bindGuest(env, ports[i], 0);
  const m3 = liveBytes();

  // The guest's port→IRQ table alone, built the same way the guest builds it.
  const t0 = liveBytes();
  const maps = [];
  for (let c = 0; c < copies; c++) {
    const map = new linux.EvtchnIrqMap(envs[0].guest.abi.maxChannels());
    for (let i = 0; i < perCopy; i++) map.set(ports[i], i);
    maps.push(map);
  }
  const t1 = liveBytes();
  const irqTable = t1 - t0;

  // Keep everything alive until the last measurement.
  if (envs.some((env) => env.hv.domain(env.domain.id) === undefined) || maps[0].get(ports[0]) !== 0) throw new Error('unreachable');

  return {
    abi: p.abi,
    boundPorts: perCopy,
    copies,
    platformBytes: (m1 - m0) / copies,
    hypervisorAbiPerPort: (m2 - m1) / n,
    guestPerPort: (m3 - m2) / n,
    irqTablePerPort: irqTable / n,
    tablesPerPort: (m2 - m0 + irqTable) / n,
    irqObjectsPerPort: (m3 - m2 - irqTable) / n,
    totalPerPort: (m3 - m0) / n,
  };
}
