/*
 * The version of this @evtchn/core, read from its package.json (the one source, bumped by
 * changesets), so messages about incompatible plugins can say which core refused them.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
    return pkg.name === '@evtchn/core' && typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The version of this `@evtchn/core` package (`'unknown'` when its package.json cannot be read, e.g. in a bundle). */
export const CORE_VERSION: string = readVersion();
