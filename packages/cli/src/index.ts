/**
 * `@evtchn/cli`: the `evtchn` command (`replay`, `conform`, `run`, `lsevtchn`, `dump`, `demo`)
 * and the replay runners it is built on.
 *
 * @packageDocumentation
 */
export { main, type CliIo } from './main.js';
export * from './replay/index.js';
