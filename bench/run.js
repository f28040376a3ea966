#!/usr/bin/env node
/*
 * `pnpm bench`: the performance suite (not part of `pnpm test`). Each measurement runs in its
 * own Node process (fresh heap, fresh JIT feedback, so one ABI's run does not slow the other's
 * through polymorphic call sites), and the parent prints a table and writes
 * bench/results.json. See bench/README.md for what each figure means and its target.
 *
 *   pnpm bench                    full suite (~5 minutes on a quiet machine)
 *   pnpm bench --quick            a fast subset (1 vCPU, one sample each, fewer events)
 *   pnpm bench --only a,b         only the named sections (throughput, sparse, alloc,
 *                                 memory, setup, domains, timed, runmem, hypercalls, flood)
 *   pnpm bench --replay FILE      run one replay scenario in a loop (events/s or steps/s)
 *   pnpm bench --out FILE         write the JSON somewhere else
 *   pnpm bench --no-pin           let the scheduler place the processes (default: pinned to
 *                                 the CPU a probe finds fastest, see lib/pin.js)
 *   pnpm bench --cpu N            pin every process to CPU N without probing
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CpuPinner, PROBE } from './lib/pin.js';

const SELF = fileURLToPath(import.meta.url);
const RESULT_MARK = '@@bench-result ';

/** The suites a child can run: module and function. */
const SUITES = {
  throughput: ['./suites/throughput.js', 'measureThroughput'],
  alloc: ['./suites/alloc.js', 'measureAlloc'],
  memory: ['./suites/memory.js', 'measureMemory'],
  domains: ['./suites/domains.js', 'measureDomains'],
  hypercalls: ['./suites/hypercalls.js', 'measureHypercalls'],
  flood: ['./suites/flood.js', 'measureFloodCases'],
  replay: ['./suites/replay.js', 'measureReplay'],
  setup: ['./suites/setup.js', 'measureSetup'],
  timed: ['./suites/timed.js', 'measureTimed'],
  runmem: ['./suites/run-memory.js', 'measureRunMemory'],
};

/**
 * The compiled-C anchor of issue 17: the real Xen `event_2l.c`/`event_fifo.c` and Linux
 * `events_2l.c`/`events_fifo.c` + edge flow at -O2, on the throughput workload, measured on
 * this machine class (events/s, 1 vCPU unless said). Written beside the figures, not measured here.
 */
const C_ANCHOR = {
  '2level/64/1': 48.4e6,
  'fifo/64/1': 35.2e6,
  'fifo/4000/1': 33.4e6,
  'fifo/131000/8': 15.3e6,
};

// ---------------------------------------------------------------- child mode

async function child(suite, params) {
  const [mod, fn] = SUITES[suite];
  const m = await import(mod);
  const result = await m[fn](params);
  process.stdout.write(RESULT_MARK + JSON.stringify(result) + '\n');
}

/** Where the measurement processes run (set by `main`; see lib/pin.js). */
let pinner;

/** Runs `suite` in a fresh process, on `cpu` when given. */
function spawnChild(suite, params, cpu) {
  const node = [process.execPath, '--expose-gc', SELF, '--child', suite, JSON.stringify(params)];
  const [cmd, ...args] = cpu === undefined ? node : ['taskset', '-c', String(cpu), ...node];
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (r.status !== 0 || line === undefined) throw new Error(`bench: ${suite} ${JSON.stringify(params)} failed (exit ${r.status})`);
  return JSON.parse(line.slice(RESULT_MARK.length));
}

/** Runs `suite` in a fresh process on the CPU the pinner chose; a result object records that CPU. */
function runChild(suite, params) {
  const cpu = pinner?.cpu();
  const r = spawnChild(suite, params, cpu);
  return cpu === undefined || Array.isArray(r) ? r : { ...r, pinnedCpu: cpu };
}

/** The pinner's probe: the probe workload on `cpu`, events/s. */
function probeCpu(cpu) {
  return spawnChild('throughput', PROBE, cpu).eventsPerSecond;
}

/**
 * Runs a measurement in `n` fresh processes and keeps the median one. A process's heap layout
 * (where GC put the per-IRQ objects) can make a whole process slower at large port counts, so
 * one process is not a figure; every process's rate is kept in `processRates`.
 */
