/*
 * A rough forecast of how long a run takes in wall time, so that a configuration that cannot
 * finish in reasonable time is flagged before it starts (by `run` and by `validate`).
 */
import type { PlatformFileConfig } from '@evtchn/core';

/**
 * Notifications the simulation handles per second of wall time: the default example
 * (`examples/x86-dom0-fifo`) run for 2 s of virtual time sent 317 176 notifications in 1.5 s
 * of CPU time (3 s wall on a loaded 2-core machine); rounded down to allow for slower mixes.
 * A forecast, not a promise.
 */
export const NOTIFICATIONS_PER_WALL_SECOND = 100_000;

/** Wall time above which `run` and `validate` warn (seconds). */
export const LONG_RUN_SECONDS = 300;

/** A forecast of a run. */
export interface RunEstimate {
  /** Notifications the workloads send in the run (each one a send, an upcall and a handler run at most). */
  notifications: number;
  /** Forecast wall time in seconds. */
  wallSeconds: number;
}

/**
 * Forecasts a run from its workloads' rates and its virtual duration.
 * @param durationNs - virtual duration of the run
 */
export function estimateRun(cfg: PlatformFileConfig, durationNs: number): RunEstimate {
  const vcpus = new Map(cfg.domains.map((d) => [d.id, d.vcpus ?? 1]));
  let perSecond = 0;
  for (const w of cfg.workloads ?? []) {
    switch (w.type) {
      case 'interdomain':
        perSecond += 2 * w.rate; // the request and the back end's answer
        break;
      case 'timer':
        perSecond += w.hz * (w.vcpus?.length ?? vcpus.get(w.domain) ?? 1);
        break;
      case 'ipi':
      case 'spi':
        perSecond += w.rate;
        break;
      case 'pirq':
        perSecond += w.rate * w.domains.length;
        break;
      case 'vtimer':
        perSecond += 1e6 / w.periodUs;
        break;
    }
  }
  const notifications = perSecond * (durationNs / 1e9);
  return { notifications, wallSeconds: notifications / NOTIFICATIONS_PER_WALL_SECOND };
}
