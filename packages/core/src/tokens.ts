/*
 * Every dependency-injection token of the framework. Each extension point is an interface
 * plus a same-named token: the interface lives in `contracts/`, which re-exports the token
 * defined here under the interface's name (so `@inject(EventAbi)` and `EventAbi` the type
 * read the same). Tokens use `Symbol.for` so that two copies of a package still agree.
 */

/** Token: every offered `EventAbi` (multi-registration). */
export const EventAbi: unique symbol = Symbol.for('evtchn.EventAbi');
/** Token: the platform's `Architecture`. */
export const Architecture: unique symbol = Symbol.for('evtchn.Architecture');
/** Token: the `GuestOsFactory` that boots a guest layer in each domain. */
export const GuestOsFactory: unique symbol = Symbol.for('evtchn.GuestOsFactory');
/** Token: the platform's `SecurityPolicy` (Xen's XSM hooks). */
export const SecurityPolicy: unique symbol = Symbol.for('evtchn.SecurityPolicy');
/** Token: the platform's virtual `Clock`. */
export const Clock: unique symbol = Symbol.for('evtchn.Clock');
/** Token: the platform's vCPU `Scheduler`. */
export const Scheduler: unique symbol = Symbol.for('evtchn.Scheduler');
/** Token: the platform's `VcpuRunner` (when a vCPU takes its interrupt, and what its work costs). */
export const VcpuRunner: unique symbol = Symbol.for('evtchn.VcpuRunner');
/** Token: the platform's typed `EventBus`. */
export const EventBus: unique symbol = Symbol.for('evtchn.EventBus');
/** Token: the platform's `Hypervisor`. */
export const Hypervisor: unique symbol = Symbol.for('evtchn.Hypervisor');
/** Token: the resolved platform options (platform scope). */
export const PlatformOptions: unique symbol = Symbol.for('evtchn.PlatformOptions');
/** Token: the `DomainConfig` of a domain (domain scope). */
export const DomainConfig: unique symbol = Symbol.for('evtchn.DomainConfig');
/** Token: the `Domain` object (domain scope). */
export const Domain: unique symbol = Symbol.for('evtchn.Domain');
/** Token: the guest OS instance of a domain (domain scope). */
export const GuestOs: unique symbol = Symbol.for('evtchn.GuestOs');