function medianOfProcesses(n, run) {
  const all = Array.from({ length: n }, run).sort((a, b) => a.eventsPerSecond - b.eventsPerSecond);
  return { ...all[Math.floor((n - 1) / 2)], processRates: all.map((r) => r.eventsPerSecond) };
}

/**
 * Runs a measurement in `n` fresh processes; every numeric field of the result is the median
 * over the processes (each process's values are kept in `processes`).
 */
function medianFields(n, run) {
  const all = Array.from({ length: n }, run);
  const out = { ...all[0] };
  for (const k of Object.keys(out)) if (typeof out[k] === 'number') out[k] = median(all.map((r) => r[k]));
  out.processes = all;
  return out;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---------------------------------------------------------------- formatting

const M = (x) => (x / 1e6).toFixed(2);
const pct = (x) => `${(x * 100).toFixed(0)}%`;

function table(title, head, rows) {
  const all = [head, ...rows].map((r) => r.map(String));
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(all[0]));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of all.slice(1)) console.log(line(r));
}

function progress(msg) {
  process.stderr.write(`bench: ${msg}\n`);
}

// ---------------------------------------------------------------- sections

const THROUGHPUT_PORTS = { '2level': [64, 4000], fifo: [64, 4000, 131000] };

function throughputSection(opts, results) {
  const vcpuSet = opts.quick ? [1] : [1, 4, 8];
  const rows = [];
  for (const abi of ['2level', 'fifo']) {
    for (const ports of THROUGHPUT_PORTS[abi]) {
      for (const vcpus of vcpuSet) {
        progress(`throughput ${abi} ${ports} ports ${vcpus} vCPU`);
        const r = medianOfProcesses(opts.quick ? 1 : 3, () =>
          runChild('throughput', { abi, ports, vcpus, samples: opts.quick ? 1 : 3, warmupEvents: opts.quick ? 500_000 : 1_000_000 }),
        );
        results.throughput.push(r);
        const c = C_ANCHOR[`${abi}/${ports}/${vcpus}`];
        rows.push([abi, ports, vcpus, M(r.eventsPerSecond), M(r.best), M(r.eventsPerCpuSecond), c ? M(c) : '', c ? `${(r.eventsPerSecond / c).toFixed(2)}x` : '', r.eventsPerSample, r.setupSeconds.toFixed(2)]);
      }
    }
  }
  table(
    'End-to-end events/s (send → ABI → upcall → guest dispatch → handler), millions; median of 3 processes × 3 samples',
    ['abi', 'ports', 'vcpus', 'Mev/s', 'best', 'Mev/cpu-s', 'C Mev/s', 'vs C', 'events/sample', 'setup s'],
    rows,
  );
}

function sparseSection(opts, results) {
  // 64 ports sent per round whatever the number bound: the cost must follow what is pending.
  const cases = [
    { abi: '2level', ports: 64, send: 'all' },
    { abi: '2level', ports: 4000, send: 'last64' },
    { abi: '2level', ports: 4000, send: 'spread64' },
    { abi: 'fifo', ports: 64, send: 'all' },
    { abi: 'fifo', ports: 131000, send: 'last64' },
    { abi: 'fifo', ports: 131000, send: 'spread64' },
  ];
  const rows = [];
  for (const c of cases) {
    progress(`sparse ${c.abi} ${c.ports} bound, ${c.send}`);
    const r = runChild('throughput', { ...c, vcpus: 1, samples: opts.quick ? 1 : 3 });
    results.sparse.push(r);
    rows.push([c.abi, c.ports, c.send, M(r.eventsPerSecond), M(r.eventsPerCpuSecond)]);
  }
  table(
    'O(pending): 64 ports sent per round with 64 or many ports bound (1 vCPU); last64 = the highest bound ports, spread64 = spread over all',
    ['abi', 'bound', 'sent', 'Mev/s', 'Mev/cpu-s'],
    rows,
  );
}

function allocSection(opts, results) {
  const rows = [];
  for (const abi of ['2level', 'fifo']) {
    for (const vcpus of opts.quick ? [1] : [1, 4]) {
      progress(`alloc ${abi} ${vcpus} vCPU`);
      const r = runChild('alloc', { abi, vcpus, events: opts.quick ? 3_000_000 : 10_000_000 });
      results.alloc.push(r);
      rows.push([abi, vcpus, r.events, r.heapGrowthBytes, r.bytesPerEvent.toFixed(4), r.scavenges, r.markCompacts]);
    }
  }
  table('Hot-path allocation: live-heap growth and GCs across the events (64 ports)', ['abi', 'vcpus', 'events', 'heap growth B', 'B/event', 'scavenges', 'mark-compacts'], rows);
}

