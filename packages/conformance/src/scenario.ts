/* Small validators for replay scenarios: errors name the JSON path of the bad field. */

/** A malformed scenario file, naming the JSON path of the bad field. */
export class ScenarioError extends Error {
  /**
   * @param path - JSON path of the bad field, e.g. `$.steps[3].op`
   * @param message - what is wrong
   */
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ScenarioError';
  }
}

/** Returns `v` as an object or throws {@link ScenarioError}. */
export function expectObject(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ScenarioError(path, 'expected an object');
  return v as Record<string, unknown>;
}

/** Returns `v` as an array or throws {@link ScenarioError}. */
export function expectArray(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ScenarioError(path, 'expected an array');
  return v;
}

/** Returns `v` as an integer, `undefined` when absent, or throws {@link ScenarioError}. */
export function optionalInt(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ScenarioError(path, `expected an integer, got ${JSON.stringify(v)}`);
  return v;
}
