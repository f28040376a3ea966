/**
 * `@evtchn/conformance/testing`: the event ABI conformance suite with the reference delivery
 * vectors built in. `describeEventAbiConformance` here is `@evtchn/core/testing`'s suite plus one
 * test per delivery vector, each replayed through the real Linux guest layer on a fresh instance
 * of the plugin under test (never on a built-in ABI). This entry imports `vitest`.
 *
 * @packageDocumentation
 */
import {
  checkDeliveryConformance,
  describeEventAbiConformance as describeCoreEventAbiConformance,
  loadDeliveryVectors,
  type ConformanceResult,
  type DeliveryVector,
  type DescribeEventAbiOptions,
  type EventAbiFactory,
} from '@evtchn/core/testing';
import { describe, it } from 'vitest';
import { replayDelivery } from './delivery.js';
import { guestOsRules, runGuestOsRule, type GuestOsConformanceOptions, type GuestOsPluginFactory } from './guest-suite.js';
import { vectorsDir } from './vectors.js';

/** Options of {@link describeEventAbiConformance}: the core suite's, minus the runner and vectors this package provides. */
export interface EventAbiSuiteOptions extends Omit<DescribeEventAbiOptions, 'replay' | 'vectors'> {
  /** Vectors to replay instead of the packaged ones (a folder or vectors already loaded). */
  vectors?: string | readonly DeliveryVector[];
}

/**
 * The reference delivery vectors (`evtchn-replay/1` scenarios with their expected output) that
 * ship with this package, sorted by name.
 */
export function deliveryVectors(): DeliveryVector[] {
  return loadDeliveryVectors(vectorsDir('delivery'));
}

/**
 * Declares the event ABI conformance suite with the delivery vectors: the contract rules of
 * `@evtchn/core/testing`, and one `delivery.<vector>` test per vector written for the ABI's name
 * (or `options.vectorAbiName`), replayed on the plugin itself.
 * @param factory - creates the ABI plugin (or descriptor); called once per test
 * @param options - domain shape, rules to skip, whose vectors to replay
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { describeEventAbiConformance } from '@evtchn/conformance/testing';
 * import { abi2Level } from '@evtchn/abi-2level';
 *
 * describeEventAbiConformance(() => abi2Level());
 * ```
 */
export function describeEventAbiConformance(factory: EventAbiFactory, options: EventAbiSuiteOptions = {}): void {
  describeCoreEventAbiConformance(factory, { ...options, replay: replayDelivery, vectors: options.vectors ?? deliveryVectors() });
}

/**
 * Replays the matching delivery vectors on the ABI and returns one result per vector (rule
 * `delivery.<vector>`), without vitest.
 * @param factory - creates the ABI plugin (or descriptor); called once per vector
 * @param options - whose vectors to replay, and vectors to use instead of the packaged ones
 */
export function checkEventAbiDelivery(
  factory: EventAbiFactory,
  options: { vectorAbiName?: string; vectors?: string | readonly DeliveryVector[] } = {},
): ConformanceResult[] {
  return checkDeliveryConformance(factory, { replay: replayDelivery, vectors: options.vectors ?? deliveryVectors(), vectorAbiName: options.vectorAbiName });
}

/**
 * Declares the guest-layer conformance suite: one test per rule of {@link guestOsRules}, each on
 * a fresh platform (null architecture, upcalls run on the virtual clock, the built-in ABIs, domains 0
 * and 1) built around a fresh instance of the plugin.
 * @param factory - creates the guest plugin (or a `GuestOsFactory`)
 * @param options - rules to skip
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { describeGuestOsConformance } from '@evtchn/conformance/testing';
 * import { guestLinux } from '@evtchn/guest-linux';
 *
 * describeGuestOsConformance(() => guestLinux());
 * ```
 */
export function describeGuestOsConformance(factory: GuestOsPluginFactory, options: GuestOsConformanceOptions = {}): void {
  const made = factory();
  const name = made.name;
  describe(`guest layer conformance: ${name}`, () => {
    for (const rule of guestOsRules) {
      const title = `${rule.id}: ${rule.summary}`;
      if (options.skip?.includes(rule.id)) it.skip(title, () => {});
      else it(title, () => runGuestOsRule(rule, factory));
    }
  });
}

export {
  guestOsRules,
  checkGuestOsConformance,
  type GuestOsConformanceOptions,
  type GuestOsPluginFactory,
  type GuestOsSubject,
} from './guest-suite.js';