function memorySection(opts, results) {
  const rows = [];
  for (const abi of ['2level', 'fifo']) {
    progress(`memory ${abi}`);
    const r = runChild('memory', { abi, passes: opts.quick ? 1 : 3 });
    results.memory.push(r);
    rows.push([abi, r.boundPorts, r.hypervisorAbiPerPort.toFixed(1), r.irqTablePerPort.toFixed(1), r.tablesPerPort.toFixed(1), r.irqObjectsPerPort.toFixed(0), r.totalPerPort.toFixed(0)]);
  }
  table(
    'Bytes per bound port (live heap + array buffers after GC)',
    ['abi', 'ports', 'hv+ABI', 'port→irq table', 'tables total', 'IRQ objects', 'everything'],
    rows,
  );
}

function domainsSection(opts, results) {
  progress('domains');
  const r = medianFields(opts.quick ? 1 : 3, () => runChild('domains', {}));
  results.domains = r;
  table(
    `Platform of dom0 + ${r.guests} guests × ${r.channelsPerGuest} interdomain channels (both ends bound to IRQs), then ${r.events} events delivered; median of ${r.processes.length} processes`,
    ['figure', 'value'],
    [
      ['build, first time in the process (s)', r.buildSeconds.toFixed(3)],
      ['deliver the events (s)', r.deliverSeconds.toFixed(3)],
      ['build + deliver (s)', r.totalSeconds.toFixed(3)],
      ['build + deliver, CPU time (s)', r.totalCpuSeconds.toFixed(3)],
      ['build again in the same process (s)', r.warmBuildSeconds.toFixed(3)],
      ['live heap (MB)', (r.heapBytes / 1e6).toFixed(1)],
      ['per domain (KB)', (r.heapBytesPerDomain / 1e3).toFixed(1)],
    ],
  );
}

function setupSection(opts, results) {
  const rows = [];
  results.setup = [];
  for (const arch of ['null', 'x86']) {
    progress(`setup 131071 FIFO ports, ${arch} architecture`);
    const r = medianFields(opts.quick ? 1 : 3, () => runChild('setup', { arch }));
    results.setup.push(r);
    rows.push([arch, r.ports, r.seconds.toFixed(3), r.cpuSeconds.toFixed(3), `${r.firstIrq}..${r.lastIrq}`]);
  }
  table('Binding 131071 FIFO ports through the guest layer (replay bind, one by one); median of processes', ['arch', 'ports', 's', 'cpu s', 'IRQs'], rows);
}

function timedSection(opts, results) {
  const rows = [];
  results.timed = [];
  for (const abi of ['2level', 'fifo']) {
    const pair = {};
    for (const mode of ['immediate', 'timed']) {
      progress(`timed mode: ${abi} ${mode}`);
      pair[mode] = medianOfProcesses(opts.quick ? 1 : 3, () => runChild('timed', { abi, mode, samples: opts.quick ? 1 : 3 }));
    }
    const ratio = pair.timed.eventsPerSecond / pair.immediate.eventsPerSecond;
    const cpuRatio = pair.timed.eventsPerCpuSecond / pair.immediate.eventsPerCpuSecond;
    results.timed.push({ abi, immediate: pair.immediate, timed: pair.timed, ratio, cpuRatio });
    rows.push([abi, M(pair.immediate.eventsPerSecond), M(pair.timed.eventsPerSecond), pct(ratio), M(pair.immediate.eventsPerCpuSecond), M(pair.timed.eventsPerCpuSecond), pct(cpuRatio)]);
  }
  table(
    'Timed mode (execution model: raise, entry latency, costs charged) against immediate mode; x86, 64 ports, 1 vCPU; millions of events/s; median of processes',
    ['abi', 'immediate', 'timed', 'timed/imm.', 'imm. cpu', 'timed cpu', 'cpu ratio'],
    rows,
  );
}

