/*
 * The JSON documents the commands print with `--json` (one per run of a command, on stdout).
 * `run` prints a RunReportJson (run/format.ts), `lsevtchn` and `dump` the shapes of views.ts.
 */
import type { ConfigProblem } from '@evtchn/core';
import type { RunEstimate } from './run/estimate.js';
import type { PortDumpJson, PortStatusJson } from './views.js';

/** `evtchn validate --json`. Printed for a valid file (exit 0) and for an invalid one (exit 2). */
export interface ValidateJson {
  /** The file as given. */
  file: string;
  /** Whether the file passed every check. */
  valid: boolean;
  /** Number of domains (valid files). */
  domains?: number;
  /** Number of workloads (valid files). */
  workloads?: number;
  /** Every problem, with its field path, line and column when known (empty when valid). */
  problems: readonly ConfigProblem[];
  /** Warnings, e.g. a run that will take very long. */
  warnings: string[];
  /** Forecast of a run (valid files): notifications, wall seconds and the virtual duration in ns. */
  estimate?: RunEstimate & { durationNs: number };
}

/** `evtchn replay FILE --json`: the output lines of each step, parsed. */
export interface ReplayJson {
  /** The scenario file. */
  file: string;
  /** One object per output line of the replay. */
  steps: unknown[];
}

/** `evtchn replay FILE --expect EXPECTED --json`: whether the replay matches. */
export interface ReplayCompareJson {
  /** The scenario file. */
  file: string;
  /** The expected `.jsonl` file. */
  expected: string;
  /** True when every line matches (exit 0); false otherwise (exit 1). */
  match: boolean;
  /** Number of output lines of the replay. */
  steps: number;
  /** The first difference, when there is one. */
  mismatch?: { step: number; op?: string; expected?: string; actual?: string };
}

/** `evtchn explore FILE --json`: the page written. */
export interface ExploreJson {
  /** The scenario file. */
  file: string;
  /** The page written (absent with `--serve` alone). */
  out?: string;
  /** With `--serve`: the page's address on 127.0.0.1. */
  url?: string;
  /** The ABI the replayed guest ran on. */
  abi: string;
  /** Number of steps in the page. */
  steps: number;
  /** The expected `.jsonl` file, with `--expect`. */
  expected?: string;
  /** With `--expect`: the first step whose line differs (absent when all match). */
  firstDifference?: number;
}

/** `evtchn conform DIR… --json`. Exit 1 when `failed` is not 0. */
export interface ConformJson {
  /** Vectors whose replay matched. */
  passed: number;
  /** Vectors that differed or could not be replayed. */
  failed: number;
  /** Every vector, in order. */
  vectors: { file: string; ok: boolean; problem?: string }[];
}

/** `evtchn lsevtchn FILE DOMID --json`. */
export interface LsevtchnJson {
  /** The domain listed. */
  domain: number;
  /** Its open ports, as EVTCHNOP_status reports them. */
  ports: PortStatusJson[];
}

/** `evtchn dump FILE [DOMID] --json`. */
export interface DumpJson {
  /** The domains dumped, with their open ports and the ports' pending and mask bits. */
  domains: { id: number; ports: PortDumpJson[] }[];
}
