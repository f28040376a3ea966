/*
 * Domain migration between two platforms, as Xen's toolstack moves a PV guest (`xl migrate`:
 * libxl/libxc save on the source host, restore on the destination host):
 * 1. the guest suspends itself and the source toolstack pauses it;
 * 2. its memory is saved verbatim (every page, so the guest kernel's own tables — Linux's
 *    irq_info, IRQ descriptors, FIFO control blocks — come along);
 * 3. the domain is destroyed on the source: every port is closed, so each interdomain peer's
 *    port turns UNBOUND pointing at the dead domain id (sends on it are dropped, returning 0);
 * 4. the destination creates the domain with fresh event-channel state (no ports, a new
 *    shared-info page, the base ABI), loads the memory image, and the guest runs its resume
 *    path there (`GuestOs.resume`: Linux's `xen_irq_resume`), which rebinds what the kernel
 *    owns (VIRQs, IPIs, GSI pirqs) and leaves interdomain channels to their drivers;
 * 5. the domain runs on the destination (a real restore unpauses it here; the platform creates
 *    domains running).
 * Everything happens at one instant of each platform's virtual clock.
 */
import type { GuestOs } from '../contracts/guest.js';
import { Errno, XenError } from '../errno.js';
import { GuestMemory } from '../hypervisor/memory.js';
import type { DomainConfig, Platform, PlatformDomain } from './platform.js';

/** Options of {@link migrateDomain}. */
export interface MigrateOptions {
  /**
   * Changes to the domain's configuration on the destination (default: the source's, same id).
   * `pirqs` is the destination toolstack's grant list: a pirq the guest had is restored only
   * if it is granted (and exists) there.
   */
  config?: Partial<DomainConfig>;
}

/** What {@link migrateDomain} did. */
export interface MigrationResult {
  /** The domain on the destination platform. */
  readonly domain: PlatformDomain;
  /** The guest that moved (the same object that ran on the source). */
  readonly guest: GuestOs;
  /** Guest pages copied (pages that held memory on the source). */
  readonly pagesCopied: number;
}

/**
 * Moves domain `domid` from `source` to `destination` (see the module comment for the steps).
 * The guest layer must implement `GuestOs.resume`; the destination must offer the guest's
 * event ABI (a FIFO guest registers its control blocks again there).
 * @throws XenError `-ESRCH` when the source has no such domain, `-EOPNOTSUPP` when it has no
 *   guest, its guest layer cannot resume or the destination does not offer its ABI, `-EEXIST` when the destination already has the id
 *   (nothing is changed in those cases). An error from the guest's resume destroys the half-made
 *   destination domain and is rethrown; the source domain is gone by then, as after a failed
 *   real migration past its point of no return.
 */
export function migrateDomain(source: Platform, domid: number, destination: Platform, options: MigrateOptions = {}): MigrationResult {
  const pd = source.domains.get(domid);
  if (!pd) throw new XenError('migrateDomain', Errno.ESRCH, `the source platform has no domain ${domid}`);
  const guest = pd.guest;
  if (!guest) throw new XenError('migrateDomain', Errno.EOPNOTSUPP, `domain ${domid} has no guest to move`);
  if (!guest.resume) throw new XenError('migrateDomain', Errno.EOPNOTSUPP, `guest layer '${guest.name}' of domain ${domid} has no resume path`);
  if (!destination.abis.some((a) => a.name === guest.abiName))
    throw new XenError('migrateDomain', Errno.EOPNOTSUPP, `the destination does not offer the '${guest.abiName}' ABI domain ${domid} uses`);
  const config: DomainConfig = { ...pd.config, ...options.config };
  if (destination.domains.has(config.id) || destination.hypervisor.domain(config.id))
    throw new XenError('migrateDomain', Errno.EEXIST, `the destination already has a domain ${config.id}`);

  // 1. Suspend: the guest quiesces, the toolstack pauses it and its vCPUs stop taking interrupts.
  guest.suspend?.();
  source.hypervisor.pause(domid);
  source.runner.stop(domid);
  // 2. Save: a verbatim copy of guest memory (taken before destruction, which writes to it).
  const image = new GuestMemory(pd.domain.memory.memPages);
  image.loadImage(pd.domain.memory);
  // 3. Destroy on the source: peers see their ports turn UNBOUND.
  source.destroyDomain(domid);
  // 4. Restore on the destination with fresh event-channel state, then the guest's resume path.
  const resume = guest.resume.bind(guest);
  let created: PlatformDomain;
  try {
    created = destination.addDomain(config, {
      attachGuest: (ctx) => {
        ctx.abiContext.memory.loadImage(image);
        resume(ctx);
        return guest;
      },
    });
  } catch (e) {
    if (destination.hypervisor.domain(config.id) && !destination.domains.has(config.id)) destination.hypervisor.destroy(config.id);
    throw e;
  }
  // 5. The domain runs on the destination: the platform created it running.
  return { domain: created, guest, pagesCopied: image.touchedPages };
}
