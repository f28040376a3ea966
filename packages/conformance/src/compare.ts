/* Comparison of replay output with an expected `.expected.jsonl` file, as JSON objects. */

/** The first difference between actual and expected replay output. */
export interface ReplayMismatch {
  /** 0-based step index. */
  step: number;
  /** The step's op, when known. */
  op?: string;
  /** Expected line (or `undefined` when the expected output is shorter). */
  expected?: string;
  /** Actual line (or `undefined` when the actual output is shorter). */
  actual?: string;
}

function canonical(line: string): string {
  const v = JSON.parse(line) as unknown;
  const sort = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sort)
      : x && typeof x === 'object'
        ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, w]) => [k, sort(w)]))
        : x;
  return JSON.stringify(sort(v));
}

/**
 * Compares output lines with expected lines as JSON objects (key order does not matter).
 * @param steps - the scenario's steps, to name the op of a differing step
 * @returns the first mismatch, or undefined when they agree
 */
export function firstMismatch(actual: readonly string[], expected: readonly string[], steps: readonly unknown[] = []): ReplayMismatch | undefined {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    let same = a !== undefined && e !== undefined;
    if (same) {
      try {
        same = canonical(a!) === canonical(e!);
      } catch {
        same = false;
      }
    }
    if (!same) {
      const op = (steps[i] as { op?: unknown } | undefined)?.op;
      return { step: i, op: typeof op === 'string' ? op : undefined, expected: e, actual: a };
    }
  }
  return undefined;
}

/** Splits a `.jsonl` text into its non-empty lines. */
export function jsonlLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
}
