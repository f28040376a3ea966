/*
 * What a platform snapshot is made of. Every stateful part exports plain JSON (no closures, no
 * typed arrays, no class instances), so a snapshot can be written to a file, diffed and loaded
 * by another process; timers are saved by their owners as {@link TimerRecord}s and re-armed on
 * restore.
 */

/** A JSON value: what a part's `getState()` returns. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A part whose state a snapshot carries. `setState` accepts only what `getState` of the same
 * part produced (possibly in another process) and throws on anything else, naming the bad field.
 */
export interface Snapshottable<S extends JsonValue = JsonValue> {
  /** The part's state as JSON. */
  getState(): S;
  /** Restores a state produced by {@link Snapshottable.getState}. */
  setState(state: S): void;
}
