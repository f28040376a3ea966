/*
 * The 'e' debug-key dump and lsevtchn with the real ABIs: the [p/m/s] columns come from the
 * domain's active ABI (2-level: pending, mask and the notify vCPU's selector bit; FIFO: the
 * BUSY flag and LINK field of the event word).
 */
import { describe, expect, it } from 'vitest';
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { FifoAbi } from '@evtchn/abi-fifo';
import { Hypervisor, VIRQ, dumpEventChannels, lsevtchn, nullArchitecture, setBit } from '@evtchn/core';

function platform(): Hypervisor {
  const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi(), new FifoAbi()] });
  hv.createDomain({ id: 0, vcpus: 2 });
  hv.createDomain({ id: 1, vcpus: 2, pirqs: [9], maxEvtchnPort: 4095 });
  return hv;
}

describe('views with the 2-level ABI', () => {
  it('shows pending, mask and the selector bit of the notify vCPU', () => {
    const hv = platform();
    const d1 = hv.evtchn(1);
    expect(d1.bindVirq(VIRQ.TIMER, 0)).toBe(1);
    expect(d1.bindVirq(VIRQ.TIMER, 1)).toBe(2);
    expect(d1.allocUnbound(1, 0)).toBe(3);
    expect(hv.evtchn(0).bindInterdomain(1, 3)).toBe(1);
    expect(d1.bindPirq(9, 1)).toBe(4);
    expect(hv.evtchn(0).bindVirq(VIRQ.DOM_EXC, 0)).toBe(2);
    // vCPU 1's timer fires: pending, and selector bit 0 set on vCPU 1 only.
    hv.raiseVirq(1, VIRQ.TIMER, 1);
    // dom0 notifies dom1 through a masked port: pending, no selector bit.
    setBit(hv.domain(1)!.sharedInfo.evtchnMask, 3);
    expect(hv.evtchn(0).send(1)).toBe(0);
    expect(dumpEventChannels(hv, 1)).toBe(
      [
        'Event channel information for domain 1:',
        'Polling vCPUs: {}',
        '    port [p/m/s]',
        '       1 [0/0/0]: s=5 n=0 x=0 v=0',
        '       2 [1/0/1]: s=5 n=1 x=0 v=0',
        '       3 [1/1/0]: s=3 n=0 x=0 d=0 p=1',
        '       4 [0/0/0]: s=4 n=0 x=0 p=9 i=9',
        '',
      ].join('\n'),
    );
    // bind_interdomain raised dom0's new local port at once.
    expect(dumpEventChannels(hv, 0)).toBe(
      [
        'Event channel information for domain 0:',
        'Polling vCPUs: {}',
        '    port [p/m/s]',
        '       1 [1/0/1]: s=3 n=0 x=0 d=1 p=3',
        '       2 [0/0/1]: s=5 n=0 x=0 v=3',
        '',
      ].join('\n'),
    );
    expect(lsevtchn(hv, 1)).toBe(
      [
        '   1: VCPU 0: Virtual IRQ 0',
        '   2: VCPU 1: Virtual IRQ 0',
        '   3: VCPU 0: Interdomain (Connected) - Remote Domain 0, Port 1',
        '   4: VCPU 0: Physical IRQ 9',
        '',
      ].join('\n'),
    );
    // Destroying dom1 leaves dom0's end waiting for it, and raises VIRQ_DOM_EXC.
    expect(hv.destroy(1)).toBe(0);
    expect(lsevtchn(hv, 0)).toBe(
      '   1: VCPU 0: Interdomain (Waiting connection) - Remote Domain 1\n   2: VCPU 0: Virtual IRQ 3\n',
    );
    expect(dumpEventChannels(hv, 0).split('\n')[4]).toBe('       2 [1/0/1]: s=5 n=0 x=0 v=3');
  });
});

describe('views with the FIFO ABI', () => {
  it('shows the event word’s BUSY flag and LINK field, or ? for a port without an event word', () => {
    const hv = platform();
    const d1 = hv.evtchn(1);
    expect(d1.initControl(1, 0, 0)).toBe(17);
    expect(d1.expandArray(2)).toBe(0);
    expect(d1.bindIpi(0)).toBe(1);
    expect(d1.bindIpi(0)).toBe(2);
    expect(d1.bindIpi(0)).toBe(3);
    expect(d1.send(1)).toBe(0);
    expect(d1.send(2)).toBe(0); // queued behind port 1: port 1's LINK = 2
    for (let p = 4; p <= 1024; p++) expect(d1.bindIpi(0)).toBe(p);
    expect(dumpEventChannels(hv, 1).split('\n').slice(0, 6)).toEqual([
      'Event channel information for domain 1:',
      'Polling vCPUs: {}',
      '    port [p/m/s]',
      '       1 [1/0/  2   ]: s=6 n=0 x=0',
      '       2 [1/0/  0   ]: s=6 n=0 x=0',
      '       3 [0/0/  -   ]: s=6 n=0 x=0',
    ]);
    expect(dumpEventChannels(hv, 1).split('\n').at(-2)).toBe('    1024 [0/1/?     ]: s=6 n=0 x=0');
  });
});
