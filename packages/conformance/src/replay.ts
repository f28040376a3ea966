/*
 * Replay dispatch: reads a scenario, runs it in the format it names, and compares the output
 * with an expected file.
 */
import { readFileSync } from 'node:fs';
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { FifoAbi } from '@evtchn/abi-fifo';
import type { EventAbi } from '@evtchn/core';
import { firstMismatch, jsonlLines, type ReplayMismatch } from './compare.js';
import { runDeliveryReplay } from './delivery.js';
import { runHypercallReplay } from './hypercall.js';
import { ScenarioError, expectObject } from './scenario.js';

/** The ABIs the replays offer, by name. */
export function builtinAbis(): Map<string, EventAbi> {
  return new Map<string, EventAbi>([
    ['2level', new TwoLevelAbi()],
    ['fifo', new FifoAbi()],
  ]);
}

/** Result of running one scenario. */
export interface ReplayRun {
  /** The scenario's format. */
  format: string;
  /** Output lines, one per step. */
  lines: string[];
  /** The scenario's steps. */
  steps: unknown[];
}

/**
 * Runs a parsed scenario in the format it names (`evtchn-hypercall/1` or `evtchn-replay/1`).
 * @throws ScenarioError for a malformed scenario or an unknown format
 */
export function runScenario(scenario: unknown): ReplayRun {
  const sc = expectObject(scenario, '$');
  const steps = Array.isArray(sc.steps) ? sc.steps : [];
  switch (sc.format) {
    case 'evtchn-hypercall/1':
      return { format: sc.format, lines: runHypercallReplay(sc, builtinAbis()), steps };
    case 'evtchn-replay/1':
      return { format: sc.format, lines: runDeliveryReplay(sc), steps };
    default:
      throw new ScenarioError('$.format', `unknown format ${JSON.stringify(sc.format)}; expected "evtchn-hypercall/1" or "evtchn-replay/1"`);
  }
}

/** Reads and parses a scenario file. @throws ScenarioError for unreadable or invalid JSON */
export function readScenario(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioError(file, `cannot read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ScenarioError(file, `not valid JSON: ${(e as Error).message}`);
  }
}

/** Runs a scenario file and compares its output with an expected `.jsonl` file. */
export function replayAndCompare(file: string, expectedFile: string): { run: ReplayRun; mismatch?: ReplayMismatch } {
  const run = runScenario(readScenario(file));
  let expectedText: string;
  try {
    expectedText = readFileSync(expectedFile, 'utf8');
  } catch (e) {
    throw new ScenarioError(expectedFile, `cannot read: ${(e as Error).message}`);
  }
  return { run, mismatch: firstMismatch(run.lines, jsonlLines(expectedText), run.steps) };
}

export { firstMismatch, jsonlLines, type ReplayMismatch } from './compare.js';
export { ScenarioError } from './scenario.js';
export { replayHypercalls, runHypercallReplay } from './hypercall.js';
export { runDeliveryReplay, replayDelivery, type DeliveryReplayOptions, type DeliveryReplayResult, type DeliveryStepView } from './delivery.js';