function runMemorySection(opts, results) {
  const durations = opts.quick ? ['1s', '4s'] : ['1s', '32s'];
  const runs = durations.map((duration) => {
    progress(`run memory: the default demo for ${duration} of virtual time`);
    return runChild('runmem', { kind: 'duration', duration });
  });
  const heavyDuration = opts.quick ? '10ms' : '50ms';
  progress(`run memory: heavy traced run, ${heavyDuration} at 1e9 sends/s`);
  const heavy = runChild('runmem', { kind: 'heavy-trace', duration: heavyDuration });
  results.runMemory = { runs, heavy };
  const MB = (b) => (b / 1e6).toFixed(1);
  table(
    'Memory of `evtchn run` as virtual time grows (live heap after GC at the end; peak RSS), and a heavy run with --trace streaming',
    ['run', 'events', 'wall s', 'live MB', 'peak RSS MB', 'trace MB'],
    [...runs, heavy].map((r) => [
      r.kind === 'duration' ? `demo, ${r.duration}` : `heavy traced, ${r.duration}`,
      r.events,
      r.wallSeconds.toFixed(1),
      MB(r.liveBytesAtEnd),
      MB(r.maxRssBytes),
      MB(r.traceBytes),
    ]),
  );
}

function hypercallSection(opts, results) {
  progress('hypercalls');
  // Each part in its own processes: a 2-level bind/close run would leave the FIFO run's call
  // sites polymorphic (and the hypercall cycles both), which compiled code does not pay.
  const params = { minSeconds: opts.quick ? 0.1 : 0.3, samples: opts.quick ? 1 : 3 };
  const r = medianFields(opts.quick ? 1 : 3, () => ({
    ...runChild('hypercalls', { ...params, part: 'cycles' }),
    ...runChild('hypercalls', { ...params, part: '2level' }),
    ...runChild('hypercalls', { ...params, part: 'fifo' }),
  }));
  results.hypercalls = r;
  table(`Hypercall ops/s for bind/close cycles (millions of hypercalls/s; replay bind+close: cycles/s); median of ${r.processes.length} processes`, ['cycle', 'Mops/s'], [
    ['alloc_unbound + close', M(r.allocUnboundClose)],
    ['alloc_unbound + bind_interdomain + close ×2', M(r.bindInterdomainClose)],
    ['bind_ipi + close', M(r.bindIpiClose)],
    ['raw eventChannelOp alloc_unbound + close', M(r.rawAllocUnboundClose)],
    ['replay bind + close, 2level (cycles)', M(r.replayBindClose_2level)],
    ['replay bind + close, fifo (cycles)', M(r.replayBindClose_fifo)],
    ['replay bind + close, 2level (cycles per CPU-second)', M(r.replayBindClosePerCpuSecond_2level)],
    ['replay bind + close, fifo (cycles per CPU-second)', M(r.replayBindClosePerCpuSecond_fifo)],
  ]);
}

function floodSection(opts, results) {
  progress('flood');
  const r = runChild('flood', { rounds: opts.quick ? 5000 : 20000 });
  results.flood = r;
  table(
    'Flood: one port re-raised up to 256× per upcall, 63 others sent 4 per round; latency of the others',
    ['case', 'lost', 'flood share', 'lat ev p50', 'p99', 'max', 'lat rounds max'],
    r.map((c) => [c.label, c.lost, pct(c.floodShare), c.latencyEventsP50, c.latencyEventsP99, c.latencyEventsMax, c.latencyRoundsMax]),
  );
}

// ---------------------------------------------------------------- targets

