/**
 * `@evtchn/core/testing`: conformance suites for plugin authors.
 *
 * Call `describeEventAbiConformance`, `describeArchitectureConformance` or
 * `describeSecurityPolicyConformance` from a vitest file to check a plugin against the rules
 * the SPEC sets for its kind; each rule is one test named by its id. The same rules run without
 * vitest through the `check*Conformance` functions, which return one result per rule.
 * This entry imports `vitest` (an optional peer dependency of `@evtchn/core`).
 *
 * @packageDocumentation
 */
export { ConformanceViolation, runRule, runRules, type ConformanceResult, type ConformanceRule } from './conformance.js';
export { AbiFixture, resolveEventAbi, type AbiFixtureOptions, type EventAbiFactory } from './abi-fixture.js';
export { eventAbiRules, checkEventAbiConformance, eventAbiName, type EventAbiConformanceOptions } from './abi-rules.js';
export {
  loadDeliveryVectors,
  checkDeliveryVector,
  checkDeliveryConformance,
  deliveryVectorsFor,
  asAbiPlugin,
  type DeliveryVector,
  type DeliveryReplayRunner,
  type DeliveryReplayOptions,
  type DeliveryReplayResult,
  type DeliveryConformanceOptions,
} from './delivery-vectors.js';
export {
  architectureRules,
  checkArchitectureConformance,
  resolveArchitecture,
  architectureSubject,
  type ArchitectureConformanceOptions,
  type ArchitectureFactory,
  type ArchitectureSubject,
} from './arch-rules.js';
export {
  securityPolicyRules,
  checkSecurityPolicyConformance,
  resolveSecurityPolicy,
  askPolicy,
  defaultPolicySubjects,
  type PolicyCheck,
  type PolicyHook,
  type SecurityPolicyConformanceOptions,
  type SecurityPolicyFactory,
  type SecurityPolicySubject,
} from './policy-rules.js';
export {
  describeEventAbiConformance,
  describeArchitectureConformance,
  describeSecurityPolicyConformance,
  type DescribeEventAbiOptions,
} from './describe.js';
