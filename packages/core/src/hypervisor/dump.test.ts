/*
 * The two text views (Xen's 'e' debug key and lsevtchn) against a stand-in ABI whose pending,
 * masked and print-state columns the test controls, so every field of the format is checked.
 */
import { describe, expect, it } from 'vitest';
import type { AbiHypervisorOps, EventAbi } from '../contracts/abi.js';
import { Errno, XenError } from '../errno.js';
import { DOMID_SELF, VIRQ } from '../xen.js';
import { dumpEventChannels, lsevtchn } from './dump.js';
import { Hypervisor } from './hypervisor.js';
import { nullArchitecture } from './null-arch.js';

/** An ABI that only remembers what it is told; its state column is `#<port mod 7>`. */
class RecordingAbiSide implements AbiHypervisorOps {
  readonly name = 'recording';
  readonly maxPorts = 131072;
  readonly pending = new Set<number>();
  readonly masked = new Set<number>();
  init(): void {}
  setPending(_vcpu: number, port: number): void {
    this.pending.add(port);
  }
  clearPending(port: number): void {
    this.pending.delete(port);
  }
  unmask(port: number): void {
    this.masked.delete(port);
  }
  isPending(port: number): boolean {
    return this.pending.has(port);
  }
  isMasked(port: number): boolean {
    return this.masked.has(port);
  }
  printState(port: number): string {
    return `#${port % 7}`;
  }
}

const recordingAbi: EventAbi = {
  name: 'recording',
  maxPorts: () => 131072,
  createHypervisorSide: () => new RecordingAbiSide(),
  createGuestSide: () => {
    throw new Error('no guest side');
  },
};

function scenario(): { hv: Hypervisor; abi1: RecordingAbiSide } {
  const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [recordingAbi] });
  hv.createDomain({ id: 0, vcpus: 2 });
  hv.createDomain({ id: 1, vcpus: 2, pirqs: [5] });
  hv.createDomain({ id: 2 });
  const d1 = hv.evtchn(1);
  expect(d1.allocUnbound(DOMID_SELF, 0)).toBe(1);
  expect(d1.allocUnbound(DOMID_SELF, 2)).toBe(2);
  expect(hv.evtchn(2).bindInterdomain(1, 2)).toBe(1);
  expect(d1.bindPirq(5, 0)).toBe(3);
  expect(d1.bindVirq(VIRQ.DEBUG, 1)).toBe(4);
  expect(d1.bindIpi(1)).toBe(5);
  expect(d1.bindIpi(0)).toBe(6);
  expect(d1.bindIpi(0)).toBe(7);
  expect(d1.close(6)).toBe(0);
  expect(d1.bindVcpu(1, 1)).toBe(0);
  const abi1 = hv.domain(1)!.abi as RecordingAbiSide;
  abi1.masked.add(1);
  abi1.masked.add(6); // FREE ports are not listed, whatever their bits
  expect(d1.send(5)).toBe(0);
  hv.domain(1)!.channels.xenConsumer[7] = 3;
  return { hv, abi1 };
}

