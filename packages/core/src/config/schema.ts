/*
 * The platform configuration file format (YAML or JSON): a JSON Schema checked with ajv, then
 * cross-reference checks (domains named by workloads exist, ids are unique, options fit the
 * architecture). Every problem is reported with its field path, the bad value and what is
 * allowed; all problems of a file are reported together.
 */

/** A plugin reference in a configuration: a built-in name or a module specifier with options. */
export interface PluginRef {
  /** Built-in name (e.g. `'x86'`, `'fifo'`, `'linux'`, `'dummy'`). */
  name?: string;
  /** Module specifier of a third-party plugin (its default export or `plugin` export is the factory). */
  module?: string;
  /** Options passed to the plugin factory. */
  options?: Record<string, unknown>;
}

/** Architecture section. */
export interface ArchConfig extends PluginRef {
  /** Number of physical CPUs (default 2). */
  pcpus?: number;
  /** x86: IO-APICs with their GSI ranges. */
  ioApics?: { gsiBase?: number; pins: number }[];
  /** x86: dynamic IRQ policy, one per kernel era: scan-down (<= 2.6.38), encroach (commit 89911501), alloc-from (2.6.39-3.16), lower-bound (3.17+). */
  dynIrqPolicy?: 'scan-down' | 'encroach' | 'alloc-from' | 'lower-bound';
  /** x86: how the event upcall reaches a vCPU. */
  upcall?: 'callback-vector' | 'gsi' | 'pv';
  /** ARM: list registers per vCPU. */
  listRegisters?: number;
  /** ARM: virtual timer delivery strategy. */
  vtimer?: 'guest-percpu' | 'xen-owned' | 'naive';
}

/** Guest-layer section. */
export interface GuestConfig extends PluginRef {
  /** Use the FIFO ABI when the hypervisor offers it (default true). */
  fifo?: boolean;
}

/** A domain of the configuration file. */
export interface DomainFileConfig {
  /** Domain id (0 = the control domain). */
  id: number;
  /** Display name. */
  name?: string;
  /** vCPUs (default 1). */
  vcpus?: number;
  /** Privileged (default: id 0). */
  privileged?: boolean;
  /** Highest port (default 1023; unlimited when privileged). */
  maxEvtchnPort?: number;
  /** Number of pirqs (default 64). */
  nrPirqs?: number;
  /** Pirqs the domain may bind. */
  pirqs?: number[];
  /** Guest memory in pages. */
  memPages?: number;
  /** Guest word size (default 64). */
  wordBits?: 32 | 64;
  /** Security label. */
  label?: string;
  /** Boot the guest layer (default true). */
  guest?: boolean;
}

/** A workload of the configuration file. */
export type WorkloadConfig =
  | { type: 'interdomain'; name?: string; frontend: number; backend: number; rate: number; priority?: number; vcpu?: number }
  | { type: 'timer'; domain: number; hz: number; vcpus?: number[] }
  | { type: 'ipi'; domain: number; from: number; to: number; rate: number }
  | { type: 'pirq'; name?: string; gsi?: number; msi?: boolean; rate: number; domains: number[]; shared?: boolean }
  | { type: 'spi'; name?: string; irq: number; rate: number; domain: number }
  | { type: 'vtimer'; domain: number; vcpu?: number; periodUs: number };

/** Run section (overridable on the command line). */
export interface RunConfig {
  /** Virtual duration, e.g. `'100ms'`, `'2s'`, or a number of ns. */
  duration?: string | number;
  /** Seed of the pseudo-random arrival times. */
  seed?: number;
}

/** A whole platform configuration file. */
export interface PlatformFileConfig {
  /** Architecture. */
  arch: ArchConfig;
  /** Offered ABIs, in the guest's order of preference. */
  abis?: (string | PluginRef)[];
  /** Guest layer. */
  guest?: GuestConfig;
  /** Security policy. */
  policy?: string | PluginRef;
  /** Domains. */
  domains: DomainFileConfig[];
  /** Workloads. */
  workloads?: WorkloadConfig[];
  /** Run parameters. */
  run?: RunConfig;
}

const u32 = { type: 'integer', minimum: 0, maximum: 0xffffffff } as const;
const domid = { type: 'integer', minimum: 0, maximum: 0x7fef } as const;
const rate = { type: 'number', exclusiveMinimum: 0, maximum: 1e9 } as const;
const pluginRefProps = {
  name: { type: 'string', minLength: 1 },
  module: { type: 'string', minLength: 1 },
  options: { type: 'object' },
} as const;
/** A plugin given as an object must name a built-in or a module. */
const pluginRefObject = {
  type: 'object',
  additionalProperties: false,
  properties: pluginRefProps,
  anyOf: [{ required: ['name'] }, { required: ['module'] }],
} as const;

