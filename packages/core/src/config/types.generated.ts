// Generated from schema.ts by codegen.ts (pnpm --filter @evtchn/core gen:config). Do not edit.

/** An Evtchn Lab platform configuration: the architecture, the ABIs and guest layer, the domains, the workloads and the run parameters. */
export interface PlatformFileConfig {
  /** The JSON Schema of this file, for editors (ignored by evtchn). */
  $schema?: string;
  /** The architecture plugin and its machine. */
  arch: ArchConfig;
  /** Event ABIs the hypervisor offers, built-in `2level` and `fifo` or plugin references, in the guest's order of preference (default [2level, fifo]). */
  abis?: (string | PluginRef)[];
  /** The guest-layer plugin (default: the built-in `linux`). */
  guest?: GuestConfig;
  /** Security policy: built-in `dummy` or a plugin reference (default: none, everything allowed). */
  policy?: string | PluginRef;
  /** The domains, at least one. */
  domains: DomainFileConfig[];
  /** What happens during the run. */
  workloads?: WorkloadConfig[];
  /** Run parameters (the command line overrides them). */
  run?: RunConfig;
}

/** The architecture plugin and its machine. */
export interface ArchConfig {
  /** Built-in architecture: `x86` (default) or `arm`. */
  name?: string;
  /** Module specifier of a third-party plugin (its default export or `plugin` export is the factory); relative paths are relative to the configuration file. */
  module?: string;
  /** Options passed to the plugin factory (checked against the plugin's option schema when it has one). */
  options?: Record<string, unknown>;
  /** Physical CPUs (default 2). */
  pcpus?: number;
  /** x86: the IO-APICs, each with its pins (default: one IO-APIC of 24 pins at GSI 0). */
  ioApics?: IoApicFileConfig[];
  /** x86: how the guests' dynamic IRQs are placed relative to the GSIs, one policy per kernel era: scan-down (<= 2.6.38), encroach (commit 89911501), alloc-from (2.6.39-3.16), lower-bound (3.17+, the default); see the x86 IRQ eras guide. */
  dynIrqPolicy?: 'scan-down' | 'encroach' | 'alloc-from' | 'lower-bound';
  /** x86: how the event upcall reaches a vCPU (default `callback-vector`). */
  upcall?: 'callback-vector' | 'gsi' | 'pv';
  /** Arm: GIC list registers per vCPU (default 4). */
  listRegisters?: number;
  /** Arm: how virtual timer expiries are delivered (default `xen-owned`, what Xen ships). */
  vtimer?: 'guest-percpu' | 'xen-owned' | 'naive';
}

/** An IO-APIC of an x86 machine. */
export interface IoApicFileConfig {
  /** First GSI of the IO-APIC (default: right after the previous IO-APIC's last GSI). */
  gsiBase?: number;
  /** Redirection entries (pins), one GSI each. */
  pins: number;
}

/** A plugin reference: a built-in name or a module specifier, with options. */
export interface PluginRef {
  /** Built-in plugin name. */
  name?: string;
  /** Module specifier of a third-party plugin (its default export or `plugin` export is the factory); relative paths are relative to the configuration file. */
  module?: string;
  /** Options passed to the plugin factory (checked against the plugin's option schema when it has one). */
  options?: Record<string, unknown>;
}

/** The guest-layer plugin (default: the built-in `linux`). */
export interface GuestConfig {
  /** Built-in guest layer: `linux` (default). */
  name?: string;
  /** Module specifier of a third-party plugin (its default export or `plugin` export is the factory); relative paths are relative to the configuration file. */
  module?: string;
  /** Options passed to the plugin factory (checked against the plugin's option schema when it has one). */
  options?: Record<string, unknown>;
  /** Use the FIFO ABI when the hypervisor offers it (default true). */
  fifo?: boolean;
}

