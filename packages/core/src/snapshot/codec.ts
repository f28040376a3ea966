/*
 * Reading and writing the parts of a snapshot. Every part's `setState` reads its JSON through
 * these helpers with the JSON path of the value it reads, so a broken or hand-edited snapshot
 * fails naming the exact field (`domains[1].ports.state[7]: expected an integer 0..255, got 9.5`)
 * instead of restoring something half-right.
 *
 * Typed arrays are written as plain JSON arrays of numbers with their trailing zeros dropped
 * (most of a port table or a guest page is zero); reading fills the rest with zeros.
 */
import type { JsonValue } from '../contracts/snapshot.js';

/** A snapshot field that is missing, of the wrong kind or out of range; `path` is its JSON path. */
export class SnapshotError extends Error {
  /**
   * @param path - JSON path of the bad field, e.g. `domains[1].ports.state[7]`
   * @param problem - what is wrong with it
   */
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'SnapshotError';
  }
}

/** A JSON object as `setState` reads it. */
export type JsonObject = { readonly [key: string]: JsonValue };

/** A typed array a part keeps its state in. */
export type NumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float64Array
  | Float32Array;

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return JSON.stringify(v);
}

/** Joins a path and a key (`a.b`, `a[3]`). */
export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Reads `v` as an object. */
export function readObject(v: JsonValue | undefined, path: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SnapshotError(path, `expected an object, got ${show(v)}`);
  return v as JsonObject;
}

/** Reads `v` as an array, of exactly `length` elements when given. */
export function readArray(v: JsonValue | undefined, path: string, length?: number): readonly JsonValue[] {
  if (!Array.isArray(v)) throw new SnapshotError(path, `expected an array, got ${show(v)}`);
  if (length !== undefined && v.length !== length) throw new SnapshotError(path, `expected ${length} elements, got ${v.length}`);
  return v as readonly JsonValue[];
}

/** Reads `v` as an integer in `min..max`. */
export function readInt(v: JsonValue | undefined, path: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new SnapshotError(path, `expected an integer ${min}..${max}, got ${show(v)}`);
  return v;
}

/** Reads `v` as a finite number (times may be fractional). */
export function readNumber(v: JsonValue | undefined, path: string, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min)
    throw new SnapshotError(path, `expected a finite number${min > -Infinity ? ` >= ${min}` : ''}, got ${show(v)}`);
  return v;
}

/** Reads `v` as a boolean. */
export function readBool(v: JsonValue | undefined, path: string): boolean {
  if (typeof v !== 'boolean') throw new SnapshotError(path, `expected true or false, got ${show(v)}`);
  return v;
}

/** Reads `v` as a string. */
export function readString(v: JsonValue | undefined, path: string): string {
  if (typeof v !== 'string') throw new SnapshotError(path, `expected a string, got ${show(v)}`);
  return v;
}

/** Reads `v` as one of `values`. */
export function readOneOf<T extends string | number>(v: JsonValue | undefined, path: string, values: readonly T[]): T {
  if (!values.includes(v as T)) throw new SnapshotError(path, `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${show(v)}`);
  return v as T;
}

/** Requires `v` to equal `want` (a structural field the restoring platform already has). */
export function expectSame(v: JsonValue | undefined, path: string, want: string | number | boolean): void {
  if (v !== want)
    throw new SnapshotError(path, `expected ${JSON.stringify(want)} (as in the platform being restored into), got ${show(v)}`);
}

/** A timer's saved (at, seq), or `null` when none is armed. */
export function readTimer(v: JsonValue | undefined, path: string): { at: number; seq: number } | null {
  if (v === null) return null;
  const o = readObject(v, path);
  return { at: readNumber(o.at, at(path, 'at'), 0), seq: readInt(o.seq, at(path, 'seq'), 1) };
}

/** Writes a typed array as a JSON array without its trailing zeros. */
export function writeArray(a: ArrayLike<number>): number[] {
  let n = a.length;
  while (n > 0 && a[n - 1] === 0) n--;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = a[i]!;
  return out;
}

function rangeOf(a: NumericArray): [number, number, boolean] {
  if (a instanceof Uint8Array) return [0, 0xff, true];
  if (a instanceof Int8Array) return [-0x80, 0x7f, true];
  if (a instanceof Uint16Array) return [0, 0xffff, true];
  if (a instanceof Int16Array) return [-0x8000, 0x7fff, true];
  if (a instanceof Uint32Array) return [0, 0xffffffff, true];
  if (a instanceof Int32Array) return [-0x80000000, 0x7fffffff, true];
  return [-Infinity, Infinity, false];
}

/**
 * Reads a {@link writeArray} array into `target` (the rest is zeroed), checking every element
 * against the element type. Checks everything before writing anything.
 */
export function readArrayInto(v: JsonValue | undefined, path: string, target: NumericArray): void {
  const arr = readArray(v, path);
  if (arr.length > target.length) throw new SnapshotError(path, `expected at most ${target.length} elements, got ${arr.length}`);
  const [min, max, int] = rangeOf(target);
  for (let i = 0; i < arr.length; i++) {
    const x = arr[i];
    if (int) readInt(x, at(path, i), min, max);
    else readNumber(x, at(path, i));
  }
  target.fill(0);
  for (let i = 0; i < arr.length; i++) target[i] = arr[i] as number;
}

/** Runs `fn`, turning a non-snapshot error into a {@link SnapshotError} at `path`. */
export function underPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(path, e instanceof Error ? e.message : String(e));
  }
}
