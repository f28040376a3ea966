/*
 * Platform snapshots at the library level (createPlatform, not a Simulation): a platform saved
 * with events pending and entries armed, restored into a new platform whose drivers were bound
 * again, behaves exactly like the original from then on; a plugin without the snapshot hook
 * makes the snapshot fail naming it; a broken snapshot fails naming the field, and nothing
 * half-restored is handed back.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { archArm } from '@evtchn/arch-arm';
import { archX86 } from '@evtchn/arch-x86';
import {
  SnapshotError,
  archNull,
  createPlatform,
  definePlugin,
  lsevtchn,
  restorePlatform,
  snapshotPlatform,
  NullArchitecture,
  type JsonValue,
  type Platform,
  type PlatformConfig,
} from '@evtchn/core';
import { IRQ_HANDLED, LinuxGuest, guestLinux } from '@evtchn/guest-linux';
import { describe, expect, it } from 'vitest';

const guest = (p: Platform, id: number): LinuxGuest => p.domain(id).guest as LinuxGuest;

function config(arch: 'x86' | 'arm', fifo: boolean): PlatformConfig {
  return {
    arch: arch === 'x86' ? archX86({ nrPcpus: 2 }) : archArm({ nrPcpus: 2 }),
    abis: [abi2Level(), abiFifo()],
    guest: guestLinux({ fifo }),
    domains: [
      { id: 0, vcpus: 2 },
      { id: 1, vcpus: 2 },
    ],
    ...(arch === 'arm' && { scheduler: { pcpus: 2 } }),
  };
}

/** The program's bindings: a device channel (frontend 1, backend 0) whose handlers log into `log`. */
function bindDrivers(p: Platform, log: string[]): { fePort: number; bePort: number } {
  const fePort = p.hypervisor.evtchn(1).allocUnbound(1, 0);
  guest(p, 1).bindEvtchnToIrqhandler(fePort, (irq) => (log.push(`fe irq${irq} @${p.runner.now()}`), IRQ_HANDLED), 0, 'fe', null);
  const beIrq = guest(p, 0).bindInterdomainEvtchnToIrqhandler(1, fePort, (irq) => (log.push(`be irq${irq} @${p.runner.now()}`), IRQ_HANDLED), 0, 'be', null);
  return { fePort, bePort: guest(p, 0).evtchnFromIrq(beIrq) };
}

function traffic(p: Platform, ports: { fePort: number; bePort: number }): void {
  for (let i = 0; i < 3; i++) {
    p.hypervisor.evtchn(0).send(ports.bePort);
    p.hypervisor.evtchn(1).send(ports.fePort);
    p.run(i === 2 ? 700 : 6000);
  }
}

describe('platform snapshots (snapshotPlatform / restorePlatform)', () => {
  for (const arch of ['x86', 'arm'] as const)
    for (const fifo of [false, true])
      it(`${arch}, ${fifo ? 'fifo' : '2level'}: the restored platform continues exactly as the original`, () => {
        const logA: string[] = [];
        const a = createPlatform(config(arch, fifo));
        const ports = bindDrivers(a, logA);
        traffic(a, ports);
        // Something is in flight at the snapshot: a send whose entry is armed, not yet taken.
        a.hypervisor.evtchn(0).send(ports.bePort);
        expect(a.clock.nextDue?.()).toBeGreaterThan(a.clock.now());
        const text = JSON.stringify(snapshotPlatform(a));

        const logB: string[] = [];
        const b = restorePlatform(config(arch, fifo), JSON.parse(text) as JsonValue, (p) => void bindDrivers(p, logB));
        expect(JSON.stringify(snapshotPlatform(b))).toBe(text);
        logA.length = 0;
        for (let round = 0; round < 4; round++) {
          traffic(a, ports);
          traffic(b, ports);
          // Past a few scheduler slices on Arm (1 ms each: descheduled vCPUs take their events later).
          a.run(1_000_000);
          b.run(1_000_000);
        }
        expect(logB).toEqual(logA);
        expect(logA.length).toBeGreaterThan(5);
        for (const id of [0, 1]) expect(lsevtchn(b.hypervisor, id)).toBe(lsevtchn(a.hypervisor, id));
        expect(guest(b, 0).procInterrupts()).toBe(guest(a, 0).procInterrupts());
      });

  it('a plugin without the snapshot hook makes the snapshot fail, naming the plugin', () => {
    class Hookless extends NullArchitecture {
      override getState = undefined as unknown as NullArchitecture['getState'];
    }
    const p = createPlatform({
      arch: definePlugin({ name: 'arch-hookless', kind: 'arch', provide: { useValue: new Hookless({ name: 'hookless' }) } }),
      abis: [abi2Level()],
      domains: [{ id: 0 }],
    });
    expect(() => snapshotPlatform(p)).toThrow(/architecture plugin 'arch-hookless' \(hookless\) has no getState\(\)\/setState\(\): a platform using it cannot be snapshotted/);
    // The built-in null architecture has it.
    const q = createPlatform({ arch: archNull(), abis: [abi2Level()], domains: [{ id: 0 }] });
    expect((snapshotPlatform(q) as unknown as { format: string }).format).toBe('evtchn-lab/platform');
  });

  it('a broken snapshot fails naming the field and hands back no platform', () => {
    const a = createPlatform(config('x86', true));
    bindDrivers(a, []);
    const good = snapshotPlatform(a) as unknown as Record<string, any>;
    const cases: Array<[(d: Record<string, any>) => void, string]> = [
      [(d) => (d.version = 9), 'version'],
      [(d) => (d.hypervisor.domains[0].ports.remoteDom = 'x'), 'hypervisor.domains[0].ports.remoteDom'],
      [(d) => (d.hypervisor.domains[1].abi = '2level'), 'hypervisor.domains[1].abi'],
      [(d) => (d.guests[1].irqs[0].info.port = 999), 'guests[1].irqs[0].info.port'],
      // Stored as a byte and an int32 in the guest's IRQ table: out of range is refused, not wrapped.
      [(d) => (d.guests[1].irqs[0].info.isActive = 256), 'guests[1].irqs[0].info.isActive'],
      [(d) => (d.guests[1].irqs[0].status = 2 ** 31), 'guests[1].irqs[0].status'],
      [(d) => (d.runner[1].timers = [null]), 'runner[1].timers'],
      [(d) => (d.arch.domains[0].mode = 'pv'), 'arch.domains[0].mode'],
    ];
    for (const [edit, path] of cases) {
      const doc = structuredClone(good);
      edit(doc);
      let restored: Platform | undefined;
      let error: unknown;
      try {
        restored = restorePlatform(config('x86', true), doc as JsonValue, (p) => void bindDrivers(p, []));
      } catch (e) {
        error = e;
      }
      expect(restored, path).toBeUndefined();
      expect(error, path).toBeInstanceOf(SnapshotError);
      expect((error as SnapshotError).path, path).toBe(path);
    }
  });
});
