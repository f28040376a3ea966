/*
 * The JSON Schemas of the built-in plugins' `options`, so that `validate` checks them in the
 * same pass as the rest of the file (a plugin from a module is passed its options unchecked
 * until it publishes a schema). Each schema lists the options the factory takes that a
 * configuration file can express (functions and objects such as a clock are left out).
 */
import type { ArchArmOptions } from '@evtchn/arch-arm';
import type { ArchX86Options } from '@evtchn/arch-x86';
import type { PluginOptionSchemas } from '@evtchn/core';
import type { LinuxGuestOptions } from '@evtchn/guest-linux';

const int = (minimum: number, maximum = 0x7fffffff, description?: string) => ({ type: 'integer', minimum, maximum, ...(description ? { description } : {}) });
const bool = { type: 'boolean' } as const;
const none = { type: 'object', additionalProperties: false, properties: {} } as const;

/** `archX86` options (ArchX86Options). */
const x86 = {
  type: 'object',
  additionalProperties: false,
  properties: {
    nrPcpus: int(1, 1024, 'physical CPUs'),
    ioApics: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'gsiBase', 'pins'],
        properties: { id: int(0, 127), gsiBase: int(0, 65535), pins: int(1, 240) },
      },
    },
    msi: bool,
    upcallMode: { enum: ['callback-vector', 'gsi', 'pv'] },
    dynIrqPolicy: { enum: ['scan-down', 'encroach', 'alloc-from', 'lower-bound'] },
    nrCpuIds: int(1, 8192),
    configNrCpus: int(1, 8192),
    maxIoApics: int(1, 128),
    maxNrIrqs: int(16),
    panicThrows: bool,
    irqMaxGuests: int(1, 256),
    ioapicAck: { enum: ['new', 'old'] },
    autoMapPirqs: bool,
    interruptRemapping: bool,
    callbackGsi: int(0, 65535),
    hvmGsis: int(1, 65535),
  },
} as const;

/** `archArm` options (ArchArmOptions). */
const arm = {
  type: 'object',
  additionalProperties: false,
  properties: {
    nrPcpus: int(1, 1024, 'physical CPUs'),
    listRegisters: int(1, 16),
    vtimer: { enum: ['guest-percpu', 'xen-owned', 'naive'] },
    nrLines: int(32, 1020),
    nrSpis: int(0, 988),
    xenarmPirqs: { anyOf: [bool, { type: 'object' }] },
  },
} as const;

/** `guestLinux` options (LinuxGuestOptions). */
const linux = {
  type: 'object',
  additionalProperties: false,
  properties: {
    fifo: bool,
    hz: int(1, 10000, 'kernel tick rate (Hz)'),
    spuriousThreshold: int(0),
    eventLoopTimeout: int(0),
    eventEoiDelay: int(0),
    era: { enum: ['2007', 'modern'] },
    nrIrqs2007: int(16),
    evtchnRingSize: int(1),
  },
} as const;

/**
 * Compile-time guard: every option a factory takes is in its schema, except the ones a file
 * cannot express (a clock, a runner, a scheduler, a function). A new option fails the build
 * here until the schema has it, and a schema key the factory does not take fails too.
 */
type Exact<Options, Schema extends { properties: object }, Unexpressible extends keyof Options> = [
  Exclude<keyof Options, keyof Schema['properties'] | Unexpressible>,
  Exclude<keyof Schema['properties'], keyof Options>,
] extends [never, never]
  ? true
  : { missingFromSchema: Exclude<keyof Options, keyof Schema['properties'] | Unexpressible>; notAnOption: Exclude<keyof Schema['properties'], keyof Options> };
const optionSchemasMatch: [
  Exact<ArchX86Options, typeof x86, 'clock' | 'runner' | 'processorOf'>,
  Exact<ArchArmOptions, typeof arm, 'clock' | 'scheduler' | 'runner'>,
  Exact<LinuxGuestOptions, typeof linux, never>,
] = [true, true, true];
void optionSchemasMatch;

const SCHEMAS: Record<string, Record<string, object>> = {
  arch: { x86, arm },
  abi: { '2level': none, fifo: none },
  guest: { linux },
  policy: { dummy: none },
};

/** The option schemas of the built-in plugins, for {@link PluginOptionSchemas}. */
export const builtinOptionSchemas: PluginOptionSchemas = ({ kind, name, module }) => (module || !name ? undefined : SCHEMAS[kind]?.[name]);
