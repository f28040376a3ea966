/*
 * A label-based security policy in the spirit of Xen's FLASK (xen/xsm/flask, policy language
 * in tools/flask/policy): every domain has a type (its label), and an explicit allow list says
 * which types may bind interdomain event channels to which, e.g. `allow domU_t backend_t :
 * event bind`. Everything else is Xen's dummy policy, so the policy only ever denies more.
 * Denials return -EACCES, as FLASK's access vector cache does.
 */
import type { Plugin, PolicySubject } from '@evtchn/core';
import { DummySecurityPolicy, Errno, definePlugin, withOptionsSchema, type SecurityPolicy } from '@evtchn/core';

/** One allow rule: domains of type `from` may bind interdomain to domains of type `to` (`'*'` = any type). */
export interface BindRule {
  /** Type of the domain calling EVTCHNOP_bind_interdomain. */
  readonly from: string;
  /** Type of the domain that owns the unbound port. */
  readonly to: string;
}

/** Options of {@link flaskLikePolicy}. */
export interface FlaskLikePolicyOptions {
  /** The allow rules; a pair no rule names is denied. */
  readonly allowBind: readonly BindRule[];
  /** Type of domains without a label (default `'unlabeled_t'`). */
  readonly defaultType?: string;
}

/** The FLASK-like policy: Xen's dummy checks plus typed interdomain binding. */
export class FlaskLikePolicy implements SecurityPolicy {
  /** Policy name. */
  readonly name = 'flask-like';
  private readonly allowed = new Set<string>();
  private readonly defaultType: string;
  private readonly baseline = new DummySecurityPolicy();

  /** @param options - the allow rules and the default type */
  constructor(options: FlaskLikePolicyOptions) {
    this.defaultType = options.defaultType ?? 'unlabeled_t';
    for (const r of options.allowBind) this.allowed.add(`${r.from}\u0000${r.to}`);
  }

  /**
   * Snapshot hook: `null`. The rules come from the configuration and nothing changes while the
   * platform runs, so there is no state to save.
   */
  getState(): null {
    return null;
  }

  /** Accepts only `null` (see {@link FlaskLikePolicy.getState}). */
  setState(state: unknown): void {
    if (state !== null) throw new Error('expected null: the flask-like policy keeps no state');
  }

  /** The type of a domain: its label, or the default type. */
  typeOf(subject: PolicySubject): string {
    return subject.label ?? this.defaultType;
  }

  /** Whether type `from` may bind interdomain to type `to` under the allow rules. */
  mayBind(from: string, to: string): boolean {
    const a = this.allowed;
    return a.has(`${from}\u0000${to}`) || a.has(`${from}\u0000*`) || a.has(`*\u0000${to}`) || a.has('*\u0000*');
  }

  /** EVTCHNOP_bind_interdomain: allowed only when a rule allows the caller's type to bind to the remote's. @returns 0 or -EACCES */
  evtchnInterdomain(caller: PolicySubject, remote: PolicySubject): number {
    return this.mayBind(this.typeOf(caller), this.typeOf(remote)) ? 0 : -Errno.EACCES;
  }

  /** EVTCHNOP_alloc_unbound: the dummy target check. */
  evtchnUnbound(caller: PolicySubject, dom: PolicySubject, remoteDom: number): number {
    return this.baseline.evtchnUnbound(caller, dom, remoteDom);
  }

  /** EVTCHNOP_send: the dummy hook check (binding is where types are enforced). */
  evtchnSend(caller: PolicySubject, remote: PolicySubject | undefined): number {
    return this.baseline.evtchnSend(caller, remote);
  }

  /** EVTCHNOP_status: the dummy target check. */
  evtchnStatus(caller: PolicySubject, dom: PolicySubject): number {
    return this.baseline.evtchnStatus(caller, dom);
  }

  /** EVTCHNOP_reset: the dummy target check. */
  evtchnReset(caller: PolicySubject, dom: PolicySubject): number {
    return this.baseline.evtchnReset(caller, dom);
  }

  /** Pirq access: the domain's grant list. */
  pirqAccess(dom: PolicySubject, pirq: number): number {
    return this.baseline.pirqAccess(dom, pirq);
  }
}

/**
 * JSON Schema of {@link FlaskLikePolicyOptions}: a configuration file's `options` are checked
 * against it before the factory runs (a misspelt key or a rule without `to` is a config error).
 */
export const flaskLikeOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['allowBind'],
  properties: {
    allowBind: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to'],
        properties: { from: { type: 'string', minLength: 1 }, to: { type: 'string', minLength: 1 } },
      },
    },
    defaultType: { type: 'string', minLength: 1 },
  },
};

/**
 * Policy plugin factory: registers a {@link FlaskLikePolicy} under the core's `SecurityPolicy` token.
 * @param options - the allow rules
 * @example
 * ```ts
 * const policy = flaskLikePolicy({ allowBind: [{ from: 'frontend_t', to: 'backend_t' }] });
 * ```
 */
export const flaskLikePolicy = withOptionsSchema(
  flaskLikeOptionsSchema,
  (options: FlaskLikePolicyOptions): Plugin<'policy'> =>
    definePlugin({ name: 'policy-flask-like', kind: 'policy', provide: { useValue: new FlaskLikePolicy(options) } }),
);

/** The module's default export: the plugin factory, for configuration files naming this module. */
export default flaskLikePolicy;
