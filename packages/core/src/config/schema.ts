/*
 * The platform configuration file format (YAML or JSON), defined once: this JSON Schema is
 * what ajv validates with, what is published for editors (`schema/platform.schema.json`), and
 * what the TypeScript types (`types.generated.ts`) and the configuration guide's field
 * reference are generated from (`pnpm --filter @evtchn/core gen:config`; a test fails when
 * they are out of date). Every field says its unit and default in its description.
 */
export type {
  ArchConfig,
  DomainFileConfig,
  GuestConfig,
  InterdomainWorkload,
  IoApicFileConfig,
  IpiWorkload,
  PirqWorkload,
  PlatformFileConfig,
  PluginRef,
  RunConfig,
  SpiWorkload,
  TimerWorkload,
  VtimerWorkload,
  WorkloadConfig,
} from './types.generated.js';

const domid = (description: string) => ({ type: 'integer', minimum: 0, maximum: 0x7fef, description }) as const;
const rate = (description: string) => ({ type: 'number', exclusiveMinimum: 0, maximum: 1e9, description }) as const;
const pluginRefProps = {
  name: { type: 'string', minLength: 1, description: 'Built-in plugin name.' },
  module: {
    type: 'string',
    minLength: 1,
    description: 'Module specifier of a third-party plugin (its default export or `plugin` export is the factory); relative paths are relative to the configuration file.',
  },
  options: { type: 'object', description: 'Options passed to the plugin factory (checked against the plugin\'s option schema when it has one).' },
} as const;

/** A plugin given as an object must name a built-in or a module. */
const pluginRefObject = {
  title: 'PluginRef',
  description: 'A plugin reference: a built-in name or a module specifier, with options.',
  type: 'object',
  additionalProperties: false,
  properties: pluginRefProps,
  anyOf: [{ required: ['name'] }, { required: ['module'] }],
} as const;

const workloadName = { type: 'string', description: 'Name shown in /proc/interrupts and reports (default: from the type and number, e.g. `dev0`, `gsi20`, `spi48`).' } as const;

const interdomain = {
  title: 'InterdomainWorkload',
  description: 'A front-end/back-end device pair: the front end notifies at `rate`, the back end answers once per batch it handled.',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'frontend', 'backend', 'rate'],
  properties: {
    type: { const: 'interdomain', description: 'Workload type.' },
    name: workloadName,
    frontend: domid('Domain id of the front end (the guest with the device).'),
    backend: domid('Domain id of the back end (usually 0).'),
    rate: rate('Requests per second from the front end (mean of a Poisson process), events/s.'),
    priority: { type: 'integer', minimum: 0, maximum: 15, description: 'FIFO priority of both ends, 0 (highest) to 15 (default 7, the FIFO default).' },
    vcpu: { type: 'integer', minimum: 0, description: "Back end's vCPU the IRQ is bound to (default 0)." },
  },
} as const;

const timer = {
  title: 'TimerWorkload',
  description: 'A periodic VIRQ_TIMER on each listed vCPU of a domain.',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'domain', 'hz'],
  properties: {
    type: { const: 'timer', description: 'Workload type.' },
    domain: domid('Domain id.'),
    hz: rate('Ticks per second on each vCPU, Hz.'),
    vcpus: { type: 'array', items: { type: 'integer', minimum: 0 }, description: 'vCPUs that tick (default: all of the domain).' },
  },
} as const;

const ipi = {
  title: 'IpiWorkload',
  description: "Inter-processor interrupts between two vCPUs of a domain (Linux's CALL_FUNCTION IPI).",
  type: 'object',
  additionalProperties: false,
  required: ['type', 'domain', 'from', 'to', 'rate'],
  properties: {
    type: { const: 'ipi', description: 'Workload type.' },
    domain: domid('Domain id.'),
    from: { type: 'integer', minimum: 0, description: 'Sending vCPU.' },
    to: { type: 'integer', minimum: 0, description: 'Receiving vCPU.' },
    rate: rate('IPIs per second (mean of a Poisson process), events/s.'),
  },
} as const;

