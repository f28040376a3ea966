/*
 * Platform snapshots: every stateful part's `getState()` composed into one versioned JSON
 * document, and the restore that builds a fresh platform, re-creates what closures cannot be
 * saved (the caller's bindings, through `prepare`), discards the fresh platform's timers and
 * sets every part's state, each part re-arming its own saved timers. Only a platform that
 * restored completely is returned; a failure leaves nothing half-built behind.
 */
import type { Architecture } from '../contracts/arch.js';
import type { SecurityPolicy } from '../contracts/policy.js';
import type { JsonValue } from '../contracts/snapshot.js';
import { at, readInt, readObject, readString, SnapshotError } from '../snapshot/codec.js';
import { VirtualClock } from '../sim/clock.js';
import * as Tokens from '../tokens.js';
import { createPlatform, type Platform, type PlatformConfig } from './platform.js';

/** The `format` field of a platform snapshot. */
export const PLATFORM_SNAPSHOT_FORMAT = 'evtchn-lab/platform';
/** The snapshot layout version this build writes and reads. */
export const PLATFORM_SNAPSHOT_VERSION = 1;

/** A platform snapshot (see the "Snapshots and migration" guide for every part's fields). */
export interface PlatformSnapshot {
  /** Always {@link PLATFORM_SNAPSHOT_FORMAT}. */
  readonly format: string;
  /** {@link PLATFORM_SNAPSHOT_VERSION} of the build that wrote it. */
  readonly version: number;
  /** The virtual clock: time and arming sequence. */
  readonly clock: JsonValue;
  /** The hypervisor core: domains, ports, shared-info pages, guest memory, ABI halves. */
  readonly hypervisor: JsonValue;
  /** The architecture plugin's state. */
  readonly arch: JsonValue;
  /** The security-policy plugin's state. */
  readonly policy: JsonValue;
  /** The vCPU scheduler, or `null` without one. */
  readonly scheduler: JsonValue;
  /** The vCPU runner. */
  readonly runner: JsonValue;
  /** Each domain's guest layer (creation order), `null` for a bare domain. */
  readonly guests: JsonValue;
}

function hookOf(owner: string, part: object): { getState(): JsonValue; setState(s: JsonValue): void } {
  const p = part as Partial<{ getState(): JsonValue; setState(s: JsonValue): void }>;
  if (typeof p.getState !== 'function' || typeof p.setState !== 'function')
    throw new Error(`${owner} has no getState()/setState(): a platform using it cannot be snapshotted (see the "Snapshots and migration" guide)`);
  return p as { getState(): JsonValue; setState(s: JsonValue): void };
}

/** How messages name a platform's plugins: the plugin's name and what it provides. */
function owners(p: Platform): { arch: string; policy: string; guest: (id: number, name: string) => string } {
  const cfg = p.container.isRegistered(Tokens.PlatformOptions) ? p.container.resolve<PlatformConfig>(Tokens.PlatformOptions) : undefined;
  const policy = policyOf(p);
  const plugin = (kind: string, name: string | undefined, what: string): string => (name ? `${kind} plugin '${name}' (${what})` : `${kind} '${what}'`);
  return {
    arch: plugin('architecture', cfg?.arch?.name, p.arch.name),
    policy: plugin('security-policy', cfg?.policy?.name, policy.name),
    guest: (id, name) => `${plugin('guest', cfg?.guest?.name, name)} in domain ${id}`,
  };
}

function policyOf(p: Platform): SecurityPolicy {
  return p.container.resolve<SecurityPolicy>(Tokens.SecurityPolicy);
}

/**
 * Saves a platform between clock steps (not from inside guest code or a timer callback).
 * @throws Error naming the plugin when a plugin in use has no snapshot hook
 */
export function snapshotPlatform(p: Platform): PlatformSnapshot {
  const clock = p.clock;
  if (!(clock instanceof VirtualClock)) throw new Error('only a platform on a VirtualClock can be snapshotted');
  const arch: Architecture = p.arch;
  const policy = policyOf(p);
  const who = owners(p);
  return {
    format: PLATFORM_SNAPSHOT_FORMAT,
    version: PLATFORM_SNAPSHOT_VERSION,
    clock: clock.getState() as unknown as JsonValue,
    hypervisor: p.hypervisor.getState(),
    arch: hookOf(who.arch, arch).getState(),
    policy: hookOf(who.policy, policy).getState(),
    scheduler: p.scheduler ? p.scheduler.getState() : null,
    runner: p.runner.getState(),
    guests: [...p.domains.values()].map((pd) => (pd.guest ? hookOf(who.guest(pd.domain.id, pd.guest.name), pd.guest).getState() : null)),
  };
}

