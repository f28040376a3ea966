/*
 * The `evtchn` command line. Every command takes `--json` (one JSON document on stdout, the
 * schemas are in docs/guides/command-line.md); usage errors print one line and a hint, not
 * the help. Exit codes are listed in EXIT_CODES (and in `--help` and the README).
 *
 * Each command is registered by one function of COMMANDS, so a new command is one more entry.
 */
import 'reflect-metadata';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, SnapshotError, XenError, dumpEventChannels, lsevtchn, parseDuration, type Hypervisor } from '@evtchn/core';
import { replayAndCompare, readScenario, runScenario, ScenarioError } from '@evtchn/conformance';
import { LinuxGuest } from '@evtchn/guest-linux';
import { DEFAULT_RUN_DURATION, hypervisorFromFile, loadConfigFile, resumeRunFile, runConfigFile } from './run/command.js';
import { checkConfigFile, type CheckOptions } from './run/check.js';
import type { PluginResolveOptions } from './run/plugins.js';
import { pluginCommand } from './plugin/command.js';
import { estimateRun, LONG_RUN_SECONDS, type RunEstimate } from './run/estimate.js';
import { formatRunReport, runReportJson } from './run/format.js';
import { progressMode, type ProgressStream } from './text/progress.js';
import { formatDuration, formatWallTime } from './text/units.js';
import { portDump, portStatuses } from './views.js';
import type { RunReport, Simulation } from '@evtchn/sim';
import { loadStudy, parseShard } from './sweep/study.js';
import { defaultCompare, formatComparison, readShards, runSweep, writeSweep, type SweepFiles } from './sweep/sweep.js';
import { summarise } from './sweep/table.js';
import type { SweepRow } from './sweep/run-one.js';
import { ReportFile } from './report/file.js';
import { RUN_REPORT_SAMPLE_POINTS, runReportHtml } from './report/run-report.js';
import { sweepReportHtml } from './report/sweep-report.js';
import { DEFAULT_EXPLORE_DURATION, DEFAULT_EXPLORE_MAX_STEPS, defaultExploreOut, exploreFile } from './explore/command.js';
import { serveExplorer } from './explore/serve.js';
import type { ConformJson, DumpJson, ExploreJson, LsevtchnJson, ReplayCompareJson, ReplayJson, ValidateJson } from './json-output.js';

/** Output streams and environment, replaceable for tests. */
export interface CliIo {
  /** Standard output. */
  out(text: string): void;
  /** Standard error. */
  err(text: string): void;
  /** Where `run` draws its progress (default process.stderr). */
  progress?: ProgressStream;
  /** Environment (default process.env): `NO_COLOR`, `TERM`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Ends commands that run until stopped (`explore --serve`); without it they run until the
   * process is interrupted.
   */
  signal?: AbortSignal;
}

const processIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** The exit codes of `evtchn`, as `--help` and the README list them. */
export const EXIT_CODES = {
  /** Success. */
  ok: 0,
  /** A replay or a conformance vector differs from its expected output. */
  mismatch: 1,
  /** Bad input: a usage error, an unreadable or invalid file, a configuration the model refuses. */
  badInput: 2,
  /** A run stopped early (an exception from a plugin or the model); the report so far was printed. */
  runStopped: 3,
  /** An internal error (a bug: please report it with the command line). */
  internal: 70,
} as const;

const EXIT_HELP = `
Exit codes:
  0   success
  1   a replay or conformance vector differs from its expected output
  2   bad input: usage error, unreadable or invalid file, configuration the model refuses
  3   a run stopped early (an exception from a plugin or the model); the report so far is printed
  70  internal error (a bug; please report it)
  130 interrupted (Ctrl-C)

Every command takes --json: one JSON document on stdout (schemas: docs/guides/command-line.md).
Progress and warnings go to stderr. NO_COLOR and TERM=dumb are respected.
`;

