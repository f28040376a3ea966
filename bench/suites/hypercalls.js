/*
 * Hypercall throughput for bind/close cycles, on a domain that already has 64 bound ports:
 * EVTCHNOP_alloc_unbound + close; bind_interdomain (alloc_unbound in the guest, bind in dom0,
 * both closed); bind_ipi + close; the raw `eventChannelOp` interface the hypercall replay uses;
 * and the delivery replay's whole `bind` + `close` (guest IRQ layer included).
 */
import { allocLoopback, bindGuest, bindPorts, buildPlatform, closePort } from '../lib/platform.js';
import { cpuSeconds, median, seconds } from '../lib/measure.js';
import { abi2, core, fifo } from '../lib/stack.js';

/** Per CPU-second rates of the last {@link rate} call (robust against other load on the machine). */
let lastCpuRate = 0;

/**
 * Runs `cycle` (doing `opsPerCycle` hypercalls) for at least `minSeconds`; @returns ops/s
 * (median of samples); the median per CPU-second is left in `lastCpuRate`.
 */
function rate(cycle, opsPerCycle, minSeconds, samples) {
  for (let i = 0; i < 20000; i++) cycle();
  const rates = [];
  const cpuRates = [];
  for (let s = 0; s < samples; s++) {
    let n = 0;
    const start = seconds();
    const cpuStart = cpuSeconds();
    let elapsed = 0;
    do {
      for (let i = 0; i < 10000; i++) cycle();
      n += 10000;
      elapsed = seconds() - start;
    } while (elapsed < minSeconds);
    rates.push((n * opsPerCycle) / elapsed);
    cpuRates.push((n * opsPerCycle) / (cpuSeconds() - cpuStart));
  }
  lastCpuRate = median(cpuRates);
  return median(rates);
}

function check(rc, what) {
  if (rc < 0) throw new Error(`bench: ${what} = ${rc}`);
  return rc;
}

/**
 * @param {{minSeconds?:number, samples?:number, part?:'cycles'|'2level'|'fifo'}} p - `part`
 *   measures only the hypercall cycles, or only one ABI's replay bind + close (the bench runs
 *   each part in its own process, so one ABI's run does not leave the other's call sites
 *   polymorphic); without it, everything in this process
 */
export function measureHypercalls(p = {}) {
  const minSeconds = p.minSeconds ?? 0.3;
  const samples = p.samples ?? 3;
  const out = {};
  if (p.part === undefined || p.part === 'cycles') measureCycles(minSeconds, samples, out);
  for (const abi of ['2level', 'fifo']) {
    if (p.part !== undefined && p.part !== abi) continue;
    const env = bindPorts(buildPlatform(abi, 1, 128), 64);
    out[`replayBindClose_${abi}`] = rate(
      () => {
        const port = check(allocLoopback(env), 'alloc_unbound');
        bindGuest(env, port, 0);
        closePort(env, port);
      },
      1,
      minSeconds,
      samples,
    );
    out[`replayBindClosePerCpuSecond_${abi}`] = lastCpuRate;
  }
  return out;
}

/** The hypercall-only cycles on a two-domain platform (no guest layer), into `out`. */
function measureCycles(minSeconds, samples, out) {
  const platform = core.createPlatform({
    arch: core.archNull({ pirqs: 'none' }),
    abis: [abi2.abi2Level(), fifo.abiFifo()],
    domains: [{ id: 0 }, { id: 1 }],
  });
  const hv = platform.hypervisor;
  const d0 = platform.domain(0).domain.hypercalls;
  const d1 = platform.domain(1).domain.hypercalls;
  for (let i = 0; i < 64; i++) {
    check(d1.allocUnbound(core.DOMID_SELF, 0), 'alloc_unbound');
    check(d0.bindIpi(0), 'bind_ipi');
  }
  const SELF = core.DOMID_SELF;
  out.allocUnboundClose = rate(() => check(d1.close(check(d1.allocUnbound(SELF, 0), 'alloc_unbound')), 'close'), 2, minSeconds, samples);
  out.bindInterdomainClose = rate(
    () => {
      const remote = check(d1.allocUnbound(SELF, 0), 'alloc_unbound');
      const local = check(d0.bindInterdomain(1, remote), 'bind_interdomain');
      check(d0.close(local), 'close');
      check(d1.close(remote), 'close');
    },
    4,
    minSeconds,
    samples,
  );
  out.bindIpiClose = rate(() => check(d1.close(check(d1.bindIpi(0), 'bind_ipi')), 'close'), 2, minSeconds, samples);
  const { EVTCHNOP } = core;
  out.rawAllocUnboundClose = rate(
    () => {
      const r = hv.eventChannelOp(1, EVTCHNOP.alloc_unbound, { dom: SELF, remote_dom: 0 });
      check(r.rc, 'raw alloc_unbound');
      check(hv.eventChannelOp(1, EVTCHNOP.close, { port: r.port }).rc, 'raw close');
    },
    2,
    minSeconds,
    samples,
  );
}
