/*
 * The worker-thread entry of a sweep (loaded by tinypool): runs one run and returns its row,
 * or its error as data (an error's class does not survive the thread boundary).
 */
import 'reflect-metadata';
import { ConfigError } from '@evtchn/core';
import { runOne, type SweepRow } from './run-one.js';
import type { StudyRun } from './study.js';

/** What a worker sends back. */
export type WorkerResult = { row: SweepRow } | { error: string; configError: boolean };

/** Runs one run of a study in a worker thread. */
export default async function sweepWorker(task: { run: StudyRun; runs: number }): Promise<WorkerResult> {
  try {
    return { row: await runOne(task.run, task.runs) };
  } catch (e) {
    return { error: e instanceof ConfigError ? e.message : ((e as Error).stack ?? String(e)), configError: e instanceof ConfigError };
  }
}
