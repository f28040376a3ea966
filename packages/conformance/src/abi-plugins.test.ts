// The delivery replay on ABI plugins: vectors replay on the plugin it is given, a plugin whose
// guest side dispatches nothing fails the delivery rules by name, and a runner that replays a
// built-in ABI in place of the plugin is refused.
import { TwoLevelAbi, abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import type { AbiGuestContext, Plugin } from '@evtchn/core';
import { EventAbi, GuestOsFactory as GuestOsFactoryToken } from '@evtchn/core';
import { checkDeliveryConformance, deliveryVectorsFor } from '@evtchn/core/testing';
import { describe, expect, it } from 'vitest';
import { replayDelivery, runDeliveryReplay } from './delivery.js';
import { checkEventAbiDelivery, deliveryVectors } from './testing.js';

/** A 2-level ABI under another name whose guest scan dispatches nothing. */
class SilentAbi extends TwoLevelAbi {
  override readonly name = 'silent' as '2level';
  override createGuestSide(ctx: AbiGuestContext): ReturnType<TwoLevelAbi["createGuestSide"]> {
    const side = super.createGuestSide(ctx);
    side.handleEvents = () => {};
    return side;
  }
}

const silentPlugin = (): Plugin<'abi'> => ({
  name: 'abi-silent',
  kind: 'abi',
  register(c) {
    c.register(EventAbi, { useValue: new SilentAbi() });
  },
});

describe('delivery replay on ABI plugins', () => {
  const vectors = deliveryVectors();

  it('ships vectors for both built-in ABIs', () => {
    expect(deliveryVectorsFor(vectors, '2level').length).toBeGreaterThan(0);
    expect(deliveryVectorsFor(vectors, 'fifo').length).toBeGreaterThan(0);
  });

  it('replays on the plugin it is given and says so', () => {
    const v = deliveryVectorsFor(vectors, '2level')[0]!;
    const ran = replayDelivery(v.scenario, { abis: [silentPlugin()] });
    expect(ran.abi.name).toBe('silent');
    expect(ran.abi).toBeInstanceOf(SilentAbi);
    // the built-in replay of the same vector does deliver, the silent plugin does not
    expect(ran.lines).not.toEqual(runDeliveryReplay(v.scenario));
  });

  it('the built-in plugins pass their own vectors when offered as plugins', () => {
    for (const [name, factory] of [['2level', abi2Level], ['fifo', abiFifo]] as const) {
      const results = checkDeliveryConformance(factory, { replay: replayDelivery, vectors });
      expect(results.length, name).toBe(deliveryVectorsFor(vectors, name).length);
      expect(results.filter((r) => !r.ok), name).toEqual([]);
    }
  });

  it('an ABI whose guest side dispatches nothing fails the delivery rules, by name', () => {
    const results = checkEventAbiDelivery(silentPlugin, { vectorAbiName: '2level' });
    const expected = deliveryVectorsFor(vectors, '2level').map((v) => `delivery.${v.name}`);
    expect(results.map((r) => r.rule)).toEqual(expected);
    const failed = results.filter((r) => !r.ok);
    // every 2-level vector with an upcall that delivers something must fail
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBe(
      deliveryVectorsFor(vectors, '2level').filter((v) => v.expected.some((l) => /"delivered":\[\d/.test(l))).length,
    );
    for (const f of failed) expect(f.message).toMatch(/^rule 'delivery\.[\w-]+' \(SPEC §6\) violated: step \d+ .*"delivered"/);
  });

  it('refuses a runner that replays a built-in ABI in place of the plugin', () => {
    const ignoresPlugin = (scenario: unknown) => replayDelivery(scenario); // built-in ABIs only
    const results = checkDeliveryConformance(silentPlugin, { replay: ignoresPlugin, vectors, vectorAbiName: '2level' });
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) {
      expect(r.ok).toBe(false);
      expect(r.message).toMatch(/ran on ABI '2level' \(TwoLevelAbi\), not on the plugin's ABI 'silent' \(SilentAbi\)/);
    }
  });

  it('refuses an empty plugin list', () => {
    const v = vectors[0]!;
    expect(() => replayDelivery(v.scenario, { abis: [] })).toThrow(/options\.abis/);
  });
});

describe('the guest-layer suite', () => {
  it('fails a guest whose upcall does nothing, naming the rule', async () => {
    const { checkGuestOsConformance } = await import('./guest-suite.js');
    const idle: Plugin<'guest'> = {
      name: 'guest-idle',
      kind: 'guest',
      register: (c) =>
        c.register(GuestOsFactoryToken, {
          useValue: { name: 'idle', create: () => ({ name: 'idle', abiName: '2level', upcall: () => {}, procInterrupts: () => '' }) },
        }),
    };
    const failed = checkGuestOsConformance(() => idle).filter((r) => !r.ok);
    expect(failed.map((r) => r.rule)).toEqual(expect.arrayContaining(['guest.upcall.acknowledges', 'guest.boot.any-abi']));
    expect(failed.find((r) => r.rule === 'guest.upcall.acknowledges')!.message).toMatch(/^rule 'guest.upcall.acknowledges' \(SPEC §3 upcall\) violated: .*upcallPending is still 1/);
  });
});
