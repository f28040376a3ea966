#!/usr/bin/env node
/*
 * `pnpm bench`: the performance suite (not part of `pnpm test`). Each measurement runs in its
 * own Node process (fresh heap, fresh JIT feedback, so one ABI's run does not slow the other's
 * through polymorphic call sites), and the parent prints a table and writes
 * bench/results.json. See bench/README.md for what each figure means and its target.
 *
 *   pnpm bench                    full suite (~2-3 minutes)
 *   pnpm bench --quick            a fast subset (1 vCPU, one sample each, fewer events)
 *   pnpm bench --only a,b         only the named sections (throughput, sparse, alloc,
 *                                 memory, domains, hypercalls, flood)
 *   pnpm bench --replay FILE      run one replay scenario in a loop (events/s or steps/s)
 *   pnpm bench --out FILE         write the JSON somewhere else
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

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
};

// ---------------------------------------------------------------- child mode

async function child(suite, params) {
  const [mod, fn] = SUITES[suite];
  const m = await import(mod);
  const result = await m[fn](params);
  process.stdout.write(RESULT_MARK + JSON.stringify(result) + '\n');
}

function runChild(suite, params) {
  const r = spawnSync(process.execPath, ['--expose-gc', SELF, '--child', suite, JSON.stringify(params)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (r.status !== 0 || line === undefined) throw new Error(`bench: ${suite} ${JSON.stringify(params)} failed (exit ${r.status})`);
  return JSON.parse(line.slice(RESULT_MARK.length));
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
        rows.push([abi, ports, vcpus, M(r.eventsPerSecond), M(r.best), M(r.eventsPerCpuSecond), r.eventsPerSample, r.setupSeconds.toFixed(2)]);
      }
    }
  }
  table(
    'End-to-end events/s (send → ABI → upcall → guest dispatch → handler), millions; median of 3 processes × 3 samples',
    ['abi', 'ports', 'vcpus', 'Mev/s', 'best', 'Mev/cpu-s', 'events/sample', 'setup s'],
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
  const r = runChild('domains', {});
  results.domains = r;
  table(
    'Platform of dom0 + 1000 guests × 8 interdomain channels (both ends bound to IRQs)',
    ['figure', 'value'],
    [
      ['create, first time (s)', r.coldSeconds.toFixed(3)],
      ['create, again in the same process (s)', r.warmSeconds.toFixed(3)],
      ['live heap (MB)', (r.heapBytes / 1e6).toFixed(1)],
      ['per domain (KB)', (r.heapBytesPerDomain / 1e3).toFixed(1)],
    ],
  );
}

function hypercallSection(opts, results) {
  progress('hypercalls');
  const r = runChild('hypercalls', { minSeconds: opts.quick ? 0.1 : 0.3, samples: opts.quick ? 1 : 3 });
  results.hypercalls = r;
  table('Hypercall ops/s for bind/close cycles (millions of hypercalls/s; replay bind+close: cycles/s)', ['cycle', 'Mops/s'], [
    ['alloc_unbound + close', M(r.allocUnboundClose)],
    ['alloc_unbound + bind_interdomain + close ×2', M(r.bindInterdomainClose)],
    ['bind_ipi + close', M(r.bindIpiClose)],
    ['raw eventChannelOp alloc_unbound + close', M(r.rawAllocUnboundClose)],
    ['replay bind + close, 2level (cycles)', M(r.replayBindClose_2level)],
    ['replay bind + close, fifo (cycles)', M(r.replayBindClose_fifo)],
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
  const tp = (abi, ports, vcpus) => results.throughput.find((r) => r.abi === abi && r.ports === ports && r.vcpus === vcpus);
  for (const abi of ['2level', 'fifo']) {
    const r = tp(abi, 64, 1);
    if (r) out.push({ target: `${abi}: >= 8M events/s, 64 ports, 1 vCPU`, measured: `${M(r.eventsPerSecond)}M (cpu-time ${M(r.eventsPerCpuSecond)}M)`, ok: r.eventsPerSecond >= 8e6 });
  }
  for (const vcpus of [1, 4, 8]) {
    const small = tp('fifo', 64, vcpus);
    const big = tp('fifo', 131000, vcpus);
    if (small && big) {
      const ratio = big.eventsPerSecond / small.eventsPerSecond;
      out.push({ target: `fifo: 131000 ports within 20% of 64 ports (${vcpus} vCPU)`, measured: `${pct(ratio)} (${M(big.eventsPerSecond)}M vs ${M(small.eventsPerSecond)}M)`, ok: ratio >= 0.8 });
    }
  }
  const fifoMem = results.memory.find((r) => r.abi === 'fifo');
  if (fifoMem) out.push({ target: '<= 32 bytes per bound port in tables, 131071 FIFO ports', measured: `${fifoMem.tablesPerPort.toFixed(1)} B`, ok: fifoMem.tablesPerPort <= 32 });
  if (results.domains) out.push({ target: '1000 domains x 8 channels in < 1 s', measured: `${results.domains.coldSeconds.toFixed(3)} s`, ok: results.domains.coldSeconds < 1 });
  for (const a of results.alloc) {
    out.push({ target: `${a.abi} ${a.vcpus} vCPU: no allocation per event`, measured: `${a.scavenges} scavenges, ${a.heapGrowthBytes} B growth over ${(a.events / 1e6).toFixed(1)}M events`, ok: a.scavenges === 0 && a.heapGrowthBytes < 256 * 1024 });
  }
  for (const abi of ['2level', 'fifo']) {
    const base = results.sparse.find((r) => r.abi === abi && r.send === 'all');
    const last = results.sparse.find((r) => r.abi === abi && r.send === 'last64');
    if (base && last) {
      const ratio = last.eventsPerCpuSecond / base.eventsPerCpuSecond;
      out.push({ target: `${abi}: cost O(pending): last 64 of ${last.ports} bound vs 64 bound (cpu-time)`, measured: pct(ratio), ok: ratio >= 0.8 });
    }
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main(argv) {
  if (argv[0] === '--child') return child(argv[1], JSON.parse(argv[2] ?? '{}'));
  const opts = { quick: false, only: null, replay: null, out: fileURLToPath(new URL('./results.json', import.meta.url)) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') continue;
    else if (a === '--quick') opts.quick = true;
    else if (a === '--only') opts.only = new Set(argv[++i].split(','));
    else if (a === '--replay') opts.replay = argv[++i];
    else if (a === '--out') opts.out = argv[++i];
    else if (a === '--help' || a === '-h') {
      console.log('usage: pnpm bench [--quick] [--only section,...] [--replay FILE] [--out FILE]');
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
    domains: null,
    hypercalls: null,
    flood: null,
  };
  console.log(`evtchn-lab bench — node ${process.version}, ${results.meta.cpus} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}${opts.quick ? ' (quick)' : ''}`);

  if (opts.replay) {
    progress(`replay ${opts.replay}`);
    const r = runChild('replay', { file: opts.replay });
    results.replay = r;
    const rows = Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : String(v)]);
    table(`Replay ${opts.replay} in a loop`, ['figure', 'value'], rows);
  } else {
    const sections = { throughput: throughputSection, sparse: sparseSection, alloc: allocSection, memory: memorySection, domains: domainsSection, hypercalls: hypercallSection, flood: floodSection };
    for (const [name, fn] of Object.entries(sections)) if (!opts.only || opts.only.has(name)) fn(opts, results);
    results.targets = targets(results);
    table('Targets', ['target', 'measured', 'met'], results.targets.map((t) => [t.target, t.measured, t.ok ? 'yes' : 'NO']));
  }
  results.meta.loadAverageAtEnd = loadavg();
  results.meta.seconds = (Date.now() - started) / 1000;
  writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
  console.log(`\n${results.meta.seconds.toFixed(0)} s; load at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}; results in ${opts.out}`);
}

await main(process.argv.slice(2));
