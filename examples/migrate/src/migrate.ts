/*
 * Live migration of a Linux guest between two x86 platforms, as `xl migrate` moves a PV guest:
 * the guest runs the FIFO ABI with a periodic VIRQ_TIMER on each vCPU, a CALL_FUNCTION IPI per
 * vCPU and an interdomain ring to a backend in dom0. It is moved from platform A to platform B;
 * the destination starts it with fresh event-channel state, Linux's `xen_irq_resume` rebinds
 * the timers and IPIs on their vCPUs (new ports, same IRQs), and the ring's frontend driver
 * connects again to B's backend from its resume callback. A's backend is left with a port
 * waiting for the dead domain, which its driver then closes.
 */
import 'reflect-metadata';
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { archX86 } from '@evtchn/arch-x86';
import { DOMID_SELF, VIRQ, createPlatform, lsevtchn, migrateDomain, type EvtchnStatus, type Platform, type TimerId } from '@evtchn/core';
import { IRQF_PERCPU, IRQ_HANDLED, XenIpi, guestLinux, type LinuxGuest } from '@evtchn/guest-linux';

/** The migrated guest's domain id. */
export const DOMU = 1;
/** vCPUs of the guest. */
export const VCPUS = 2;
/** Period of each vCPU's timer tick (4 ms: HZ 250). */
export const TICK_NS = 4_000_000;
/** Virtual time each platform runs the guest for, before and after the move. */
export const RUN_NS = 40_000_000;

/** A platform with dom0 and one guest: the one to move on A, another one (domain 2) on B. */
function platform(guestId: number): Platform {
  return createPlatform({
    arch: archX86({ nrPcpus: 2 }),
    abis: [abi2Level(), abiFifo()],
    guest: guestLinux({ fifo: true }),
    domains: [
      { id: 0, vcpus: 2 },
      { id: guestId, vcpus: VCPUS },
    ],
  });
}

/**
 * The hypervisor's per-vCPU timers of one domain (Xen's singleshot timers a Linux guest keeps
 * re-arming): VIRQ_TIMER on each vCPU every {@link TICK_NS}. Timer state is hypervisor state,
 * not guest memory: after the move the guest programs B's timers (`xen_timer_resume`).
 */
class VcpuTimers {
  private readonly ids: TimerId[] = [];
  constructor(private readonly p: Platform) {
    for (let vcpu = 0; vcpu < VCPUS; vcpu++) this.arm(vcpu);
  }
  private arm(vcpu: number): void {
    this.ids[vcpu] = this.p.clock.at(this.p.clock.now() + TICK_NS, () => {
      this.p.hypervisor.raiseVirq(DOMU, VIRQ.TIMER, vcpu);
      this.arm(vcpu);
    });
  }
  stop(): void {
    for (const id of this.ids) this.p.clock.cancel(id);
  }
}

/**
 * A split device: the frontend in the guest offers a port to the backend domain, the backend in
 * dom0 binds it. The frontend's resume callback (a xenbus frontend's `resume`) frees its old IRQ,
 * which has no port any more, and connects again to the backend of the platform it now runs on.
 */
export class Ring {
  /** The frontend's IRQ. */
  frontIrq = -1;
  /** The backend's IRQ. */
  backIrq = -1;
  /** Notifications the frontend handled. */
  frontRuns = 0;
  /** Notifications the backend handled. */
  backRuns = 0;
  /** The backend guest (dom0 of the platform the frontend runs on). */
  back: LinuxGuest;

  /**
   * @param front - the guest running the frontend
   * @param where - the platform it runs on now (its dom0 runs the backend)
   */
  constructor(
    private readonly front: LinuxGuest,
    private where: Platform,
  ) {
    this.back = where.domain(0).guest as LinuxGuest;
    this.connect();
    front.onResume(() => {
      front.unbindFromIrqhandler(this.frontIrq, this);
      this.connect();
    });
  }

  /** Tells the driver where the guest runs next (the toolstack's xenstore does this). */
  moveTo(p: Platform): LinuxGuest {
    const old = this.back;
    this.where = p;
    this.back = p.domain(0).guest as LinuxGuest;
    return old;
  }