function targets(results) {
  const out = [];
  const anchor = (key) => (C_ANCHOR[key] ? `${M(C_ANCHOR[key])}M` : '');
  const tp = (abi, ports, vcpus) => results.throughput.find((r) => r.abi === abi && r.ports === ports && r.vcpus === vcpus);
  const rate = (r) => `${M(r.eventsPerSecond)}M (cpu-time ${M(r.eventsPerCpuSecond)}M)`;
  for (const [abi, ports, min] of [
    ['2level', 64, 25e6],
    ['fifo', 64, 18e6],
    ['fifo', 4000, 17e6],
  ]) {
    const r = tp(abi, ports, 1);
    if (r) out.push({ target: `${abi}: >= ${M(min)}M events/s, ${ports} ports, 1 vCPU (0.5x C)`, anchor: anchor(`${abi}/${ports}/1`), measured: rate(r), ok: r.eventsPerSecond >= min });
  }
  for (const vcpus of [1, 4, 8]) {
    const small = tp('fifo', 64, vcpus);
    const big = tp('fifo', 131000, vcpus);
    if (small && big) {
      const ratio = big.eventsPerSecond / small.eventsPerSecond;
      out.push({
        target: `fifo: 131000 ports within 20% of 64 ports (${vcpus} vCPU)`,
        anchor: anchor(`fifo/131000/${vcpus}`),
        measured: `${pct(ratio)} (${M(big.eventsPerSecond)}M vs ${M(small.eventsPerSecond)}M; cpu-time ${pct(big.eventsPerCpuSecond / small.eventsPerCpuSecond)})`,
        ok: ratio >= 0.8,
      });
    }
  }
  for (const r of results.setup ?? []) {
    if (r.arch !== 'null') continue;
    out.push({ target: `131071 FIFO ports bound through the guest layer in < 2 s`, anchor: '', measured: `${r.seconds.toFixed(3)} s (cpu ${r.cpuSeconds.toFixed(3)} s)`, ok: r.seconds < 2 });
  }
  for (const r of results.setup ?? []) {
    if (r.arch !== 'x86') continue;
    out.push({ target: `same on x86 (lower-bound IRQ space) in < 2 s`, anchor: '', measured: `${r.seconds.toFixed(3)} s (cpu ${r.cpuSeconds.toFixed(3)} s)`, ok: r.seconds < 2 });
  }
  if (results.domains) {
    const d = results.domains;
    out.push({
      target: `dom0 + ${d.guests} guests x ${d.channelsPerGuest} channels built and 1e6 events delivered in < 3 s`,
      anchor: '',
      measured: `${d.totalSeconds.toFixed(3)} s (build ${d.buildSeconds.toFixed(2)} + deliver ${d.deliverSeconds.toFixed(2)}; cpu ${d.totalCpuSeconds.toFixed(2)} s)`,
      ok: d.totalSeconds < 3,
    });
  }
  if (results.hypercalls) {
    for (const abi of ['2level', 'fifo']) {
      const v = results.hypercalls[`replayBindClose_${abi}`];
      const cpu = results.hypercalls[`replayBindClosePerCpuSecond_${abi}`];
      out.push({ target: `replay bind + close >= 3M cycles/s (${abi})`, anchor: '', measured: `${M(v)}M (cpu-time ${M(cpu)}M)`, ok: v >= 3e6 });
    }
  }
  if (results.runMemory) {
    const [short, long] = results.runMemory.runs;
    const live = long.liveBytesAtEnd / short.liveBytesAtEnd;
    const rss = long.maxRssBytes / short.maxRssBytes;
    out.push({
      target: `a ${long.duration} run uses no more memory than a ${short.duration} run (+10%)`,
      anchor: '',
      measured: `live ${(long.liveBytesAtEnd / 1e6).toFixed(1)} vs ${(short.liveBytesAtEnd / 1e6).toFixed(1)} MB (${pct(live)}); peak RSS ${pct(rss)}`,
      ok: live <= 1.1 && rss <= 1.1,
    });
    const h = results.runMemory.heavy;
    out.push({ target: `heavy traced run (${h.duration}, 1e9 sends/s) under 1 GiB RSS`, anchor: '', measured: `${(h.maxRssBytes / 1e6).toFixed(0)} MB peak RSS, ${(h.traceBytes / 1e6).toFixed(0)} MB of trace`, ok: h.maxRssBytes < 2 ** 30 });
  }
  if (results.timed.length === 0) out.push({ target: 'timed mode >= 50% of the immediate-mode events/s', anchor: '', measured: 'not run', ok: null });
  for (const t of results.timed) {
    out.push({
      target: `timed mode >= 50% of the immediate-mode events/s (${t.abi}, x86)`,
      anchor: '',
      measured: `${pct(t.ratio)} (${M(t.timed.eventsPerSecond)}M vs ${M(t.immediate.eventsPerSecond)}M; cpu-time ${pct(t.cpuRatio)})`,
      ok: t.ratio >= 0.5,
    });
  }
  const fifoMem = results.memory.find((r) => r.abi === 'fifo');
  if (fifoMem) out.push({ target: '<= 32 bytes per bound port in tables, 131071 FIFO ports', anchor: '', measured: `${fifoMem.tablesPerPort.toFixed(1)} B`, ok: fifoMem.tablesPerPort <= 32 });
  for (const a of results.alloc) {
    out.push({ target: `${a.abi} ${a.vcpus} vCPU: no allocation per event`, anchor: '', measured: `${a.scavenges} scavenges, ${a.heapGrowthBytes} B growth over ${(a.events / 1e6).toFixed(1)}M events`, ok: a.scavenges === 0 && a.heapGrowthBytes < 256 * 1024 });
  }
  for (const abi of ['2level', 'fifo']) {
    const base = results.sparse.find((r) => r.abi === abi && r.send === 'all');
    const last = results.sparse.find((r) => r.abi === abi && r.send === 'last64');
    if (base && last) {
      const ratio = last.eventsPerCpuSecond / base.eventsPerCpuSecond;
      out.push({ target: `${abi}: cost O(pending): last 64 of ${last.ports} bound vs 64 bound (cpu-time)`, anchor: '', measured: pct(ratio), ok: ratio >= 0.8 });
    }
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main(argv) {
  if (argv[0] === '--child') return child(argv[1], JSON.parse(argv[2] ?? '{}'));
  const opts = { quick: false, only: null, replay: null, pin: 'auto', out: fileURLToPath(new URL('./results.json', import.meta.url)) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') continue;
    else if (a === '--quick') opts.quick = true;
    else if (a === '--only') opts.only = new Set(argv[++i].split(','));
    else if (a === '--replay') opts.replay = argv[++i];
    else if (a === '--out') opts.out = argv[++i];
    else if (a === '--no-pin') opts.pin = 'off';
    else if (a === '--cpu') {
      const cpu = Number(argv[++i]);
      if (!Number.isInteger(cpu) || cpu < 0) throw new Error(`bench: --cpu takes a CPU number, got ${argv[i]}`);
      opts.pin = cpu;
    } else if (a === '--help' || a === '-h') {
      console.log('usage: pnpm bench [--quick] [--only section,...] [--replay FILE] [--out FILE] [--no-pin | --cpu N]');
      return;
    } else throw new Error(`bench: unknown argument ${a}`);
  }
  const started = Date.now();
  const results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model,
      cpus: cpus().length,
      loadAverageAtStart: loadavg(),
      quick: opts.quick,
    },
    throughput: [],
    sparse: [],
    alloc: [],
    memory: [],
    setup: [],
    timed: [],
    domains: null,
    hypercalls: null,
    flood: null,
  };
  console.log(`evtchn-lab bench — node ${process.version}, ${results.meta.cpus} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}${opts.quick ? ' (quick)' : ''}`);
  pinner = new CpuPinner(opts.pin, probeCpu);
  if (!pinner.enabled) console.log(opts.pin === 'off' ? 'processes not pinned (--no-pin)' : 'processes not pinned: taskset is not available here');
  else if (opts.pin === 'auto') {
    pinner.cpu();
    const [p] = pinner.probes;
    console.log(`processes pinned to the CPU a probe finds fastest, re-probed every ${pinner.maxAgeMs / 1000} s (first probe: ${p.eventsPerSecond.map((r, c) => `cpu${c} ${M(r)}M`).join(', ')} events/s; see lib/pin.js)`);
  } else console.log(`processes pinned to cpu${opts.pin}`);

  if (opts.replay) {
    progress(`replay ${opts.replay}`);
    const r = runChild('replay', { file: opts.replay });
    results.replay = r;
    const rows = Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : String(v)]);
    table(`Replay ${opts.replay} in a loop`, ['figure', 'value'], rows);
  } else {
    const sections = { throughput: throughputSection, sparse: sparseSection, alloc: allocSection, memory: memorySection, setup: setupSection, domains: domainsSection, timed: timedSection, runmem: runMemorySection, hypercalls: hypercallSection, flood: floodSection };
    for (const [name, fn] of Object.entries(sections)) if (!opts.only || opts.only.has(name)) fn(opts, results);
    results.targets = targets(results);
    table(
      `Targets (issues 14 and 17), load average at start ${results.meta.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}, now ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
      ['target', 'C anchor', 'measured', 'met'],
      results.targets.map((t) => [t.target, t.anchor, t.measured, t.ok === null ? 'pending' : t.ok ? 'yes' : 'NO']),
    );
  }
  results.meta.pinning = pinner.summary();
  results.meta.loadAverageAtEnd = loadavg();
  results.meta.seconds = (Date.now() - started) / 1000;
  writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
  console.log(`\n${results.meta.seconds.toFixed(0)} s; load at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}; results in ${opts.out}`);
}

await main(process.argv.slice(2));
