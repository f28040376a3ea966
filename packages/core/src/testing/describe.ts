/*
 * The vitest front end of the conformance suites: one `describe` per suite, one `it` per rule,
 * each test named `<rule id>: <summary>` so a failure names the rule it broke.
 */
import { describe, it } from 'vitest';
import { AbiFixture, type EventAbiFactory } from './abi-fixture.js';
import { eventAbiName, eventAbiRules, type EventAbiConformanceOptions } from './abi-rules.js';
import { architectureRules, architectureSubject, resolveArchitecture, type ArchitectureConformanceOptions, type ArchitectureFactory } from './arch-rules.js';
import { runRule } from './conformance.js';
import { checkDeliveryVector, deliveryVectorsFor, type DeliveryReplayRunner, type DeliveryVector } from './delivery-vectors.js';
import {
  defaultPolicySubjects,
  resolveSecurityPolicy,
  securityPolicyRules,
  type SecurityPolicyConformanceOptions,
  type SecurityPolicyFactory,
} from './policy-rules.js';

/** Options of {@link describeEventAbiConformance}. */
export interface DescribeEventAbiOptions extends EventAbiConformanceOptions {
  /**
   * Replays an `evtchn-replay/1` scenario on a platform offering only the plugin under test and
   * a real guest layer (`replayDelivery` of `@evtchn/conformance`). When given together with
   * `vectors`, every vector whose `abi` is this ABI's name (or `vectorAbiName`) becomes a test
   * named `delivery.<vector>`, replayed on a fresh instance of the plugin; a replay that ran on
   * any other ABI fails. `describeEventAbiConformance` of `@evtchn/conformance/testing` fills in
   * both.
   */
  replay?: DeliveryReplayRunner;
  /** The delivery vectors: a directory such as `conformance/delivery`, or vectors already loaded. */
  vectors?: string | readonly DeliveryVector[];
  /**
   * Whose vectors to replay on this ABI, when its name is not one the vectors use (e.g.
   * `'2level'` for an ABI that promises 2-level delivery order). The vectors still run on this
   * ABI, never on the one they are named after.
   */
  vectorAbiName?: string;
}

/**
 * Declares the event ABI conformance suite in the calling vitest file: one test per rule of
 * {@link eventAbiRules}, each on a fresh one-domain hypervisor with the ABI as the only ABI
 * offered, and, with `replay` and `vectors`, one test per matching delivery vector.
 * @param factory - creates the ABI plugin (or descriptor); called once per test
 * @param options - domain shape, rules to skip, replay runner and vectors
 * @example
 * ```ts
 * import { describeEventAbiConformance } from '@evtchn/core/testing';
 * import { abi3Level } from './index.js';
 *
 * describeEventAbiConformance(() => abi3Level());
 * ```
 */
export function describeEventAbiConformance(factory: EventAbiFactory, options: DescribeEventAbiOptions = {}): void {
  const name = eventAbiName(factory);
  describe(`event ABI conformance: ${name}`, () => {
    for (const rule of eventAbiRules) {
      const title = `${rule.id}: ${rule.summary}`;
      if (options.skip?.includes(rule.id)) it.skip(title, () => {});
      else it(title, () => runRule(rule, new AbiFixture(factory, options)));
    }
    const { replay, vectors } = options;
    if ((replay === undefined) !== (vectors === undefined))
      throw new Error(`event ABI conformance '${name}': 'replay' and 'vectors' go together; give both or neither`);
    if (replay && vectors !== undefined) {
      const mine = deliveryVectorsFor(vectors, options.vectorAbiName ?? name);
      if (mine.length === 0) it.skip(`delivery vectors: none for ABI '${options.vectorAbiName ?? name}'`, () => {});
      for (const v of mine) it(`delivery.${v.name}: replay on ${name} matches the reference output`, () => checkDeliveryVector(v, replay, factory()));
    }
  });
}

/**
 * Declares the architecture conformance suite: one test per rule of {@link architectureRules},
 * each on a fresh architecture.
 * @param factory - creates the architecture plugin (or instance); called once per test
 * @param options - how to settle deferred deliveries, whether the model is re-entrant, rules to skip
 * @example
 * ```ts
 * import { archNull } from '@evtchn/core';
 * import { describeArchitectureConformance } from '@evtchn/core/testing';
 *
 * describeArchitectureConformance(() => archNull({ deliver: true }), { reentrant: true });
 * ```
 */
export function describeArchitectureConformance(factory: ArchitectureFactory, options: ArchitectureConformanceOptions = {}): void {
  const name = resolveArchitecture(factory()).name;
  describe(`architecture conformance: ${name}`, () => {
    for (const rule of architectureRules) {
      const title = `${rule.id}: ${rule.summary}`;
      if (options.skip?.includes(rule.id)) it.skip(title, () => {});
      else it(title, () => runRule(rule, architectureSubject(factory, options)));
    }
  });
}

/**
 * Declares the security policy conformance suite: one test per rule of
 * {@link securityPolicyRules}. The policy must answer like Xen's dummy policy except for the
 * checks `options.denies` declares denied.
 * @param factory - creates the policy plugin (or instance); called once per test
 * @param options - the domains to ask about, the declared denials, rules to skip
 * @example
 * ```ts
 * import { dummyPolicy } from '@evtchn/core';
 * import { describeSecurityPolicyConformance } from '@evtchn/core/testing';
 *
 * describeSecurityPolicyConformance(() => dummyPolicy());
 * ```
 */
export function describeSecurityPolicyConformance(factory: SecurityPolicyFactory, options: SecurityPolicyConformanceOptions = {}): void {
  const name = resolveSecurityPolicy(factory()).name;
  describe(`security policy conformance: ${name}`, () => {
    for (const rule of securityPolicyRules) {
      const title = `${rule.id}: ${rule.summary}`;
      if (options.skip?.includes(rule.id)) it.skip(title, () => {});
      else
        it(title, () =>
          runRule(rule, {
            policy: resolveSecurityPolicy(factory()),
            subjects: options.subjects ?? defaultPolicySubjects,
            denies: options.denies ?? (() => false),
            fresh: () => resolveSecurityPolicy(factory()),
          }),
        );
    }
  });
}