  private connect(): void {
    const port = this.where.hypervisor.evtchn(this.front.domid).allocUnbound(DOMID_SELF, 0);
    this.frontIrq = this.front.bindEvtchnToIrqhandler(port, () => (this.frontRuns++, IRQ_HANDLED), 0, 'ring-front', this);
    this.backIrq = this.back.bindInterdomainEvtchnToIrqhandler(this.front.domid, port, () => (this.backRuns++, IRQ_HANDLED), 0, 'ring-back', this);
    if (this.frontIrq < 0 || this.backIrq < 0) throw new Error(`ring: connect failed (${this.frontIrq}, ${this.backIrq})`);
  }

  /** The frontend kicks the backend. @returns EVTCHNOP_send's result */
  kickBack(): number {
    return this.front.notifyRemoteViaIrq(this.frontIrq);
  }

  /** The backend kicks the frontend. @returns EVTCHNOP_send's result */
  kickFront(): number {
    return this.back.notifyRemoteViaIrq(this.backIrq);
  }
}

/** Counts of one phase (on A before the move, on B after). */
export interface PhaseCounts {
  /** Timer ticks handled per vCPU. */
  ticks: number[];
  /** Ticks handled on a vCPU other than the one the VIRQ was bound on. */
  ticksOnWrongVcpu: number;
  /** CALL_FUNCTION IPIs handled per vCPU. */
  ipis: number[];
  /** Ring notifications handled by the frontend and the backend. */
  ring: { front: number; back: number };
}

/** Everything the example shows. */
export interface MigrationDemo {
  /** `lsevtchn 1` on A before the move. */
  before: string;
  /** `lsevtchn 1` on B after the move. */
  after: string;
  /** `lsevtchn 0` on A before the move (the backend). */
  oldBackendBefore: string;
  /** `lsevtchn 0` on A after the move, before the old backend's driver closed its end. */
  oldBackendAfter: string;
  /** The old backend's port after the move, as EVTCHNOP_status reports it. */
  oldBackendStatus: EvtchnStatus;
  /** What A's backend got from EVTCHNOP_send on its old port after the move. */
  oldBackendSendRc: number;
  /** The event-channel ABI of the domain on B. */
  abiAfter: string;
  /** The guest's timer IRQs, the same on both sides. */
  timerIrqs: number[];
  /** Guest pages copied. */
  pagesCopied: number;
  /** Counts before and after the move. */
  phases: [PhaseCounts, PhaseCounts];
  /** A kick sent to the frontend just before the move and never handled (lost with A's domain). */
  inFlightLost: boolean;
}

