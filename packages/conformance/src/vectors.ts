/*
 * Where the reference vectors are. The package ships them in its `vectors/` folder (copied from
 * the repository's `conformance/` when it is packed); inside the repository the one copy in git,
 * `conformance/` at the root, is used directly.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The kinds of reference vectors. */
export type VectorKind = 'delivery' | 'hypercall';

/**
 * The folder holding the reference vectors of one kind: `delivery` (`evtchn-replay/1`) or
 * `hypercall` (`evtchn-hypercall/1`).
 * @param kind - which vectors
 * @throws Error when neither the packaged copy nor the repository's folder exists
 */
export function vectorsDir(kind: VectorKind): string {
  const candidates = [new URL(`../vectors/${kind}/`, import.meta.url), new URL(`../../../conformance/${kind}/`, import.meta.url)];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(dir)) return dir;
  }
  throw new Error(`@evtchn/conformance: no ${kind} vectors found (looked in ${candidates.map((u) => fileURLToPath(u)).join(' and ')})`);
}