/** A domain. */
export interface DomainFileConfig {
  /** Domain id (0 is the control domain). */
  id: number;
  /** Display name (default `domN`, N the id). */
  name?: string;
  /** vCPUs (default 1). */
  vcpus?: number;
  /** Privileged, like dom0 (default: true for id 0 only). */
  privileged?: boolean;
  /** Highest event-channel port the domain may use (default 1023; unlimited when privileged). */
  maxEvtchnPort?: number;
  /** Size of the domain's pirq space (default 64). */
  nrPirqs?: number;
  /** Pirqs the domain is granted at start (default none; pirq workloads grant theirs). */
  pirqs?: number[];
  /** Guest memory, 4 KiB pages (default 262144, 1 GiB). */
  memPages?: number;
  /** Guest word size, bits (default 64): a 32-bit guest has 1024 2-level ports. */
  wordBits?: 32 | 64;
  /** Security label, for a policy plugin. */
  label?: string;
  /** Boot the guest layer in this domain (default true). */
  guest?: boolean;
}

/** A workload, by its `type`. */
export type WorkloadConfig = InterdomainWorkload | TimerWorkload | IpiWorkload | PirqWorkload | SpiWorkload | VtimerWorkload;

/** A front-end/back-end device pair: the front end notifies at `rate`, the back end answers once per batch it handled. */
export interface InterdomainWorkload {
  /** Workload type. */
  type: 'interdomain';
  /** Name shown in /proc/interrupts and reports (default: from the type and number, e.g. `dev0`, `gsi20`, `spi48`). */
  name?: string;
  /** Domain id of the front end (the guest with the device). */
  frontend: number;
  /** Domain id of the back end (usually 0). */
  backend: number;
  /** Requests per second from the front end (mean of a Poisson process), events/s. */
  rate: number;
  /** FIFO priority of both ends, 0 (highest) to 15 (default 7, the FIFO default). */
  priority?: number;
  /** Back end's vCPU the IRQ is bound to (default 0). */
  vcpu?: number;
}

/** A periodic VIRQ_TIMER on each listed vCPU of a domain. */
export interface TimerWorkload {
  /** Workload type. */
  type: 'timer';
  /** Domain id. */
  domain: number;
  /** Ticks per second on each vCPU, Hz. */
  hz: number;
  /** vCPUs that tick (default: all of the domain). */
  vcpus?: number[];
}

/** Inter-processor interrupts between two vCPUs of a domain (Linux's CALL_FUNCTION IPI). */
export interface IpiWorkload {
  /** Workload type. */
  type: 'ipi';
  /** Domain id. */
  domain: number;
  /** Sending vCPU. */
  from: number;
  /** Receiving vCPU. */
  to: number;
  /** IPIs per second (mean of a Poisson process), events/s. */
  rate: number;
}

/** x86: a physical interrupt passed through to guests as a pirq, from a GSI line (level, shareable) or an MSI. */
export interface PirqWorkload {
  /** Workload type. */
  type: 'pirq';
  /** Name shown in /proc/interrupts and reports (default: from the type and number, e.g. `dev0`, `gsi20`, `spi48`). */
  name?: string;
  /** GSI of the device line (give `gsi` or `msi: true`). */
  gsi?: number;
  /** The device uses an MSI instead of a GSI line (one domain only). */
  msi?: boolean;
  /** Interrupts per second from the device (mean of a Poisson process), events/s. */
  rate: number;
  /** Domains the interrupt is passed to (several: a shared GSI). */
  domains: number[];
  /** The GSI may be shared (default: true when several domains are listed). */
  shared?: boolean;
}

/** Arm: a physical SPI routed to a guest (1:1, like xl's `irqs`). */
export interface SpiWorkload {
  /** Workload type. */
  type: 'spi';
  /** Name shown in /proc/interrupts and reports (default: from the type and number, e.g. `dev0`, `gsi20`, `spi48`). */
  name?: string;
  /** SPI number (32..1019), also the guest's virtual SPI. */
  irq: number;
  /** Raises per second (mean of a Poisson process), events/s. */
  rate: number;
  /** Domain id. */
  domain: number;
}

/** Arm: the guest's periodic virtual timer (CNTV) on a vCPU. */
export interface VtimerWorkload {
  /** Workload type. */
  type: 'vtimer';
  /** Domain id. */
  domain: number;
  /** vCPU whose timer runs (default: every vCPU of the domain). */
  vcpu?: number;
  /** Timer period, microseconds (us). */
  periodUs: number;
}

/** Run parameters (the command line overrides them). */
export interface RunConfig {
  /** Virtual time to run: a number with a unit (`500us`, `20ms`, `2s`) or an integer of nanoseconds (default 10ms). */
  duration?: string | number;
  /** Seed of the pseudo-random arrival times (default 1). */
  seed?: number;
}
