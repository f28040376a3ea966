/*
 * The delivery vectors (`evtchn-replay/1`, SPEC §6) as conformance checks. Replaying a vector
 * needs a guest layer (the Linux IRQ layer decides masking, acks and affinity), which core must
 * not depend on, so the caller brings the runner: `replay(scenario) => lines`, e.g. the CLI's
 * delivery replay built on the real guest layer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConformanceViolation } from './conformance.js';

/** One delivery vector: a scenario and the lines the reference code printed for it. */
export interface DeliveryVector {
  /** Name (the file name without `.json`). */
  readonly name: string;
  /** The parsed `evtchn-replay/1` scenario (its `abi` field names the ABI it is for). */
  readonly scenario: { readonly abi?: unknown; readonly steps?: readonly unknown[] } & Record<string, unknown>;
  /** The expected output lines (`NAME.expected.jsonl`). */
  readonly expected: readonly string[];
}

/** Runs an `evtchn-replay/1` scenario and returns one JSON line per step. */
export type DeliveryReplayRunner = (scenario: unknown) => readonly string[];

/**
 * Reads every `NAME.json` with a `NAME.expected.jsonl` next to it from a directory, such as
 * the repository's `conformance/delivery`.
 * @param dir - the directory
 * @returns the vectors, sorted by name
 */
export function loadDeliveryVectors(dir: string): DeliveryVector[] {
  const files = new Set(readdirSync(dir));
  const out: DeliveryVector[] = [];
  for (const f of [...files].sort()) {
    if (!f.endsWith('.json')) continue;
    const name = f.slice(0, -'.json'.length);
    const expectedFile = `${name}.expected.jsonl`;
    if (!files.has(expectedFile)) continue;
    const scenario = JSON.parse(readFileSync(join(dir, f), 'utf8')) as DeliveryVector['scenario'];
    const expected = readFileSync(join(dir, expectedFile), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
    out.push({ name, scenario, expected });
  }
  return out;
}

function canonical(line: string): string {
  const sort = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sort)
      : x && typeof x === 'object'
        ? Object.fromEntries(
            Object.entries(x as Record<string, unknown>)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, v]) => [k, sort(v)]),
          )
        : x;
  try {
    return JSON.stringify(sort(JSON.parse(line)));
  } catch {
    return `unparsable: ${line}`;
  }
}

/**
 * Replays one vector and compares the output with the expected lines as JSON objects.
 * @param vector - the vector
 * @param replay - the replay runner
 * @throws ConformanceViolation (rule `delivery.<name>`, SPEC §6) naming the first differing step
 */
export function checkDeliveryVector(vector: DeliveryVector, replay: DeliveryReplayRunner): void {
  const id = `delivery.${vector.name}`;
  const actual = replay(vector.scenario);
  const n = Math.max(actual.length, vector.expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = vector.expected[i];
    if (a !== undefined && e !== undefined && canonical(a) === canonical(e)) continue;
    const step = JSON.stringify(vector.scenario.steps?.[i] ?? null);
    throw new ConformanceViolation(id, '§6', `step ${i} ${step}: expected ${e ?? '(no line)'}, got ${a ?? '(no line)'}`);
  }
}

/**
 * The vectors of `source` written for the ABI named `abiName`.
 * @param source - a directory (see {@link loadDeliveryVectors}) or vectors already loaded
 * @param abiName - the ABI's name as the vectors spell it (`'2level'`, `'fifo'`, …)
 */
export function deliveryVectorsFor(source: string | readonly DeliveryVector[], abiName: string): DeliveryVector[] {
  const all = typeof source === 'string' ? loadDeliveryVectors(source) : source;
  return all.filter((v) => v.scenario.abi === abiName);
}