const pirq = {
  title: 'PirqWorkload',
  description: 'x86: a physical interrupt passed through to guests as a pirq, from a GSI line (level, shareable) or an MSI.',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'rate', 'domains'],
  properties: {
    type: { const: 'pirq', description: 'Workload type.' },
    name: workloadName,
    gsi: { type: 'integer', minimum: 0, maximum: 65535, description: 'GSI of the device line (give `gsi` or `msi: true`).' },
    msi: { type: 'boolean', description: 'The device uses an MSI instead of a GSI line (one domain only).' },
    rate: rate('Interrupts per second from the device (mean of a Poisson process), events/s.'),
    domains: { type: 'array', minItems: 1, items: domid('Domain id.'), description: 'Domains the interrupt is passed to (several: a shared GSI).' },
    shared: { type: 'boolean', description: 'The GSI may be shared (default: true when several domains are listed).' },
  },
} as const;

const spi = {
  title: 'SpiWorkload',
  description: 'Arm: a physical SPI routed to a guest (1:1, like xl\'s `irqs`).',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'irq', 'rate', 'domain'],
  properties: {
    type: { const: 'spi', description: 'Workload type.' },
    name: workloadName,
    irq: { type: 'integer', minimum: 32, maximum: 1019, description: 'SPI number (32..1019), also the guest\'s virtual SPI.' },
    rate: rate('Raises per second (mean of a Poisson process), events/s.'),
    domain: domid('Domain id.'),
  },
} as const;

const vtimer = {
  title: 'VtimerWorkload',
  description: "Arm: the guest's periodic virtual timer (CNTV) on a vCPU.",
  type: 'object',
  additionalProperties: false,
  required: ['type', 'domain', 'periodUs'],
  properties: {
    type: { const: 'vtimer', description: 'Workload type.' },
    domain: domid('Domain id.'),
    vcpu: { type: 'integer', minimum: 0, description: 'vCPU whose timer runs (default: every vCPU of the domain).' },
    periodUs: rate('Timer period, microseconds (us).'),
  },
} as const;

/** The workload variants, by their `type`. */
export const workloadSchemas = { interdomain, timer, ipi, pirq, spi, vtimer } as const;