describe('dumpEventChannels', () => {
  it('prints the header, then every non-FREE port from 1 with state, notify vCPU, consumer and details', () => {
    const { hv } = scenario();
    expect(dumpEventChannels(hv, 1)).toBe(
      [
        'Event channel information for domain 1:',
        'Polling vCPUs: {}',
        '    port [p/m/s]',
        '       1 [0/1/#1]: s=2 n=1 x=0 d=0',
        '       2 [0/0/#2]: s=3 n=0 x=0 d=2 p=1',
        '       3 [0/0/#3]: s=4 n=0 x=0 p=5 i=5',
        '       4 [0/0/#4]: s=5 n=1 x=0 v=1',
        '       5 [1/0/#5]: s=6 n=1 x=0',
        '       7 [0/0/#0]: s=6 n=0 x=3',
        '',
      ].join('\n'),
    );
    expect(dumpEventChannels(hv, 2)).toBe(
      'Event channel information for domain 2:\nPolling vCPUs: {}\n    port [p/m/s]\n       1 [1/0/#1]: s=3 n=0 x=0 d=1 p=2\n',
    );
  });

  it('lists nothing but the header for a domain with no bound port (port 0 is never listed)', () => {
    const { hv } = scenario();
    expect(dumpEventChannels(hv, 0)).toBe('Event channel information for domain 0:\nPolling vCPUs: {}\n    port [p/m/s]\n');
  });

  it('right-aligns ports in four columns and lets wider ones grow', () => {
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [recordingAbi] });
    hv.createDomain({ id: 0 });
    for (let p = 1; p <= 10000; p++) expect(hv.evtchn(0).bindIpi(0)).toBe(p);
    for (let p = 1; p < 10000; p++) if (![9, 10, 999, 1000].includes(p)) expect(hv.evtchn(0).close(p)).toBe(0);
    expect(dumpEventChannels(hv, 0).split('\n').slice(3)).toEqual([
      '       9 [0/0/#2]: s=6 n=0 x=0',
      '      10 [0/0/#3]: s=6 n=0 x=0',
      '     999 [0/0/#5]: s=6 n=0 x=0',
      '    1000 [0/0/#6]: s=6 n=0 x=0',
      '    10000 [0/0/#4]: s=6 n=0 x=0',
      '',
    ]);
  });

  it('throws XenError -ESRCH for a missing domain', () => {
    const { hv } = scenario();
    expect(() => dumpEventChannels(hv, 9)).toThrow(XenError);
    try {
      dumpEventChannels(hv, 9);
    } catch (e) {
      expect((e as XenError).errno).toBe(Errno.ESRCH);
    }
  });
});

describe('lsevtchn', () => {
  it('prints one line per open port as the privileged toolstack sees it', () => {
    const { hv } = scenario();
    expect(lsevtchn(hv, 1)).toBe(
      [
        '   1: VCPU 1: Interdomain (Waiting connection) - Remote Domain 0',
        '   2: VCPU 0: Interdomain (Connected) - Remote Domain 2, Port 1',
        '   3: VCPU 0: Physical IRQ 5',
        '   4: VCPU 1: Virtual IRQ 1',
        '   5: VCPU 1: IPI',
        '   7: VCPU 0: IPI',
        '',
      ].join('\n'),
    );
    expect(lsevtchn(hv, 2)).toBe('   1: VCPU 0: Interdomain (Connected) - Remote Domain 1, Port 2\n');
    expect(lsevtchn(hv, 0)).toBe('');
  });

  it('continues past the first bucket while EVTCHNOP_status answers, and stops at the first invalid port', () => {
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [recordingAbi] });
    hv.createDomain({ id: 0 });
    hv.createDomain({ id: 4 });
    for (let p = 1; p <= 64; p++) expect(hv.evtchn(4).bindIpi(0)).toBe(p);
    for (let p = 2; p < 64; p++) expect(hv.evtchn(4).close(p)).toBe(0);
    expect(lsevtchn(hv, 4)).toBe('   1: VCPU 0: IPI\n  64: VCPU 0: IPI\n');
  });

  it('shows nothing when the caller may not ask or the domain does not exist', () => {
    const { hv } = scenario();
    expect(lsevtchn(hv, 1, { caller: 2 })).toBe('');
    expect(lsevtchn(hv, 9)).toBe('');
    expect(lsevtchn(hv, 1, { caller: 9 })).toBe('');
    // The domain itself may list its own ports.
    expect(lsevtchn(hv, 2, { caller: 2 })).toBe('   1: VCPU 0: Interdomain (Connected) - Remote Domain 1, Port 2\n');
  });

  it('without a privileged domain, a domain lists itself', () => {
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [recordingAbi] });
    hv.createDomain({ id: 3 });
    expect(hv.evtchn(3).bindIpi(0)).toBe(1);
    expect(lsevtchn(hv, 3)).toBe('   1: VCPU 0: IPI\n');
  });
});
