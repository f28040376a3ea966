/*
 * The user-space event-channel device, /dev/xen/evtchn, as the classic Xen Linux driver
 * (drivers/xen/evtchn.c of the xenlinux trees, the one the early Xen ARM port used) and its
 * library (libxenevtchn: xenevtchn_open, _bind_unbound_port, _bind_interdomain, _bind_virq,
 * _notify, _pending, _unmask, _unbind) present it (SPEC §7). Ports bound through the device
 * have no IRQ; the guest's upcall hands them to `EvtchnDevice.upcall(port)`
 * (`evtchn_device_upcall`), which masks the port, clears its pending bit and queues it on the
 * owner's ring. `pending` therefore returns a port that is already masked and cleared: the
 * caller handles it and unmasks it. A full ring sets an overflow flag that `pending` reports
 * (`-EFBIG`, as read(2) on the device does) until `reset`.
 */
import { DOMID_SELF, Errno, type AbiGuestOps, type EventChannelOps } from '@evtchn/core';

/** Ring entries per open handle: one page of 32-bit ports (`EVTCHN_RING_SIZE`). */
export const EVTCHN_RING_SIZE = 1024;

/** `EFBIG`: read(2) on the device after the ring overflowed. */
export const EFBIG = Errno.EFBIG;

/** `ENOTCONN`: the port is not bound through this handle. */
export const ENOTCONN = Errno.ENOTCONN;

/** What the device needs from the guest's event layer. */
export interface EvtchnDeviceHost {
  /** The guest half of the ABI (mask, clear, unmask, CPU binding). */
  readonly abi: AbiGuestOps;
  /** The CPU the code runs on now (the guest unmask path depends on it). */
  readonly currentCpu: number;
  /** The IRQ bound to `port`, or -1; ports with an IRQ cannot be taken by the device. */
  irqFromEvtchn(port: number): number;
}

/**
 * The device driver of one guest: which open handle owns each port (`port_user`), and the
 * upcall entry for ports that have no IRQ.
 */
export class EvtchnDevice {
  /** Ports with no owner that reached {@link EvtchnDevice.upcall} (masked and cleared, then dropped). */
  unowned = 0;

  private readonly portUser = new Map<number, EvtchnHandle>();

  /**
   * @param host - the guest's event layer
   * @param hypercalls - the guest's event-channel hypercalls
   * @param ringSize - ring entries per handle (a power of two; default {@link EVTCHN_RING_SIZE})
   */
  constructor(
    private readonly host: EvtchnDeviceHost,
    private hypercalls: EventChannelOps,
    readonly ringSize: number = EVTCHN_RING_SIZE,
  ) {
    if (!Number.isInteger(ringSize) || ringSize < 1 || (ringSize & (ringSize - 1)) !== 0)
      throw new RangeError(`guest-linux: evtchn ring size must be a power of two (got ${ringSize})`);
  }

  /**
   * The guest resumed in a new domain (see resume.ts): every port bound through the device
   * named a channel of the old domain and is forgotten; hypercalls go to the new domain. The
   * handles stay open with no ports (their rings keep what was queued); the programs owning
   * them bind again, e.g. from a `LinuxGuest.onResume` callback.
   */
  resume(hypercalls: EventChannelOps): void {
    this.hypercalls = hypercalls;
    for (const u of new Set(this.portUser.values())) u.forgetPorts();
    this.portUser.clear();
  }

  /** `xenevtchn_open`: a new handle with an empty ring. */
  open(): EvtchnHandle {
    return new EvtchnHandle(this, this.ringSize);
  }

  /** Whether a handle owns `port` (the upcall then routes the port here). */
  owns(port: number): boolean {
    return this.portUser.has(port);
  }

  /** The handle that owns `port`, if any. */
  owner(port: number): EvtchnHandle | undefined {
    return this.portUser.get(port);
  }

  /**
   * `evtchn_device_upcall(port)`: mask the port, clear its pending bit and queue it on its
   * owner's ring; a full ring records an overflow instead.
   */
  upcall(port: number): void {
    const abi = this.host.abi;
    abi.mask(port);
    abi.clearPending(port);
    const u = this.portUser.get(port);
    if (u === undefined) {
      this.unowned++;
      return;
    }
    u.push(port);
  }

  /** Hands a freshly bound port to `u`: ABI set-up on CPU 0, owner recorded, unmasked. */
  attach(u: EvtchnHandle, port: number): number {
    if (port < 0) return port;
    const abi = this.host.abi;
    if (this.host.irqFromEvtchn(port) !== -1 || this.portUser.has(port)) {
      this.hypercalls.close(port);
      return -Errno.EBUSY;
    }
    const rc = abi.setup(port);
    if (rc < 0) {
      this.hypercalls.close(port);
      return rc;
    }
    abi.bindToCpu(port, 0, 0);
    this.portUser.set(port, u);
    abi.unmask(port, this.host.currentCpu);
    return port;
  }

  /** Takes `port` from `u`: owner cleared, masked, ABI forgets it, EVTCHNOP_close. */
  detach(u: EvtchnHandle, port: number): number {
    if (this.portUser.get(port) !== u) return -ENOTCONN;
    this.portUser.delete(port);
    const abi = this.host.abi;
    abi.mask(port);
    abi.remove(port, 0);
    this.hypercalls.close(port);
    return 0;
  }