/** The JSON Schema of {@link PlatformFileConfig}. */
export const platformConfigSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://evtchn.dev/schema/platform.json',
  title: 'PlatformFileConfig',
  description: 'An Evtchn Lab platform configuration: the architecture, the ABIs and guest layer, the domains, the workloads and the run parameters.',
  type: 'object',
  additionalProperties: false,
  required: ['arch', 'domains'],
  properties: {
    $schema: { type: 'string', description: 'The JSON Schema of this file, for editors (ignored by evtchn).' },
    arch: {
      title: 'ArchConfig',
      description: 'The architecture plugin and its machine.',
      type: 'object',
      additionalProperties: false,
      properties: {
        ...pluginRefProps,
        name: { type: 'string', minLength: 1, description: 'Built-in architecture: `x86` (default) or `arm`.' },
        pcpus: { type: 'integer', minimum: 1, maximum: 1024, description: 'Physical CPUs (default 2).' },
        ioApics: {
          type: 'array',
          maxItems: 128,
          description: 'x86: the IO-APICs, each with its pins (default: one IO-APIC of 24 pins at GSI 0).',
          items: {
            title: 'IoApicFileConfig',
            description: 'An IO-APIC of an x86 machine.',
            type: 'object',
            additionalProperties: false,
            required: ['pins'],
            properties: {
              gsiBase: { type: 'integer', minimum: 0, maximum: 65535, description: 'First GSI of the IO-APIC (default: right after the previous IO-APIC\'s last GSI).' },
              pins: { type: 'integer', minimum: 1, maximum: 240, description: 'Redirection entries (pins), one GSI each.' },
            },
          },
        },
        dynIrqPolicy: {
          enum: ['scan-down', 'encroach', 'alloc-from', 'lower-bound'],
          description:
            "x86: how the guests' dynamic IRQs are placed relative to the GSIs, one policy per kernel era: scan-down (<= 2.6.38), encroach (commit 89911501), alloc-from (2.6.39-3.16), lower-bound (3.17+, the default); see the x86 IRQ eras guide.",
        },
        upcall: { enum: ['callback-vector', 'gsi', 'pv'], description: 'x86: how the event upcall reaches a vCPU (default `callback-vector`).' },
        listRegisters: { type: 'integer', minimum: 1, maximum: 16, description: 'Arm: GIC list registers per vCPU (default 4).' },
        vtimer: { enum: ['guest-percpu', 'xen-owned', 'naive'], description: 'Arm: how virtual timer expiries are delivered (default `xen-owned`, what Xen ships).' },
      },
    },
    abis: {
      type: 'array',
      minItems: 1,
      description: "Event ABIs the hypervisor offers, built-in `2level` and `fifo` or plugin references, in the guest's order of preference (default [2level, fifo]).",
      items: { anyOf: [{ type: 'string', minLength: 1 }, pluginRefObject] },
    },
    guest: {
      title: 'GuestConfig',
      description: 'The guest-layer plugin (default: the built-in `linux`).',
      type: 'object',
      additionalProperties: false,
      properties: {
        ...pluginRefProps,
        name: { type: 'string', minLength: 1, description: 'Built-in guest layer: `linux` (default).' },
        fifo: { type: 'boolean', description: 'Use the FIFO ABI when the hypervisor offers it (default true).' },
      },
    },
    policy: { anyOf: [{ type: 'string', minLength: 1 }, pluginRefObject], description: 'Security policy: built-in `dummy` or a plugin reference (default: none, everything allowed).' },
    domains: {
      type: 'array',
      minItems: 1,
      description: 'The domains, at least one.',
      items: {
        title: 'DomainFileConfig',
        description: 'A domain.',
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: {
          id: domid('Domain id (0 is the control domain).'),
          name: { type: 'string', minLength: 1, description: 'Display name (default `domN`, N the id).' },
          vcpus: { type: 'integer', minimum: 1, maximum: 4096, description: 'vCPUs (default 1).' },
          privileged: { type: 'boolean', description: 'Privileged, like dom0 (default: true for id 0 only).' },
          maxEvtchnPort: { type: 'integer', minimum: 1, maximum: 0x7fffffff, description: 'Highest event-channel port the domain may use (default 1023; unlimited when privileged).' },
          nrPirqs: { type: 'integer', minimum: 0, maximum: 0x100000, description: 'Size of the domain\'s pirq space (default 64).' },
          pirqs: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 0xffffffff }, description: 'Pirqs the domain is granted at start (default none; pirq workloads grant theirs).' },
          memPages: { type: 'integer', minimum: 16, maximum: 2 ** 40, description: 'Guest memory, 4 KiB pages (default 262144, 1 GiB).' },
          wordBits: { enum: [32, 64], description: 'Guest word size, bits (default 64): a 32-bit guest has 1024 2-level ports.' },
          label: { type: 'string', description: 'Security label, for a policy plugin.' },
          guest: { type: 'boolean', description: 'Boot the guest layer in this domain (default true).' },
        },
      },
    },
    workloads: {
      type: 'array',
      description: 'What happens during the run.',
      items: {
        title: 'WorkloadConfig',
        description: 'A workload, by its `type`.',
        type: 'object',
        required: ['type'],
        properties: { type: { enum: Object.keys(workloadSchemas) as (keyof typeof workloadSchemas)[] } },
        allOf: Object.entries(workloadSchemas).map(([type, then]) => ({ if: { properties: { type: { const: type } } }, then })),
      },
    },
    run: {
      title: 'RunConfig',
      description: 'Run parameters (the command line overrides them).',
      type: 'object',
      additionalProperties: false,
      properties: {
        duration: {
          anyOf: [
            { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ns|us|ms|s)$' },
            { type: 'integer', minimum: 1 },
          ],
          description: 'Virtual time to run: a number with a unit (`500us`, `20ms`, `2s`) or an integer of nanoseconds (default 10ms).',
        },
        seed: { type: 'integer', minimum: 0, maximum: 0xffffffff, description: 'Seed of the pseudo-random arrival times (default 1).' },
      },
    },
  },
} as const;