/** Checks a document's `format` and `version`; a snapshot of another version is refused naming both. */
export function checkSnapshotHeader(doc: JsonValue, format: string, version: number, path = ''): { readonly [k: string]: JsonValue } {
  const o = readObject(doc, path === '' ? '(snapshot)' : path);
  const f = readString(o.format, at(path, 'format'));
  if (f !== format) throw new SnapshotError(at(path, 'format'), `expected "${format}", got ${JSON.stringify(f)}`);
  const v = readInt(o.version, at(path, 'version'), 0);
  if (v !== version)
    throw new SnapshotError(at(path, 'version'), `snapshot version ${v} cannot be loaded by this build, which reads version ${version}`);
  return o;
}

/** Runs one part's `setState`, putting its path in front of what it reports. */
export function setPart(path: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof SnapshotError) {
      if (e.path === path || e.path.startsWith(`${path}.`) || e.path.startsWith(`${path}[`)) throw e;
      throw new SnapshotError(e.path === '' ? path : e.path.startsWith('[') ? `${path}${e.path}` : `${path}.${e.path}`, e.problem);
    }
    throw new SnapshotError(path, e instanceof Error ? e.message : String(e));
  }
}

/**
 * Sets a platform snapshot into `p`, a platform just built from the same configuration (and
 * with the same bindings re-created). Discards `p`'s timers first; every part re-arms its own.
 * On failure `p` is left inconsistent: throw it away ({@link restorePlatform} does).
 * @throws SnapshotError naming the JSON path of the first bad field
 */
export function applyPlatformSnapshot(p: Platform, snapshot: JsonValue, path = ''): void {
  const o = checkSnapshotHeader(snapshot, PLATFORM_SNAPSHOT_FORMAT, PLATFORM_SNAPSHOT_VERSION, path);
  const clock = p.clock;
  if (!(clock instanceof VirtualClock)) throw new Error('only a platform on a VirtualClock can be restored');
  clock.discardTimers();
  for (const pd of p.domains.values()) pd.clock.discardTimers();
  setPart(at(path, 'clock'), () => {
    const c = readObject(o.clock, '');
    clock.setState({ now: c.now as number, seq: c.seq as number });
  });
  setPart(at(path, 'hypervisor'), () => p.hypervisor.setState(o.hypervisor ?? null, ''));
  const who = owners(p);
  setPart(at(path, 'arch'), () => hookOf(who.arch, p.arch).setState(o.arch ?? null));
  const policy = policyOf(p);
  setPart(at(path, 'policy'), () => hookOf(who.policy, policy).setState(o.policy ?? null));
  setPart(at(path, 'scheduler'), () => {
    if ((o.scheduler === null) !== (p.scheduler === undefined))
      throw new SnapshotError('', p.scheduler ? 'expected a scheduler state (the platform has a scheduler)' : 'expected null (the platform has no scheduler)');
    p.scheduler?.setState(o.scheduler ?? null, '');
  });
  setPart(at(path, 'runner'), () => p.runner.setState(o.runner ?? null, ''));
  const pds = [...p.domains.values()];
  const guests = o.guests;
  if (!Array.isArray(guests) || guests.length !== pds.length)
    throw new SnapshotError(at(path, 'guests'), `expected an array of ${pds.length} guest states`);
  pds.forEach((pd, i) => {
    const gp = at(at(path, 'guests'), i);
    setPart(gp, () => {
      const g = (guests as JsonValue[])[i] ?? null;
      if (!pd.guest) {
        if (g !== null) throw new SnapshotError('', `expected null (domain ${pd.domain.id} has no guest layer)`);
        return;
      }
      hookOf(who.guest(pd.domain.id, pd.guest.name), pd.guest).setState(g);
    });
    // A domain that had crashed runs nothing after the restore either.
    if (pd.domain.crashed) pd.clock.stop();
  });
}

/**
 * Restores a platform snapshot into a new platform built from `config` (which must be the
 * configuration the snapshot's platform was built from). `prepare` re-creates what a snapshot
 * cannot carry, the callers' closures (guest IRQ handlers and the like), exactly as the
 * original program created them, before the state is set. The new platform is returned only
 * when everything was restored.
 * @throws SnapshotError naming the JSON path of the first bad field
 */
export function restorePlatform(config: PlatformConfig, snapshot: JsonValue, prepare?: (p: Platform) => void): Platform {
  const p = createPlatform({ ...config, clock: new VirtualClock() });
  prepare?.(p);
  applyPlatformSnapshot(p, snapshot);
  return p;
}