/** The JSON Schema of {@link PlatformFileConfig}. */
export const platformConfigSchema = {
  $id: 'https://evtchn.dev/schema/platform.json',
  type: 'object',
  additionalProperties: false,
  required: ['arch', 'domains'],
  properties: {
    $schema: { type: 'string' },
    arch: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ...pluginRefProps,
        pcpus: { type: 'integer', minimum: 1, maximum: 1024 },
        ioApics: {
          type: 'array',
          maxItems: 128,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['pins'],
            properties: { gsiBase: { type: 'integer', minimum: 0, maximum: 65535 }, pins: { type: 'integer', minimum: 1, maximum: 240 } },
          },
        },
        dynIrqPolicy: { enum: ['scan-down', 'encroach', 'alloc-from', 'lower-bound'] },
        upcall: { enum: ['callback-vector', 'gsi', 'pv'] },
        listRegisters: { type: 'integer', minimum: 1, maximum: 16 },
        vtimer: { enum: ['guest-percpu', 'xen-owned', 'naive'] },
      },
    },
    abis: {
      type: 'array',
      minItems: 1,
      items: { anyOf: [{ type: 'string', minLength: 1 }, pluginRefObject] },
    },
    guest: {
      type: 'object',
      additionalProperties: false,
      properties: { ...pluginRefProps, fifo: { type: 'boolean' } },
    },
    policy: { anyOf: [{ type: 'string', minLength: 1 }, pluginRefObject] },
    domains: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: {
          id: domid,
          name: { type: 'string', minLength: 1 },
          vcpus: { type: 'integer', minimum: 1, maximum: 4096 },
          privileged: { type: 'boolean' },
          maxEvtchnPort: { type: 'integer', minimum: 1, maximum: 0x7fffffff },
          nrPirqs: { type: 'integer', minimum: 0, maximum: 0x100000 },
          pirqs: { type: 'array', items: u32 },
          memPages: { type: 'integer', minimum: 16, maximum: 2 ** 40 },
          wordBits: { enum: [32, 64] },
          label: { type: 'string' },
          guest: { type: 'boolean' },
        },
      },
    },
    workloads: {
      type: 'array',
      items: {
        type: 'object',
        required: ['type'],
        properties: { type: { enum: ['interdomain', 'timer', 'ipi', 'pirq', 'spi', 'vtimer'] } },
        allOf: [
          {
            if: { properties: { type: { const: 'interdomain' } } },
            then: {
              additionalProperties: false,
              required: ['frontend', 'backend', 'rate'],
              properties: {
                type: true,
                name: { type: 'string' },
                frontend: domid,
                backend: domid,
                rate,
                priority: { type: 'integer', minimum: 0, maximum: 15 },
                vcpu: { type: 'integer', minimum: 0 },
              },
            },
          },
          {
            if: { properties: { type: { const: 'timer' } } },
            then: {
              additionalProperties: false,
              required: ['domain', 'hz'],
              properties: { type: true, domain: domid, hz: rate, vcpus: { type: 'array', items: { type: 'integer', minimum: 0 } } },
            },
          },
          {
            if: { properties: { type: { const: 'ipi' } } },
            then: {
              additionalProperties: false,
              required: ['domain', 'from', 'to', 'rate'],
              properties: { type: true, domain: domid, from: { type: 'integer', minimum: 0 }, to: { type: 'integer', minimum: 0 }, rate },
            },
          },
          {
            if: { properties: { type: { const: 'pirq' } } },
            then: {
              additionalProperties: false,
              required: ['rate', 'domains'],
              properties: {
                type: true,
                name: { type: 'string' },
                gsi: { type: 'integer', minimum: 0, maximum: 65535 },
                msi: { type: 'boolean' },
                rate,
                domains: { type: 'array', minItems: 1, items: domid },
                shared: { type: 'boolean' },
              },
            },
          },
          {
            if: { properties: { type: { const: 'spi' } } },
            then: {
              additionalProperties: false,
              required: ['irq', 'rate', 'domain'],
              properties: { type: true, name: { type: 'string' }, irq: { type: 'integer', minimum: 32, maximum: 1019 }, rate, domain: domid },
            },
          },
          {
            if: { properties: { type: { const: 'vtimer' } } },
            then: {
              additionalProperties: false,
              required: ['domain', 'periodUs'],
              properties: { type: true, domain: domid, vcpu: { type: 'integer', minimum: 0 }, periodUs: rate },
            },
          },
        ],
      },
    },
    run: {
      type: 'object',
      additionalProperties: false,
      properties: {
        duration: { anyOf: [{ type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ns|us|ms|s)$' }, { type: 'integer', minimum: 1 }] },
        seed: { type: 'integer', minimum: 0, maximum: 0xffffffff },
      },
    },
  },
} as const;
