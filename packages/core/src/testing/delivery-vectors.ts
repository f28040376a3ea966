/*
 * The delivery vectors (`evtchn-replay/1`, SPEC §6) as conformance checks. Replaying a vector
 * needs a guest layer (the Linux IRQ layer decides masking, acks and affinity), which core must
 * not depend on, so the caller brings the runner (`@evtchn/conformance`'s `replayDelivery`).
 * The runner is handed the plugin under test and reports the ABI the guest actually ran on, so a
 * runner that quietly replays a built-in ABI instead cannot make a plugin pass.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pluginServicesContainer } from '../platform/plugin-checks.js';
import type { EventAbi } from '../contracts/abi.js';
import type { Plugin } from '../platform/plugin.js';
import { EventAbi as EventAbiToken } from '../tokens.js';
import { ConformanceViolation, type ConformanceResult } from './conformance.js';

/** One delivery vector: a scenario and the lines the reference code printed for it. */
export interface DeliveryVector {
  /** Name (the file name without `.json`). */
  readonly name: string;
  /** The parsed `evtchn-replay/1` scenario (its `abi` field names the ABI it is for). */
  readonly scenario: { readonly abi?: unknown; readonly steps?: readonly unknown[] } & Record<string, unknown>;
  /** The expected output lines (`NAME.expected.jsonl`). */
  readonly expected: readonly string[];
}

/** What a {@link DeliveryReplayRunner} is given besides the scenario. */
export interface DeliveryReplayOptions {
  /** The ABI plugins the replayed platform offers (the suite passes only the plugin under test). */
  readonly abis: readonly Plugin<'abi'>[];
}

/** What one delivery replay produced. */
export interface DeliveryReplayResult {
  /** One JSON line per step. */
  readonly lines: readonly string[];
  /** The ABI descriptor the replayed guest ran on (taken from the replayed platform). */
  readonly abi: EventAbi;
}

/**
 * Runs an `evtchn-replay/1` scenario on a platform offering `options.abis` (and nothing else)
 * and returns its output and the ABI the guest ran on, e.g. `replayDelivery` of `@evtchn/conformance`.
 */
export type DeliveryReplayRunner = (scenario: unknown, options: DeliveryReplayOptions) => DeliveryReplayResult;

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
 * Wraps what an ABI factory returned as a plugin, so a runner can offer it on a platform: a
 * plugin is used as it is; a bare descriptor is registered by value.
 * @param made - an ABI plugin or descriptor
 */
export function asAbiPlugin(made: Plugin | EventAbi): Plugin<'abi'> {
  if (typeof (made as Partial<Plugin>).register === 'function' && (made as Partial<Plugin>).kind !== undefined) {
    const plugin = made as Plugin;
    if (plugin.kind !== 'abi') throw new Error(`plugin '${plugin.name}' is ${plugin.kind === 'arch' ? 'an' : 'a'} ${plugin.kind} plugin, not an abi plugin`);
    return plugin as Plugin<'abi'>;
  }
  const abi = made as EventAbi;
  return {
    name: `abi-${abi.name}`,
    kind: 'abi',
    register(container) {
      container.register(EventAbiToken, { useValue: abi });
    },
  };
}

/**
 * Replays one vector on the ABI `subject` and compares the output with the expected lines as
 * JSON objects.
 *
 * The runner is given only `subject` and must report that the guest ran on it: a replay whose
 * guest ran on an ABI of another name or class (a built-in one replayed in place of the plugin) is
 * refused as a violation, so it can never pass.
 * @param vector - the vector
 * @param replay - the replay runner
 * @param subject - the ABI under test (a fresh plugin or descriptor)
 * @throws ConformanceViolation (rule `delivery.<name>`, SPEC §6) naming the first differing step,
 *   or saying the replay did not run on `subject`
 */
export function checkDeliveryVector(vector: DeliveryVector, replay: DeliveryReplayRunner, subject: Plugin | EventAbi): void {
  const id = `delivery.${vector.name}`;
  const plugin = asAbiPlugin(subject);
  const expectedAbi = resolveAbiOf(plugin, id);
  const result = replay(vector.scenario, { abis: [plugin] });
  const ran = result?.abi;
  if (ran === undefined || ran === null || ran.name !== expectedAbi.name || ran.constructor !== expectedAbi.constructor)
    throw new ConformanceViolation(
      id,
      '§6',
      `the replay ran on ABI '${String(ran?.name)}' (${ran?.constructor?.name ?? 'unknown class'}), not on the plugin's ABI '${expectedAbi.name}' (${expectedAbi.constructor.name}): a runner must replay the plugin it is given, never a built-in ABI in its place`,
    );
  const actual = result.lines;
  const n = Math.max(actual.length, vector.expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = vector.expected[i];
    if (a !== undefined && e !== undefined && canonical(a) === canonical(e)) continue;
    const step = JSON.stringify(vector.scenario.steps?.[i] ?? null);
    throw new ConformanceViolation(id, '§6', `step ${i} ${step}: expected ${e ?? '(no line)'}, got ${a ?? '(no line)'}`);
  }
}

/** The EventAbi a plugin registers, in a throw-away container (to learn its name and class). */
function resolveAbiOf(plugin: Plugin<'abi'>, id: string): EventAbi {
  const c = pluginServicesContainer().container;
  plugin.register(c);
  if (!c.isRegistered(EventAbiToken)) throw new ConformanceViolation(id, '§6', `plugin '${plugin.name}' registered no EventAbi`);
  const all = c.resolveAll<EventAbi>(EventAbiToken);
  return all[all.length - 1]!;
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

/** Options of {@link checkDeliveryConformance}. */
export interface DeliveryConformanceOptions {
  /** The replay runner (`replayDelivery` of `@evtchn/conformance`). */
  readonly replay: DeliveryReplayRunner;
  /** A directory of vectors or vectors already loaded. */
  readonly vectors: string | readonly DeliveryVector[];
  /** Whose vectors to replay, when the ABI's own name is not one the vectors use. */
  readonly vectorAbiName?: string;
}

/**
 * Replays every matching delivery vector on a fresh instance of the ABI and reports one result
 * per vector (rule `delivery.<vector>`) instead of throwing; the programmatic twin of the
 * delivery part of `describeEventAbiConformance`.
 * @param factory - creates the ABI plugin or descriptor (called once per vector)
 * @param options - runner, vectors and the vectors' ABI name
 * @returns one result per vector; empty when no vector is written for the ABI
 */
export function checkDeliveryConformance(factory: () => Plugin | EventAbi, options: DeliveryConformanceOptions): ConformanceResult[] {
  const first = factory();
  const name = resolveAbiOf(asAbiPlugin(first), 'delivery').name;
  return deliveryVectorsFor(options.vectors, options.vectorAbiName ?? name).map((v) => {
    try {
      checkDeliveryVector(v, options.replay, factory());
      return { rule: `delivery.${v.name}`, ok: true };
    } catch (e) {
      return { rule: `delivery.${v.name}`, ok: false, message: e instanceof Error ? e.message : String(e) };
    }
  });
}
