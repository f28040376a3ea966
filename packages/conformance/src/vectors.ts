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
  // Inside the repository (its pnpm-workspace.yaml two folders up from the package), the one
  // copy in git; it wins over a packed copy the prepack step may be writing at the same moment.
  const repoRoot = new URL('../../../', import.meta.url);
  const inRepo = new URL(`conformance/${kind}/`, repoRoot);
  if (existsSync(fileURLToPath(new URL('pnpm-workspace.yaml', repoRoot))) && existsSync(fileURLToPath(inRepo))) return fileURLToPath(inRepo);
  const packaged = new URL(`../vectors/${kind}/`, import.meta.url);
  if (existsSync(fileURLToPath(packaged))) return fileURLToPath(packaged);
  throw new Error(`@evtchn/conformance: no ${kind} vectors found (looked in ${fileURLToPath(packaged)} and ${fileURLToPath(inRepo)})`);
}
