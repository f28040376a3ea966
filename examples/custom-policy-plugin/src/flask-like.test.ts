import { describe, expect, it } from 'vitest';
import { archNull, createPlatform, loadPlugin, type PolicySubject } from '@evtchn/core';
import { checkSecurityPolicyConformance, describeSecurityPolicyConformance, type PolicyCheck } from '@evtchn/core/testing';
import { FlaskLikePolicy, flaskLikePolicy, type FlaskLikePolicyOptions } from './index.js';

// Frontends may bind to backends, the control domain to anyone, nobody else to anyone.
const options: FlaskLikePolicyOptions = {
  allowBind: [
    { from: 'frontend_t', to: 'backend_t' },
    { from: 'dom0_t', to: '*' },
  ],
};

const subjects: PolicySubject[] = [
  { id: 0, privileged: true, label: 'dom0_t', pirqGrants: new Set([5]) },
  { id: 1, privileged: false, label: 'backend_t', pirqGrants: new Set() },
  { id: 2, privileged: false, label: 'frontend_t', pirqGrants: new Set([5]) },
  { id: 3, privileged: false, label: 'frontend_t', deviceModel: 1, pirqGrants: new Set() },
  { id: 4, privileged: false, pirqGrants: new Set() },
];

/** What the policy denies beyond Xen's dummy policy, spelled out pair by pair. */
const allowedPairs = new Set(['2>1', '3>1', '0>0', '0>1', '0>2', '0>3', '0>4']);
const denies = (c: PolicyCheck): boolean =>
  c.hook === 'evtchnInterdomain' && c.target !== undefined && !allowedPairs.has(`${c.caller.id}>${c.target.id}`);

describeSecurityPolicyConformance(() => flaskLikePolicy(options), { subjects, denies });

describe('the FLASK-like policy example', () => {
  it('fails the suite when its rules allow more than it declares', () => {
    const loose = () => flaskLikePolicy({ allowBind: [...options.allowBind, { from: 'backend_t', to: 'frontend_t' }] });
    const failed = checkSecurityPolicyConformance(loose, { subjects, denies }).filter((r) => !r.ok);
    expect(failed.map((r) => r.rule)).toEqual(['hook.interdomain', 'hypervisor.enforces-interdomain']);
    expect(failed[0]!.message).toMatch(/evtchnInterdomain\(d1:backend_t, d2:frontend_t\) is declared denied but returned 0/);
  });

  it('unlabelled domains get the default type', () => {
    const p = new FlaskLikePolicy({ allowBind: [{ from: 'unlabeled_t', to: 'unlabeled_t' }] });
    const plain: PolicySubject = { id: 7, privileged: false, pirqGrants: new Set() };
    expect(p.typeOf(plain)).toBe('unlabeled_t');
    expect(p.evtchnInterdomain(plain, { ...plain, id: 8 })).toBe(0);
    expect(p.evtchnInterdomain(plain, { ...plain, id: 8, label: 'backend_t' })).toBe(-13);
  });

  it('is enforced by a platform built from a configuration, loaded by module specifier', async () => {
    const url = new URL('./index.ts', import.meta.url).href;
    const policy = await loadPlugin(url, 'policy', { options });
    const { abi2Level } = await import('@evtchn/abi-2level');
    const platform = createPlatform({
      arch: archNull(),
      abis: [abi2Level()],
      policy,
      domains: [
        { id: 0, label: 'dom0_t' },
        { id: 1, label: 'backend_t' },
        { id: 2, label: 'frontend_t' },
      ],
    });
    const back = platform.domain(1).domain.hypercalls;
    const front = platform.domain(2).domain.hypercalls;
    const forFront = back.allocUnbound(0x7ff0, 2);
    expect(front.bindInterdomain(1, forFront)).toBeGreaterThan(0);
    const forBack = front.allocUnbound(0x7ff0, 1);
    expect(back.bindInterdomain(2, forBack)).toBe(-13);
  });
});

describe('the FLASK-like policy options schema', () => {
  it('refuses a rule without `to` when loaded by module, naming the field', async () => {
    const url = new URL('./index.ts', import.meta.url).href;
    const load = loadPlugin(url, 'policy', { options: { allowBind: [{ from: 'a_t' }] }, import: (s) => import(s) });
    await expect(load).rejects.toThrow(/options\.allowBind\[0\]: missing required key "to"/);
  });
});
