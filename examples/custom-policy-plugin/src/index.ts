/**
 * `@evtchn/example-custom-policy-plugin`: a security policy written outside the framework
 * against its public API only — FLASK-like domain types deciding which domains may bind
 * interdomain event channels to which — checked by `@evtchn/core/testing`.
 *
 * @packageDocumentation
 */
export { FlaskLikePolicy, flaskLikePolicy, flaskLikeOptionsSchema, default, type BindRule, type FlaskLikePolicyOptions } from './flask-like.js';