/** Runs the example. */
export function runMigrationDemo(): MigrationDemo {
  const a = platform(DOMU);
  const b = platform(2);
  // B's dom0 already serves a ring of its own guest: the moved guest's ring gets dom0 port 2 there.
  new Ring(b.domain(2).guest as LinuxGuest, b);
  const guest = a.domain(DOMU).guest as LinuxGuest;
  let phase = 0;
  const counts: [PhaseCounts, PhaseCounts] = [0, 1].map(() => ({
    ticks: new Array<number>(VCPUS).fill(0),
    ticksOnWrongVcpu: 0,
    ipis: new Array<number>(VCPUS).fill(0),
    ring: { front: 0, back: 0 },
  })) as [PhaseCounts, PhaseCounts];
  // Timers first, then IPIs: on A the ports follow this order; the resume on B rebinds CPU by
  // CPU (VIRQs, then IPIs), so the same IRQs get other port numbers there.
  const timerIrqs: number[] = [];
  for (let cpu = 0; cpu < VCPUS; cpu++) {
    const onTick = (): number => {
      const c = counts[phase]!;
      c.ticks[cpu]!++;
      if (guest.currentCpu !== cpu) c.ticksOnWrongVcpu++;
      return IRQ_HANDLED;
    };
    timerIrqs.push(guest.bindVirqToIrqhandler(VIRQ.TIMER, cpu, onTick, IRQF_PERCPU, `timer${cpu}`, null));
  }
  for (let cpu = 0; cpu < VCPUS; cpu++) {
    const onCall = (): number => (counts[phase]!.ipis[guest.currentCpu]!++, IRQ_HANDLED);
    guest.bindIpiToIrqhandler(XenIpi.CALL_FUNCTION, cpu, onCall, 0, `callfunction${cpu}`, null);
  }
  const ring = new Ring(guest, a);

  /** One phase of work: ticks run, each vCPU gets an IPI, three kicks each way. */
  const work = (p: Platform): void => {
    const ringBefore = [ring.frontRuns, ring.backRuns];
    for (let i = 0; i < 3; i++) {
      ring.kickBack();
      p.run(1_000_000);
      ring.kickFront();
      p.run(1_000_000);
    }
    for (let cpu = 0; cpu < VCPUS; cpu++) guest.sendIpi(cpu, XenIpi.CALL_FUNCTION);
    p.run(RUN_NS - 6_000_000);
    counts[phase]!.ring = { front: ring.frontRuns - ringBefore[0]!, back: ring.backRuns - ringBefore[1]! };
  };

  const timersA = new VcpuTimers(a);
  a.run(1_000_000); // the ring's first binding leaves the backend's port pending once
  work(a);
  const before = lsevtchn(a.hypervisor, DOMU);
  const oldBackendBefore = lsevtchn(a.hypervisor, 0);
  // A kick sent as the guest is being suspended: pending on A, never taken.
  const frontRunsBeforeMove = ring.frontRuns;
  ring.kickFront();

  timersA.stop();
  const oldBack = ring.moveTo(b);
  const oldBackIrq = ring.backIrq;
  const oldBackPort = oldBack.evtchnFromIrq(oldBackIrq);
  const moved = migrateDomain(a, DOMU, b);
  const inFlightLost = ring.frontRuns === frontRunsBeforeMove;
  phase = 1;

  // A's backend: its port now waits for a domain that is gone; a send there is dropped.
  const oldBackendStatus: EvtchnStatus = { status: 'closed', vcpu: 0 };
  a.hypervisor.evtchn(0).status(DOMID_SELF, oldBackPort, oldBackendStatus);
  const oldBackendSendRc = oldBack.notifyRemoteViaIrq(oldBackIrq);
  const oldBackendAfter = lsevtchn(a.hypervisor, 0);
  oldBack.unbindFromIrqhandler(oldBackIrq, ring); // its driver sees the frontend gone and closes

  const timersB = new VcpuTimers(b);
  b.run(1_000_000);
  work(b);
  timersB.stop();
  return {
    before,
    after: lsevtchn(b.hypervisor, DOMU),
    oldBackendBefore,
    oldBackendAfter,
    oldBackendStatus,
    oldBackendSendRc,
    abiAfter: b.domain(DOMU).domain.abi.name,
    timerIrqs,
    pagesCopied: moved.pagesCopied,
    phases: counts,
    inFlightLost,
  };
}

/** The example's printout. */
export function formatDemo(d: MigrationDemo): string {
  const phase = (name: string, c: PhaseCounts): string =>
    `${name}: timer ticks per vCPU ${c.ticks.join('/')} (on a wrong vCPU: ${c.ticksOnWrongVcpu}), ` +
    `IPIs per vCPU ${c.ipis.join('/')}, ring kicks handled front ${c.ring.front} back ${c.ring.back}`;
  return [
    `== platform A, before the move: lsevtchn ${DOMU}`,
    d.before.trimEnd(),
    `== platform A: lsevtchn 0 (the backend)`,
    d.oldBackendBefore.trimEnd(),
    phase('on A', d.phases[0]),
    '',
    `-- migrate domain ${DOMU} from A to B (${d.pagesCopied} guest pages copied; a kick in flight ${d.inFlightLost ? 'was lost' : 'arrived'})`,
    '',
    `== platform B, after the move: lsevtchn ${DOMU} (ABI ${d.abiAfter}; timer IRQs still ${d.timerIrqs.join(', ')})`,
    d.after.trimEnd(),
    `== platform A: lsevtchn 0 (the old backend's end, before its driver closed it; a send on it returned ${d.oldBackendSendRc})`,
    d.oldBackendAfter.trimEnd(),
    phase('on B', d.phases[1]),
  ].join('\n');
}
