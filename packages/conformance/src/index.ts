/**
 * `@evtchn/conformance`: the replay runners for the reference vectors of the real Xen and
 * Linux event-channel code: `evtchn-hypercall/1` scenarios (EVTCHNOPs from several domains)
 * and `evtchn-replay/1` delivery scenarios (one Linux guest's upcalls), and the comparison of a
 * run's output with an expected `.jsonl` file.
 *
 * @packageDocumentation
 */
export {
  builtinAbis,
  runScenario,
  readScenario,
  replayAndCompare,
  firstMismatch,
  jsonlLines,
  ScenarioError,
  replayHypercalls,
  runHypercallReplay,
  runDeliveryReplay,
  replayDelivery,
  type DeliveryReplayOptions,
  type DeliveryStepView,
  type DeliveryReplayResult,
  type ReplayRun,
  type ReplayMismatch,
} from './replay.js';
export { vectorsDir, type VectorKind } from './vectors.js';
