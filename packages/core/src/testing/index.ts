/**
 * `@evtchn/core/testing`: conformance suites and helpers for plugin authors.
 *
 * @packageDocumentation
 */
export {};