/** Thrown inside commands to end with an exit code. */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** What a command registration gets: the output and the JSON printer. */
interface Ctx {
  io: CliIo;
  env: NodeJS.ProcessEnv;
  /** Prints a value as the command's JSON document. */
  json<T>(value: T): void;
}

function version(): string {
  // dist/main.js and src/main.ts both sit one level under the package directory.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Parses a non-negative decimal integer argument strictly (no `""`, `0x10`, `1e3`, ` 7`). */
export function parseIntArg(name: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || Number(text) > max) throw new ConfigError(`${name}: expected an integer 0..${max}, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseDomid(text: string, hv: Hypervisor): number {
  const known = hv
    .allDomains()
    .map((d) => d.id)
    .join(', ');
  const id = parseIntArg('domid', text, 0x7fff);
  if (!hv.domain(id)) throw new ConfigError(`domid: no domain ${id}; domains: ${known}`);
  return id;
}

function describeMismatch(file: string, m: { step: number; op?: string; expected?: string; actual?: string }): string {
  const where = `step ${m.step}${m.op ? ` (${m.op})` : ''}`;
  if (m.expected === undefined) return `${file}: ${where}: unexpected extra output ${m.actual}`;
  if (m.actual === undefined) return `${file}: ${where}: missing output, expected ${m.expected}`;
  return `${file}: ${where}: expected ${m.expected}, got ${m.actual}`;
}

function warnIfLong(ctx: Ctx, estimate: RunEstimate, durationNs: number): string | undefined {
  if (estimate.wallSeconds < LONG_RUN_SECONDS) return undefined;
  const text =
    `this run will take very long: about ${estimate.notifications.toPrecision(2)} notifications in ${formatDuration(durationNs)} of virtual time, ` +
    `roughly ${formatWallTime(estimate.wallSeconds)} of wall time; shorten run.duration (--duration) or lower the rates`;
  ctx.io.err(`evtchn: warning: ${text}\n`);
  return text;
}

/** `evtchn replay`. */
function replayCommand(program: Command, ctx: Ctx): void {
  program
    .command('replay')
    .description('replay an evtchn-replay/1 or evtchn-hypercall/1 scenario and print one JSON line per step')
    .argument('<file>', 'scenario (.json)')
    .option('--expect <file>', 'compare with an expected .jsonl file; exit 1 naming the first differing step')
    .option('--json', 'print one JSON document (see docs/guides/command-line.md)')
    .action((file: string, opts: { expect?: string; json?: boolean }) => {
      if (opts.expect) {
        const { run, mismatch } = replayAndCompare(file, opts.expect);
        if (opts.json) ctx.json<ReplayCompareJson>({ file, expected: opts.expect, match: !mismatch, steps: run.lines.length, ...(mismatch ? { mismatch } : {}) });
        if (mismatch) {
          if (!opts.json) ctx.io.err(`${describeMismatch(file, mismatch)}\n`);
          throw new Exit(EXIT_CODES.mismatch);
        }
        if (!opts.json) ctx.io.out(`${file}: ${run.lines.length} steps match ${opts.expect}\n`);
        return;
      }
      const run = runScenario(readScenario(file));
      if (opts.json) ctx.json<ReplayJson>({ file, steps: run.lines.map((l) => JSON.parse(l) as unknown) });
      else ctx.io.out(run.lines.map((l) => `${l}\n`).join(''));
    });
}

/** Resolves when `signal` aborts; never without one (the process ends on Ctrl-C). */
function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** `evtchn explore`. */
function exploreCommand(program: Command, ctx: Ctx): void {
  program
    .command('explore')
    .description('step through an evtchn-replay/1 scenario, or a run of a configuration, in the browser: one self-contained HTML page showing the state each step leaves')
    .argument('<file>', 'delivery scenario (.json) or platform configuration (YAML/JSON)')
    .option('-o, --out <file>', 'the page to write (default: NAME.explore.html in the current folder)')
    .option('--expect <file>', 'show each step beside its expected line (.expected.jsonl), differences highlighted')
    .option('--duration <time>', `a configuration: virtual time to run (default ${DEFAULT_EXPLORE_DURATION})`)
    .option('--seed <n>', "a configuration: seed of the workloads (default: run.seed, else 1)")
    .option('--max-steps <n>', `a configuration: clock instants recorded at most (default ${DEFAULT_EXPLORE_MAX_STEPS})`)
    .option('--serve', 'serve the page on 127.0.0.1 instead of writing it (until Ctrl-C); with -o, write it too')
    .option('--port <n>', 'TCP port for --serve (default: any free port)')
    .option('--json', 'print one JSON document (see docs/guides/command-line.md)')
    .action(async (file: string, opts: { out?: string; expect?: string; duration?: string; seed?: string; maxSteps?: string; serve?: boolean; port?: string; json?: boolean }, command: Command) => {
      if (opts.port !== undefined && !opts.serve) command.error('error: --port needs --serve');
      const port = opts.port === undefined ? 0 : parseIntArg('--port', opts.port, 65535);
      const out = opts.out ?? (opts.serve ? undefined : defaultExploreOut(file));
      const { data, html } = await exploreFile(file, out, opts.expect, {
        duration: opts.duration,
        seed: opts.seed === undefined ? undefined : parseIntArg('--seed', opts.seed, 0xffffffff),
        maxSteps: opts.maxSteps === undefined ? undefined : Math.max(1, parseIntArg('--max-steps', opts.maxSteps, 1_000_000)),
      });
      const firstDifference = data.firstMismatch >= 0 ? data.firstMismatch : undefined;
      const server = opts.serve ? await serveExplorer(html, port) : undefined;
      if (opts.json)
        ctx.json<ExploreJson>({
          file,
          ...(out !== undefined && { out }),
          ...(server && { url: server.url }),
          abi: data.abi,
          steps: data.steps.length,
          ...(opts.expect !== undefined && { expected: opts.expect, firstDifference }),
        });
      else
        ctx.io.out(
          `${[out, server?.url].filter(Boolean).join(' and ')}: ${data.steps.length} steps of ${file} (${data.abi})` +
            (opts.expect === undefined ? '' : firstDifference === undefined ? `, all matching ${opts.expect}` : `, first difference from ${opts.expect} at step ${firstDifference}`) +
            '\n',
        );
      if (server) {
        if (!opts.json) ctx.io.err('serving on the loopback interface until interrupted (Ctrl-C)\n');
        await untilAborted(ctx.io.signal);
        await server.close();
      }
    });
}

/** `evtchn conform`. */
function conformCommand(program: Command, ctx: Ctx): void {
  program
    .command('conform')
    .description('replay every NAME.json that has a NAME.expected.jsonl in the given directories and summarise')
    .argument('<dirs...>', 'directories of conformance vectors')
    .option('--json', 'print one JSON document (see docs/guides/command-line.md)')
    .action((dirs: string[], opts: { json?: boolean }) => {
      const vectors: { file: string; ok: boolean; problem?: string }[] = [];
      for (const dir of dirs) {
        let names: string[];
        try {
          names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
        } catch (e) {
          throw new ScenarioError(dir, `cannot list: ${(e as Error).message}`);
        }
        const withExpected = names.filter((n) => existsSync(join(dir, `${basename(n, '.json')}.expected.jsonl`)));
        if (withExpected.length === 0) throw new ScenarioError(dir, 'no conformance vectors here (a NAME.json with its NAME.expected.jsonl)');
        for (const name of withExpected) {
          const file = join(dir, name);
          const expected = join(dir, `${basename(name, '.json')}.expected.jsonl`);
          let problem: string | undefined;
          try {
            const { mismatch } = replayAndCompare(file, expected);
            if (mismatch) problem = describeMismatch(file, mismatch);
          } catch (e) {
            problem = `${file}: ${(e as Error).message}`;
          }
          vectors.push(problem ? { file, ok: false, problem } : { file, ok: true });
          if (!opts.json) ctx.io.out(problem ? `FAIL ${problem}\n` : `ok   ${file}\n`);
        }
      }
      const passed = vectors.filter((v) => v.ok).length;
      const failed = vectors.length - passed;
      if (opts.json) ctx.json<ConformJson>({ passed, failed, vectors });
      else ctx.io.out(`${passed} passed, ${failed} failed\n`);
      if (failed > 0) throw new Exit(EXIT_CODES.mismatch);
    });
}

/** `evtchn run`. */
function runCommand(program: Command, ctx: Ctx): void {
  program
    .command('run')
    .description('run a platform configuration (YAML or JSON) on the virtual clock and summarise what happened')
    .argument('[config]', 'platform configuration file (not with --resume)')
    .option('--duration <time>', 'virtual time to run, e.g. 500us, 20ms, 1s (default: run.duration, else 10ms)')
    .option('--seed <n>', 'seed of the workload arrival times, 0..4294967295 (default: run.seed, else 1)')
    .option('--trace <file>', 'write every send, upcall and handler run as JSON lines')
    .option('--json', 'print the report as one JSON document (see docs/guides/command-line.md)')
    .option('--report <file>', 'also write a self-contained HTML report with plots (latency distributions, fairness, interrupt time, queues)')
    .option('--progress', 'show progress (virtual time, events/s, ETA) on stderr even when it is not a terminal')
    .option('--no-progress', 'no progress, even on a terminal')
    .option('--checkpoint <time>', 'stop at this virtual time and save the run (with --checkpoint-out); no report is printed')
    .option('--checkpoint-out <file>', 'where --checkpoint writes the snapshot (JSON)')
    .option('--resume <file>', 'continue a run saved by --checkpoint-out; prints what the uninterrupted run prints from there')
    .option('--allow-url-modules', 'allow data: and node: module specifiers')
    .option('--allow-outside-modules', "allow module paths outside the configuration's folder")
    .action(
      async (
        file: string | undefined,
        opts: {
          duration?: string;
          seed?: string;
          trace?: string;
          json?: boolean;
          report?: string;
          progress?: boolean;
          checkpoint?: string;
          checkpointOut?: string;
          resume?: string;
        } & PluginResolveOptions,
        command: Command,
      ) => {
        const stream = ctx.io.progress ?? process.stderr;
        const modules = { allowUrlModules: opts.allowUrlModules, allowOutsideModules: opts.allowOutsideModules };
        const progress = progressMode(opts.progress, stream, ctx.env);
        // The HTML report's time series are not part of a snapshot.
        if (opts.report !== undefined && (opts.checkpoint !== undefined || opts.resume !== undefined))
          command.error('error: --report cannot be combined with --checkpoint or --resume');
        let result: { report?: RunReport; sim: Simulation };
        let html: ReportFile | undefined;
        if (opts.resume !== undefined) {
          if (file !== undefined) command.error('error: --resume takes no configuration argument (it is in the snapshot)');
          for (const [flag, v] of [['--duration', opts.duration], ['--seed', opts.seed], ['--checkpoint', opts.checkpoint], ['--checkpoint-out', opts.checkpointOut]] as const)
            if (v !== undefined) command.error(`error: ${flag} cannot be given with --resume (the snapshot fixes the run)`);
          result = await resumeRunFile(opts.resume, { tracePath: opts.trace, progress, progressStream: stream, modules });
        } else {
          if (file === undefined) command.error("error: missing required argument 'config' (or --resume SNAPSHOT)");
          if ((opts.checkpoint === undefined) !== (opts.checkpointOut === undefined)) command.error('error: --checkpoint and --checkpoint-out go together');
          const seed = opts.seed === undefined ? undefined : parseIntArg('--seed', opts.seed, 0xffffffff);
          const cfg = loadConfigFile(file);
          const durationNs = parseDuration(opts.duration ?? cfg.run?.duration ?? DEFAULT_RUN_DURATION, opts.duration ? '--duration' : 'run.duration');
          const checkpointNs = opts.checkpoint === undefined ? undefined : parseDuration(opts.checkpoint, '--checkpoint');
          html = opts.report === undefined ? undefined : new ReportFile(opts.report);
          warnIfLong(ctx, estimateRun(cfg, checkpointNs ?? durationNs), checkpointNs ?? durationNs);
          const run = { duration: opts.duration, seed, tracePath: opts.trace, progress, progressStream: stream, modules };
          try {
            if (checkpointNs !== undefined) {
              const r = await runConfigFile(file, { ...run, checkpointNs, checkpointOut: opts.checkpointOut! });
              if (r.checkpoint) {
                ctx.io.err(
                  `evtchn: run saved at ${formatDuration(r.checkpoint.atNs)} of virtual time to ${r.checkpoint.file} (${r.checkpoint.bytes} bytes); continue with evtchn run --resume ${r.checkpoint.file}\n`,
                );
                return;
              }
              result = r;
            } else result = await runConfigFile(file, { ...run, ...(html && { samplePoints: RUN_REPORT_SAMPLE_POINTS }) });
          } catch (e) {
            html?.discard();
            throw e;
          }
        }
        const { report, sim } = result as { report: RunReport; sim: Simulation };
        if (html && file !== undefined) html.write(runReportHtml(report, sim.details(), { config: file }));
        if (opts.json) {
          ctx.json(
            runReportJson(report, (id) => {
              const g = sim.platform.domain(id)?.guest;
              return g instanceof LinuxGuest ? g.procInterruptsTable() : undefined;
            }),
          );
        } else ctx.io.out(formatRunReport(report));
        if (report.stopped) {
          ctx.io.err(`evtchn: the run stopped at ${formatDuration(report.stopped.atNs)} of virtual time: ${report.stopped.error}\n`);
          throw new Exit(EXIT_CODES.runStopped);
        }
      },
    );
}

/** `evtchn validate`. */
function validateCommand(program: Command, ctx: Ctx): void {
  program
    .command('validate')
    .description('check a platform configuration as run would, reporting every problem with its line, column and field path')
    .argument('<config>', 'platform configuration file')
    .option('--json', 'print one JSON document (see docs/guides/command-line.md)')
    .option('--load', 'import module plugins and check what they register (runs their code; without it nothing is imported)')
    .option('--allow-url-modules', 'allow data: and node: module specifiers')
    .option('--allow-outside-modules', "allow module paths outside the configuration's folder")
    .action(async (file: string, opts: { json?: boolean } & CheckOptions) => {
      try {
        const { cfg, durationNs, estimate, notes } = await checkConfigFile(file, undefined, opts);
        const warning = warnIfLong(ctx, estimate, durationNs);
        const domains = cfg.domains.length;
        const workloads = (cfg.workloads ?? []).length;
        if (opts.json)
          ctx.json<ValidateJson>({ file, valid: true, domains, workloads, problems: [], warnings: [...(warning ? [warning] : []), ...notes], estimate: { ...estimate, durationNs } });
        else ctx.io.out(`${notes.map((n) => `${n}\n`).join('')}${file}: valid (${domains} domain(s), ${workloads} workload(s))\n`);
      } catch (e) {
        if (!opts.json || !(e instanceof ConfigError)) throw e;
        ctx.json<ValidateJson>({ file, valid: false, problems: e.problems, warnings: [] });
        throw new Exit(EXIT_CODES.badInput);
      }
    });
}

/** `evtchn lsevtchn`. */
function lsevtchnCommand(program: Command, ctx: Ctx): void {
  program
    .command('lsevtchn')
    .description("list a domain's event channels the way Xen's lsevtchn does, after a hypercall scenario or a run")
    .argument('<file>', 'evtchn-hypercall/1 scenario or platform configuration')
    .argument('<domid>', 'domain id')
    .option('--duration <time>', 'for a configuration: virtual time to run first')
    .option('--json', 'print one JSON document (see docs/guides/command-line.md)')
    .action(async (file: string, domid: string, opts: { duration?: string; json?: boolean }) => {
      parseIntArg('domid', domid, 0x7fff);
      const hv = await hypervisorFromFile(file, opts.duration);
      const id = parseDomid(domid, hv);
      if (opts.json) ctx.json<LsevtchnJson>({ domain: id, ports: portStatuses(hv, id) });
      else ctx.io.out(lsevtchn(hv, id));
    });
}

/** `evtchn dump`. */
function dumpCommand(program: Command, ctx: Ctx): void {
  program
    .command('dump')
    .description("print the event-channel state the way Xen's 'e' debug key does, for one domain or all")
    .argument('<file>', 'evtchn-hypercall/1 scenario or platform configuration')
    .argument('[domid]', 'domain id (default: every domain)')
    .option('--duration <time>', 'for a configuration: virtual time to run first')
    .option('--json', 'print one JSON document (see docs/guides/command-line.md)')
    .action(async (file: string, domid: string | undefined, opts: { duration?: string; json?: boolean }) => {
      if (domid !== undefined) parseIntArg('domid', domid, 0x7fff);
      const hv = await hypervisorFromFile(file, opts.duration);
      const ids = domid === undefined ? hv.allDomains().map((d) => d.id) : [parseDomid(domid, hv)];
      if (opts.json) ctx.json<DumpJson>({ domains: ids.map((id) => ({ id, ports: portDump(hv, id) })) });
      else ctx.io.out(ids.map((id) => dumpEventChannels(hv, id)).join(''));
    });
}

/** `evtchn sweep` and `evtchn sweep merge`. */
function sweepCommand(program: Command, ctx: Ctx): void {
  const sweep = program
    .command('sweep')
    .description('run a study: configurations x parameters x seeds on worker threads; one row per run (CSV, JSON lines) and a comparison across seeds')
    .argument('<study>', 'study file (YAML or JSON)')
    // `sweep merge … --json/--out/--report` are merge's options, not sweep's (which would take them unseen).
    .enablePositionalOptions()
    .option('--out <dir>', 'folder for runs.jsonl, runs.csv and summary.json (default: STUDY.results next to the study)')
    .option('--shard <i/n>', 'run shard I of N only (every N-th run), writing shard-I-of-N.jsonl/.csv; join with `evtchn sweep merge`')
    .option('--jobs <n>', 'worker threads (default: the machine\'s parallelism; 1 runs without workers)')
    .option('--json', 'print the comparison as one JSON document')
    .option('--report <file>', 'also write the comparison as a self-contained HTML report with plots (medians and 95 % intervals across seeds)')
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .option('--no-progress', 'no progress, even on a terminal')
    .action(async (file: string, opts: { out?: string; shard?: string; jobs?: string; json?: boolean; report?: string; progress?: boolean }) => {
      const study = loadStudy(file);
      const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
      if (shard && opts.report !== undefined) throw new ConfigError('--report compares the whole grid: give it to `evtchn sweep merge` once the shards are done');
      const jobs = opts.jobs === undefined ? undefined : parseIntArg('--jobs', opts.jobs, 1024);
      if (jobs === 0) throw new ConfigError('--jobs: at least 1');
      const stream = ctx.io.progress ?? process.stderr;
      const html = opts.report === undefined ? undefined : new ReportFile(opts.report);
      let rows: SweepRow[];
      try {
        rows = await runSweep(study, { jobs, shard, progress: { mode: progressMode(opts.progress, stream, ctx.env), stream } });
      } catch (e) {
        html?.discard();
        throw e;
      }
      const dir = opts.out ?? file.replace(/\.(ya?ml|json)$/, '') + '.results';
      const files = writeSweep(dir, rows, shard);
      if (shard) {
        if (opts.json) ctx.json({ shard, runs: rows.length, files });
        else ctx.io.out(`shard ${shard.index}/${shard.count}: ${rows.length} of ${study.runs.length} runs -> ${files.jsonl}, ${files.csv}\n`);
        return;
      }
      printComparison(ctx, rows, study.spec.compare, files, opts.json);
      html?.write(sweepReportHtml(rows, { title: study.spec.name ?? file, compare: study.spec.compare ?? defaultCompare(summarise(rows)) }));
    });
  sweep
    .command('merge')
    .description('join the shards of a sweep (shard-I-of-N.jsonl in the folders, or the files given) into runs.jsonl, runs.csv and summary.json')
    .argument('<paths...>', 'folders with shard-I-of-N.jsonl files, or .jsonl files')
    .option('--out <dir>', 'folder for the merged files (default: the first folder given)')
    .option('--compare <metrics>', 'comma-separated metrics to compare (default: every p99 latency and the totals)')
    .option('--json', 'print the comparison as one JSON document')
    .option('--report <file>', 'also write the comparison as a self-contained HTML report with plots (medians and 95 % intervals across seeds)')
    .action((paths: string[], opts: { out?: string; compare?: string; json?: boolean; report?: string }) => {
      const html = opts.report === undefined ? undefined : new ReportFile(opts.report);
      let rows: SweepRow[];
      try {
        rows = readShards(paths);
      } catch (e) {
        html?.discard();
        throw e;
      }
      const dir = opts.out ?? (paths[0]!.endsWith('.jsonl') ? dirname(paths[0]!) : paths[0]!);
      const files = writeSweep(dir, rows);
      const compare = opts.compare?.split(',');
      printComparison(ctx, rows, compare, files, opts.json);
      html?.write(sweepReportHtml(rows, { title: paths.join(', '), compare: compare ?? defaultCompare(summarise(rows)) }));
    });
}

function printComparison(ctx: Ctx, rows: SweepRow[], compare: string[] | undefined, files: SweepFiles, json: boolean | undefined): void {
  const groups = summarise(rows);
  if (json) {
    ctx.json({ runs: rows.length, files, groups });
    return;
  }
  ctx.io.out(`${rows.length} runs -> ${files.jsonl}, ${files.csv}, ${files.summary}\n\n`);
  ctx.io.out(formatComparison(groups, compare ?? defaultCompare(groups)));
}

/** The commands, in the order `--help` lists them. A new command is one more registration. */
const COMMANDS: ReadonlyArray<(program: Command, ctx: Ctx) => void> = [
  runCommand,
  validateCommand,
  replayCommand,
  exploreCommand,
  conformCommand,
  lsevtchnCommand,
  dumpCommand,
  sweepCommand,
  (program, ctx) => pluginCommand(program, ctx.io),
];

/** Builds the command tree. */
function program(ctx: Ctx): Command {
  const { io } = ctx;
  const cmd = new Command('evtchn')
    .description('Evtchn Lab: an executable model of Xen event channels and the interrupt plumbing around them')
    .version(version(), '-V, --version', 'print the version')
    // Each command's options are its own: a subcommand's (sweep merge --json) never reach its parent.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      outputError: (text, write) => write(`evtchn: ${text.replace(/^error: /, '')}`),
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError("(run 'evtchn --help' for usage)");
  for (const register of COMMANDS) register(cmd, ctx);
  for (const sub of cmd.commands) sub.showHelpAfterError(`(run 'evtchn ${sub.name()} --help' for usage)`);
  return cmd;
}

/**
 * Runs the CLI with `argv` (without `node` and the script path).
 * @returns the exit code
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const ctx: Ctx = { io, env: io.env ?? process.env, json: (v) => io.out(`${JSON.stringify(v, null, 2)}\n`) };
  try {
    await program(ctx).parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.badInput;
    if (e instanceof ConfigError) {
      io.err(`evtchn: ${e.message}\n`);
      return EXIT_CODES.badInput;
    }
    if (e instanceof SnapshotError) {
      io.err(`evtchn: snapshot: ${e.message}\n`);
      return EXIT_CODES.badInput;
    }
    if (e instanceof ScenarioError || e instanceof XenError) {
      io.err(`evtchn: ${e.message}\n`);
      return EXIT_CODES.badInput;
    }
    io.err(`evtchn: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT_CODES.internal;
  }
}
