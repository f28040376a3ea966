import { describe, expect, it } from 'vitest';
import { DOMU, RUN_NS, TICK_NS, VCPUS, formatDemo, runMigrationDemo } from './migrate.js';

describe('examples/migrate', () => {
  const d = runMigrationDemo();

  it('prints the before/after lsevtchn views: same bindings, new ports, on the same vCPUs', () => {
    expect(d.before).toBe(
      [
        '   1: VCPU 0: Virtual IRQ 0',
        '   2: VCPU 1: Virtual IRQ 0',
        '   3: VCPU 0: IPI',
        '   4: VCPU 1: IPI',
        '   5: VCPU 0: Interdomain (Connected) - Remote Domain 0, Port 1',
        '',
      ].join('\n'),
    );
    // xen_irq_resume rebinds CPU by CPU, then the frontend driver connects to B's dom0.
    expect(d.after).toBe(
      [
        '   1: VCPU 0: Virtual IRQ 0',
        '   2: VCPU 0: IPI',
        '   3: VCPU 1: Virtual IRQ 0',
        '   4: VCPU 1: IPI',
        '   5: VCPU 0: Interdomain (Connected) - Remote Domain 0, Port 2',
        '',
      ].join('\n'),
    );
    expect(d.oldBackendBefore).toBe(`   1: VCPU 0: Interdomain (Connected) - Remote Domain ${DOMU}, Port 5\n`);
    expect(d.abiAfter).toBe('fifo');
    expect(d.pagesCopied).toBe(VCPUS + 1); // a control block per vCPU and one event-array page
  });

  it('keeps delivering timers and IPIs on their own vCPUs on both platforms', () => {
    for (const c of d.phases) {
      expect(c.ticksOnWrongVcpu).toBe(0);
      for (const n of c.ticks) expect(n).toBeGreaterThanOrEqual(Math.floor((RUN_NS - 1_000_000) / TICK_NS) - 1);
      expect(c.ipis).toEqual(new Array(VCPUS).fill(1));
    }
  });

  it('re-establishes the ring through its driver: events flow both ways on B', () => {
    expect(d.phases[0].ring).toEqual({ front: 3, back: 3 });
    expect(d.phases[1].ring).toEqual({ front: 3, back: 3 });
  });

  it("loses the kick in flight and leaves A's backend a port waiting for the dead domain", () => {
    expect(d.inFlightLost).toBe(true);
    expect(d.oldBackendStatus).toMatchObject({ status: 'unbound', dom: DOMU });
    expect(d.oldBackendSendRc).toBe(0);
    expect(d.oldBackendAfter).toMatch(new RegExp(`Interdomain \\(Waiting connection\\) - Remote Domain ${DOMU}\\n$`));
  });

  it('formats the printout', () => {
    const text = formatDemo(d);
    expect(text).toContain('== platform A, before the move: lsevtchn 1');
    expect(text).toContain('== platform B, after the move: lsevtchn 1 (ABI fifo');
    expect(text).toContain('a kick in flight was lost');
  });
});
