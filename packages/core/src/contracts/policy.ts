/*
 * The security policy contract: the hooks Xen consults through XSM (xen/include/xsm/xsm.h).
 * Checks return 0 or -errno (normally -EPERM), never throw. The hypervisor holds the policy
 * behind a `PolicyGate` (hypervisor/policy-gate.ts), which enforces this.
 */
import type { JsonValue } from './snapshot.js';
import * as Tokens from '../tokens.js';

/** What a policy knows about a domain. */
export interface PolicySubject {
  /** Domain id. */
  readonly id: number;
  /** Whether the domain is privileged (the control domain). */
  readonly privileged: boolean;
  /** Security label (e.g. a FLASK-like type), `undefined` when unlabelled. */
  readonly label?: string;
  /** Id of the domain acting as this domain's device model, if any. */
  readonly deviceModel?: number;
  /** Physical IRQs the domain was granted (Xen's `irq_caps`/`pirq_access_permitted`). */
  readonly pirqGrants: ReadonlySet<number>;
}

/**
 * Security policy hooks (Xen's XSM), consulted where Xen consults them. Each hook answers
 * synchronously with 0 (allow) or a negative errno in -1 … -4095 (deny). The hypervisor treats
 * any other answer as a denial (-EPERM) and warns once per hook on the bus (`warn` event,
 * source `policy '<name>'`); an exception from a hook stops the call with a `PolicyHookError`.
 */
export interface SecurityPolicy {
  /** Name of the policy (`'dummy'`, `'flask-like'`, …); appears in errors it causes. */
  readonly name: string;
  /** EVTCHNOP_alloc_unbound: may `caller` create a port in `dom` for `remoteDom`? */
  evtchnUnbound(caller: PolicySubject, dom: PolicySubject, remoteDom: number): number;
  /** EVTCHNOP_bind_interdomain: may `caller` bind to `remote`'s port? */
  evtchnInterdomain(caller: PolicySubject, remote: PolicySubject): number;
  /** EVTCHNOP_send on an interdomain channel. */
  evtchnSend(caller: PolicySubject, remote: PolicySubject | undefined): number;
  /** EVTCHNOP_status of another domain's port. */
  evtchnStatus(caller: PolicySubject, dom: PolicySubject): number;
  /** EVTCHNOP_reset of `dom`. */
  evtchnReset(caller: PolicySubject, dom: PolicySubject): number;
  /** May `dom` bind physical IRQ `pirq`? (Xen's `pirq_access_permitted`.) */
  pirqAccess(dom: PolicySubject, pirq: number): number;
  /**
   * Snapshot hook (optional; see the "Snapshots and migration" guide): the policy's state as
   * JSON (`null` for a stateless policy). Without it a platform using the policy cannot be
   * snapshotted.
   */
  getState?(): JsonValue;
  /** Restores {@link SecurityPolicy.getState}; throws naming the bad field. */
  setState?(state: JsonValue): void;
}

/** Token for {@link SecurityPolicy}. */
export const SecurityPolicy: typeof Tokens.SecurityPolicy = Tokens.SecurityPolicy;
