/*
 * The `evtchn` command line. Exit codes: 0 success, 1 a replay differed from its expected
 * output, 2 bad input (usage, unreadable or malformed files).
 */
import 'reflect-metadata';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { dirname, resolve } from 'node:path';
import { ConfigError, XenError, dumpEventChannels, lsevtchn, type Hypervisor } from '@evtchn/core';
import { hypervisorFromFile, loadConfigFile, runConfigFile } from './run/command.js';
import { resolvePlugins } from './run/plugins.js';
import { formatRunReport } from './run/format.js';
import { replayAndCompare, readScenario, runScenario, ScenarioError } from '@evtchn/conformance';

/** Output streams, replaceable for tests. */
export interface CliIo {
  /** Standard output. */
  out(text: string): void;
  /** Standard error. */
  err(text: string): void;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Thrown inside commands to end with an exit code. */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function describeMismatch(file: string, m: { step: number; op?: string; expected?: string; actual?: string }): string {
  const where = `step ${m.step}${m.op ? ` (${m.op})` : ''}`;
  if (m.expected === undefined) return `${file}: ${where}: unexpected extra output ${m.actual}\n`;
  if (m.actual === undefined) return `${file}: ${where}: missing output, expected ${m.expected}\n`;
  return `${file}: ${where}: expected ${m.expected}, got ${m.actual}\n`;
}

function parseDomid(text: string, hv: Hypervisor): number {
  const id = Number(text);
  if (!Number.isInteger(id) || !hv.domain(id)) {
    const known = hv.allDomains().map((d) => d.id).join(', ');
    throw new ConfigError(`domid: no domain ${JSON.stringify(text)}; domains: ${known}`);
  }
  return id;
}

/** Builds the command tree. */
function program(io: CliIo): Command {
  const cmd = new Command('evtchn')
    .description('Evtchn Lab: an executable model of Xen event channels and the interrupt plumbing around them')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  cmd
    .command('replay')
    .description('replay an evtchn-replay/1 or evtchn-hypercall/1 scenario and print one JSON line per step')
    .argument('<file>', 'scenario (.json)')
    .option('--expect <file>', 'compare with an expected .jsonl file; exit 1 naming the first differing step')
    .action((file: string, opts: { expect?: string }) => {
      if (opts.expect) {
        const { run, mismatch } = replayAndCompare(file, opts.expect);
        if (mismatch) {
          io.err(describeMismatch(file, mismatch));
          throw new Exit(1);
        }
        io.out(`${file}: ${run.lines.length} steps match ${opts.expect}\n`);
        return;
      }
      const run = runScenario(readScenario(file));
      io.out(run.lines.map((l) => `${l}\n`).join(''));
    });

  cmd
    .command('conform')
    .description('replay every NAME.json that has a NAME.expected.jsonl in the given directories and summarise')
    .argument('<dirs...>', 'directories of conformance vectors')
    .action((dirs: string[]) => {
      let passed = 0;
      let failed = 0;
      for (const dir of dirs) {
        let names: string[];
        try {
          names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
        } catch (e) {
          throw new ScenarioError(dir, `cannot list: ${(e as Error).message}`);
        }
        for (const name of names) {
          const file = join(dir, name);
          const expected = join(dir, `${basename(name, '.json')}.expected.jsonl`);
          try {
            const { mismatch } = replayAndCompare(file, expected);
            if (mismatch) {
              failed++;
              io.out(`FAIL ${describeMismatch(file, mismatch)}`);
            } else {
              passed++;
              io.out(`ok   ${file}\n`);
            }
          } catch (e) {
            failed++;
            io.out(`FAIL ${file}: ${(e as Error).message}\n`);
          }
        }
      }
      io.out(`${passed} passed, ${failed} failed\n`);
      if (failed > 0) throw new Exit(1);
    });

  cmd
    .command('run')
    .description('run a platform configuration (YAML or JSON) on the virtual clock and summarise what happened')
    .argument('<config>', 'platform configuration file')
    .option('--duration <time>', 'virtual time to run, e.g. 500us, 20ms, 1s (default: run.duration, else 10ms)')
    .option('--seed <n>', 'seed of the workload arrival times (default: run.seed, else 1)')
    .option('--trace <file>', 'write every send, upcall and handler run as JSON lines')
    .option('--json', 'print the report as JSON instead of text')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .action(async (file: string, opts: { duration?: string; seed?: string; trace?: string; json?: boolean; progress: boolean }) => {
      let seed: number | undefined;
      if (opts.seed !== undefined) {
        seed = Number(opts.seed);
        if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new ConfigError(`--seed: expected an integer 0..4294967295, got ${JSON.stringify(opts.seed)}`);
      }
      const { report } = await runConfigFile(file, {
        duration: opts.duration,
        seed,
        tracePath: opts.trace,
        progress: opts.progress && process.stderr.isTTY === true,
      });
      io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatRunReport(report));
    });

  cmd
    .command('validate')
    .description('check a platform configuration file and report every problem with its field path')
    .argument('<config>', 'platform configuration file')
    .action(async (file: string) => {
      const cfg = loadConfigFile(file);
      await resolvePlugins(cfg, dirname(resolve(file)));
      io.out(`${file}: valid (${cfg.domains.length} domain(s), ${(cfg.workloads ?? []).length} workload(s))\n`);
    });

  cmd
    .command('lsevtchn')
    .description("list a domain's event channels the way Xen's lsevtchn does, after a hypercall scenario or a run")
    .argument('<file>', 'evtchn-hypercall/1 scenario or platform configuration')
    .argument('<domid>', 'domain id')
    .option('--duration <time>', 'for a configuration: virtual time to run first')
    .action(async (file: string, domid: string, opts: { duration?: string }) => {
      const hv = await hypervisorFromFile(file, opts.duration);
      io.out(lsevtchn(hv, parseDomid(domid, hv)));
    });

  cmd
    .command('dump')
    .description("print the event-channel state the way Xen's 'e' debug key does, for one domain or all")
    .argument('<file>', 'evtchn-hypercall/1 scenario or platform configuration')
    .argument('[domid]', 'domain id (default: every domain)')
    .option('--duration <time>', 'for a configuration: virtual time to run first')
    .action(async (file: string, domid: string | undefined, opts: { duration?: string }) => {
      const hv = await hypervisorFromFile(file, opts.duration);
      const ids = domid === undefined ? hv.allDomains().map((d) => d.id) : [parseDomid(domid, hv)];
      io.out(ids.map((id) => dumpEventChannels(hv, id)).join(''));
    });

  return cmd;
}

/**
 * Runs the CLI with `argv` (without `node` and the script path).
 * @returns the exit code
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    await program(io).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ScenarioError || e instanceof ConfigError || e instanceof XenError) {
      io.err(`evtchn: ${e.message}\n`);
      return 2;
    }
    io.err(`evtchn: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 70;
  }
}
