/*
 * The shape shared by every conformance suite: a rule has an id, the SPEC section it comes
 * from and a check that throws a `ConformanceViolation` naming the rule. Rules are plain
 * functions so they run inside vitest (one `it` per rule) or from any program.
 */

/** A rule of a conformance suite. `S` is what the rule checks (a fixture, an architecture, a policy). */
export interface ConformanceRule<S> {
  /** Stable id, e.g. `'unmask.hypercall-redelivers'`; failures and test names start with it. */
  readonly id: string;
  /** The SPEC section the rule is written from, e.g. `'§2.1'`. */
  readonly spec: string;
  /** One sentence saying what must hold. */
  readonly summary: string;
  /** Checks the rule; throws {@link ConformanceViolation} when it does not hold. */
  check(subject: S): void;
}

/** Thrown by a rule that does not hold; the message starts with the rule id. */
export class ConformanceViolation extends Error {
  /**
   * @param rule - id of the violated rule
   * @param spec - SPEC section of the rule
   * @param detail - what was observed
   */
  constructor(
    readonly rule: string,
    readonly spec: string,
    readonly detail: string,
  ) {
    super(`rule '${rule}' (SPEC ${spec}) violated: ${detail}`);
    this.name = 'ConformanceViolation';
  }
}

/** Outcome of one rule run programmatically. */
export interface ConformanceResult {
  /** The rule id. */
  readonly rule: string;
  /** Whether the rule held. */
  readonly ok: boolean;
  /** The failure message (a violation, or an unexpected exception naming the rule). */
  readonly message?: string;
}

/**
 * Runs one rule and converts any failure into a {@link ConformanceViolation} naming it: a
 * plugin that throws where the contract says it must not is a violation too.
 * @param rule - the rule
 * @param subject - what it checks
 */
export function runRule<S>(rule: ConformanceRule<S>, subject: S): void {
  try {
    rule.check(subject);
  } catch (e) {
    if (e instanceof ConformanceViolation) throw e;
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new ConformanceViolation(rule.id, rule.spec, `threw ${message}`);
  }
}

/**
 * Runs every rule, each on a fresh subject, and reports each outcome instead of throwing.
 * @param rules - the rules
 * @param makeSubject - creates the subject for one rule
 */
export function runRules<S>(rules: readonly ConformanceRule<S>[], makeSubject: (rule: ConformanceRule<S>) => S): ConformanceResult[] {
  return rules.map((rule) => {
    try {
      runRule(rule, makeSubject(rule));
      return { rule: rule.id, ok: true };
    } catch (e) {
      return { rule: rule.id, ok: false, message: e instanceof Error ? e.message : String(e) };
    }
  });
}

/** Builds an assertion helper bound to one rule. */
export function ruleAsserter(rule: { id: string; spec: string }): (cond: boolean, detail: string | (() => string)) => void {
  return (cond, detail) => {
    if (!cond) throw new ConformanceViolation(rule.id, rule.spec, typeof detail === 'function' ? detail() : detail);
  };
}

/** Formats a list of numbers for failure messages. */
export function list(xs: readonly number[]): string {
  return `[${xs.join(', ')}]`;
}

/** Whether two number lists hold the same values in any order. */
export function sameSet(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  return x.every((v, i) => v === y[i]);
}