  /** EVTCHNOP_send on a port `u` owns. */
  notify(u: EvtchnHandle, port: number): number {
    if (this.portUser.get(port) !== u) return -ENOTCONN;
    return this.hypercalls.send(port);
  }

  /**
   * Unmasks a port `u` owns. A port it does not own is skipped and the write still succeeds,
   * as Linux's `evtchn_write` does (only `notify` and `unbind` answer `-ENOTCONN`).
   */
  unmask(u: EvtchnHandle, port: number): number {
    if (this.portUser.get(port) !== u) return 0;
    this.host.abi.unmask(port, this.host.currentCpu);
    return 0;
  }

  /** EVTCHNOP_alloc_unbound for a peer. */
  allocUnbound(remoteDomid: number): number {
    return this.hypercalls.allocUnbound(DOMID_SELF, remoteDomid);
  }

  /** EVTCHNOP_bind_interdomain. */
  bindInterdomain(remoteDomid: number, remotePort: number): number {
    return this.hypercalls.bindInterdomain(remoteDomid, remotePort);
  }

  /** EVTCHNOP_bind_virq on vCPU 0. */
  bindVirq(virq: number): number {
    return this.hypercalls.bindVirq(virq, 0);
  }
}

/**
 * One open of the device (`xenevtchn_handle`): the ports it bound and its ring of ports that
 * fired. Methods return a port or 0 on success and a negative errno on failure.
 */
export class EvtchnHandle {
  /** Set when a port fired while the ring was full; `pending` reports `-EFBIG` until `reset`. */
  overflow = false;

  private readonly ring: Uint32Array;
  private prod = 0;
  private cons = 0;
  private readonly ports = new Set<number>();

  /**
   * @param device - the device this handle was opened on
   * @param ringSize - ring entries (a power of two)
   */
  constructor(
    private readonly device: EvtchnDevice,
    ringSize: number,
  ) {
    this.ring = new Uint32Array(ringSize);
  }

  /** Ports waiting in the ring. */
  get queued(): number {
    return this.prod - this.cons;
  }

  /** Ports this handle has bound, ascending. */
  boundPorts(): number[] {
    return [...this.ports].sort((a, b) => a - b);
  }

  /** `xenevtchn_bind_unbound_port`: a new port `remoteDomid` may bind to. @returns the port or -errno */
  bindUnboundPort(remoteDomid: number): number {
    return this.track(this.device.attach(this, this.device.allocUnbound(remoteDomid)));
  }

  /** `xenevtchn_bind_interdomain`: connects to `remotePort` of `remoteDomid`. @returns the local port or -errno */
  bindInterdomain(remoteDomid: number, remotePort: number): number {
    return this.track(this.device.attach(this, this.device.bindInterdomain(remoteDomid, remotePort)));
  }

  /** `xenevtchn_bind_virq`: binds `virq` on vCPU 0. @returns the port or -errno */
  bindVirq(virq: number): number {
    return this.track(this.device.attach(this, this.device.bindVirq(virq)));
  }

  /** `xenevtchn_notify`: EVTCHNOP_send. @returns 0, `-ENOTCONN` for a port this handle does not own, or the send's error */
  notify(port: number): number {
    return this.device.notify(this, port);
  }

  /**
   * `xenevtchn_pending`: the next port that fired. It is already masked and its pending bit
   * cleared; the caller unmasks it when done.
   * @returns the port, `-EAGAIN` when none is queued, `-EFBIG` after an overflow
   */
  pending(): number {
    if (this.overflow) return -EFBIG;
    if (this.prod === this.cons) return -Errno.EAGAIN;
    const port = this.ring[this.cons & (this.ring.length - 1)]!;
    this.cons++;
    return port;
  }

  /**
   * `xenevtchn_unmask` (a `write` of the port to the device). @returns 0, also for a port this
   * handle does not own, which is left alone (Linux `evtchn_write`)
   */
  unmask(port: number): number {
    return this.device.unmask(this, port);
  }

  /** `xenevtchn_unbind`: masks and closes the port. @returns 0 or `-ENOTCONN` */
  unbind(port: number): number {
    const rc = this.device.detach(this, port);
    if (rc === 0) this.ports.delete(port);
    return rc;
  }

  /** IOCTL_EVTCHN_RESET: empties the ring and clears the overflow. */
  reset(): void {
    this.prod = 0;
    this.cons = 0;
    this.overflow = false;
  }

  /** `xenevtchn_close`: unbinds every port of the handle. */
  close(): void {
    for (const port of [...this.ports]) this.unbind(port);
    this.reset();
  }

  /** Forgets every port of the handle without closing it (the device's `resume`). */
  forgetPorts(): void {
    this.ports.clear();
  }

  /** Queues a port that fired, or records the overflow. */
  push(port: number): void {
    if (this.prod - this.cons >= this.ring.length) {
      this.overflow = true;
      return;
    }
    this.ring[this.prod & (this.ring.length - 1)] = port;
    this.prod++;
  }

  private track(port: number): number {
    if (port > 0) this.ports.add(port);
    return port;
  }
}
