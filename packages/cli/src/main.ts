/*
 * The `evtchn` command line. Exit codes: 0 success, 1 a replay differed from its expected
 * output, 2 bad input (usage, unreadable or malformed files).
 */
import 'reflect-metadata';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, XenError } from '@evtchn/core';
import { runDemo } from './demo.js';
import { replayAndCompare, readScenario, runScenario, ScenarioError } from './replay/index.js';

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
    .command('demo')
    .description('run the default demo and print what happens')
    .action(() => {
      io.out(runDemo());
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
