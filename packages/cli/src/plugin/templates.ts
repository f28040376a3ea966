/*
 * The files `evtchn plugin new` writes, per plugin kind. Each kind starts from a plugin that
 * passes its conformance suite, so `npm test` is green before the author changes anything;
 * the comments say what to replace.
 */
import type { PluginKind } from '@evtchn/core';

/** Versions the generated package depends on. */
export interface TemplateVersions {
  /** The `@evtchn/*` version (the packages are released together). */
  readonly evtchn: string;
}

/** What a template needs to know. */
export interface TemplateInput {
  /** npm package name. */
  readonly packageName: string;
  /** Short name, e.g. `my-abi` (used for the plugin and contract names). */
  readonly shortName: string;
  /** The factory's identifier, e.g. `myAbi`. */
  readonly factory: string;
  /** The contract class's identifier, e.g. `MyAbi`. */
  readonly className: string;
  /** The plugin kind. */
  readonly kind: PluginKind;
  /** Versions to depend on. */
  readonly versions: TemplateVersions;
}

const TYPESCRIPT = '~5.9.3';
const VITEST = '^4.1.12';
const TSYRINGE = '^4.10.0';
const REFLECT_METADATA = '^0.2.2';

/** `@evtchn/*` packages each kind builds on, besides core (runtime dependencies of the plugin). */
const RUNTIME_DEPS: Record<PluginKind, string[]> = {
  abi: ['@evtchn/abi-2level'],
  arch: [],
  policy: [],
  guest: ['@evtchn/guest-linux'],
};

/** `@evtchn/*` packages each kind's tests use. */
const TEST_DEPS: Record<PluginKind, string[]> = {
  abi: ['@evtchn/conformance'],
  arch: [],
  policy: [],
  guest: ['@evtchn/abi-2level', '@evtchn/conformance'],
};

function packageJson(t: TemplateInput): string {
  const range = `^${t.versions.evtchn}`;
  const deps = Object.fromEntries(RUNTIME_DEPS[t.kind].map((d) => [d, range]));
  const devDeps: Record<string, string> = {
    '@evtchn/core': range,
    ...Object.fromEntries(TEST_DEPS[t.kind].map((d) => [d, range])),
    'reflect-metadata': REFLECT_METADATA,
    tsyringe: TSYRINGE,
    typescript: TYPESCRIPT,
    vitest: VITEST,
  };
  const pkg = {
    name: t.packageName,
    version: '0.1.0',
    description: `An Evtchn Lab ${t.kind} plugin`,
    license: 'MIT',
    type: 'module',
    keywords: ['evtchn', 'evtchn-plugin', `evtchn-${t.kind}`, 'xen'],
    engines: { node: '>=20.19' },
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    files: ['dist', 'src', '!src/**/*.test.ts'],
    sideEffects: false,
    scripts: { build: 'tsc -p tsconfig.json', test: 'vitest run', prepack: 'tsc -p tsconfig.json' },
    ...(Object.keys(deps).length ? { dependencies: deps } : {}),
    // One copy of the framework and of the DI runtime in the application: the plugin's objects
    // must be registered in the platform's container and pass core's instanceof checks.
    peerDependencies: { '@evtchn/core': range, 'reflect-metadata': REFLECT_METADATA, tsyringe: TSYRINGE },
    devDependencies: devDeps,
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

const TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2022",
    "lib": ["ES2022"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "declaration": true,
    "sourceMap": true,
    "experimentalDecorators": true,
    "skipLibCheck": true,
    "types": [],
    "rootDir": "src",
    "outDir": "dist"
  },
  "include": ["src/**/*.ts"],
  "exclude": ["src/**/*.test.ts"]
}
`;

const VITEST_CONFIG = `import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Legacy decorators, as tsconfig.json's experimentalDecorators (for @inject on constructor parameters).
  oxc: { decorator: { legacy: true } },
  test: {
    include: ['src/**/*.test.ts'],
    // tsyringe needs the reflect-metadata polyfill loaded before any plugin code.
    setupFiles: ['./vitest.setup.ts'],
  },
});
`;

const VITEST_SETUP = `import 'reflect-metadata';
`;

const GITIGNORE = `node_modules/
dist/
*.tsbuildinfo
`;

function abiSource(t: TemplateInput): string {
  return `/*
 * ${t.packageName}: an event ABI plugin for Evtchn Lab.
 *
 * It starts by delegating both halves to the 2-level ABI, so it passes the conformance suite
 * and the 2-level delivery vectors. Replace the delegation with your own shared memory and
 * operations (see "Writing an ABI plugin" in the Evtchn Lab guides).
 */
import { TwoLevelAbi } from '@evtchn/abi-2level';
import {
  definePlugin,
  type AbiGuestContext,
  type AbiGuestOps,
  type AbiHypervisorContext,
  type AbiHypervisorOps,
  type EventAbi,
  type Plugin,
} from '@evtchn/core';

/** The ABI descriptor: creates both halves for each domain. */
export class ${t.className} implements EventAbi {
  /** The ABI's name, as domains and reports show it. */
  readonly name = '${t.shortName}';
  private readonly base = new TwoLevelAbi();

  /** Largest port count for a guest of the given word size. */
  maxPorts(wordBits: 32 | 64): number {
    return this.base.maxPorts(wordBits);
  }

  /** The hypervisor half (Xen's evtchn_port_ops) for one domain. */
  createHypervisorSide(ctx: AbiHypervisorContext): AbiHypervisorOps {
    return named(this.base.createHypervisorSide(ctx), this.name);
  }

  /** The guest half (Linux's evtchn_ops) for one domain. */
  createGuestSide(ctx: AbiGuestContext): AbiGuestOps {
    return named(this.base.createGuestSide(ctx), this.name);
  }
}

/** Both halves carry the ABI's name (the suite checks they agree with the descriptor). */
function named<T extends { readonly name: string }>(side: T, name: string): T {
  return Object.defineProperty(side, 'name', { value: name });
}

/** The plugin factory: name it in a platform's \`abis\`, or as \`module: ${t.packageName}\` in a configuration file. */
export function ${t.factory}(): Plugin<'abi'> {
  return definePlugin({ name: 'abi-${t.shortName}', kind: 'abi', provide: { useValue: new ${t.className}() } });
}

export default ${t.factory};
`;
}

function abiTest(t: TemplateInput): string {
  return `import { checkPluginRegistration } from '@evtchn/core';
import { describeEventAbiConformance } from '@evtchn/conformance/testing';
import { describe, expect, it } from 'vitest';
import { ${t.factory} } from './index.js';

// The contract rules, and the 2-level delivery vectors replayed on this ABI (not on the
// built-in one): drop vectorAbiName once the ABI has delivery rules of its own.
describeEventAbiConformance(() => ${t.factory}(), { vectorAbiName: '2level' });

describe('${t.packageName}', () => {
  it('registers a complete EventAbi', () => {
    const [abi] = checkPluginRegistration(${t.factory}(), 'abi') as Array<{ name: string }>;
    expect(abi!.name).toBe('${t.shortName}');
  });
});
`;
}

function archSource(t: TemplateInput): string {
  return `/*
 * ${t.packageName}: an architecture plugin for Evtchn Lab.
 *
 * It delivers an upcall synchronously and holds a delivery requested while the vCPU is inside
 * its upcall (as a callback vector stays pending in the LAPIC's IRR while the handler runs).
 * It takes the platform's virtual clock from the container to time-stamp deliveries. Replace
 * the delivery and the IRQ space with your machine's (see "Writing an architecture plugin").
 */
import {
  Clock as ClockToken,
  Errno,
  definePlugin,
  readArray,
  readNumber,
  readObject,
  readString,
  snapshotPath,
  type ArchDomainInfo,
  type Architecture,
  type Clock,
  type GuestIrqSpace,
  type GuestIrqSpaceOptions,
  type JsonValue,
  type Plugin,
  type UpcallSink,
} from '@evtchn/core';

/** Options of {@link ${t.factory}}. */
export interface ${t.className}Options {
  /** IRQs of each guest's IRQ space (default 1024). */
  readonly nrIrqs?: number;
}

/** The architecture. */
export class ${t.className} implements Architecture {
  /** The architecture's name, as guests and reports see it. */
  readonly name = '${t.shortName}';
  /** Virtual time of the last upcall delivered, per \`domid:vcpu\`. */
  readonly lastUpcallAt = new Map<string, number>();
  private readonly sinks = new Map<number, UpcallSink>();
  private readonly running = new Set<string>();
  private readonly held = new Set<string>();

  /**
   * @param clock - the platform's virtual clock
   * @param options - machine options
   */
  constructor(
    private readonly clock: Clock,
    private readonly options: ${t.className}Options = {},
  ) {}

  /** Remembers where a domain's upcalls go. */
  attachDomain(info: ArchDomainInfo, sink: UpcallSink): void {
    this.sinks.set(info.id, sink);
  }

  /** Forgets a domain: no upcall reaches it afterwards. */
  detachDomain(domid: number): void {
    this.sinks.delete(domid);
  }

  /** Runs the vCPU's upcall now, or after the one it is in returns. */
  deliverUpcall(domid: number, vcpu: number): void {
    const key = \`\${domid}:\${vcpu}\`;
    if (this.running.has(key)) {
      this.held.add(key);
      return;
    }
    this.running.add(key);
    try {
      do {
        this.held.delete(key);
        const sink = this.sinks.get(domid);
        if (sink === undefined) break;
        this.lastUpcallAt.set(key, this.clock.now());
        sink.upcall(vcpu);
      } while (this.held.has(key));
    } finally {
      this.running.delete(key);
      this.held.delete(key);
    }
  }

  /**
   * Snapshot hook (see "Snapshots and migration"): what changes while the platform runs, as
   * JSON. Without it a platform on this architecture cannot be snapshotted.
   */
  getState(): JsonValue {
    return { lastUpcallAt: [...this.lastUpcallAt] };
  }

  /** Restores {@link ${t.className}.getState}; a bad field fails naming its JSON path. */
  setState(state: JsonValue): void {
    const o = readObject(state, '');
    const entries = readArray(o.lastUpcallAt, 'lastUpcallAt').map((e, i) => {
      const pair = readArray(e, snapshotPath('lastUpcallAt', i), 2);
      return [readString(pair[0], snapshotPath(snapshotPath('lastUpcallAt', i), 0)), readNumber(pair[1], snapshotPath(snapshotPath('lastUpcallAt', i), 1))] as const;
    });
    this.lastUpcallAt.clear();
    for (const [k, t] of entries) this.lastUpcallAt.set(k, t);
  }

  /** A flat IRQ space: the lowest free IRQ, reusable once freed. */
  createGuestIrqSpace(_opts: GuestIrqSpaceOptions): GuestIrqSpace {
    const used = new Uint8Array(this.options.nrIrqs ?? 1024);
    return {
      nrIrqs: () => used.length,
      allocDynamic: () => {
        const irq = used.indexOf(0);
        if (irq < 0) return -Errno.ENOSPC;
        used[irq] = 1;
        return irq;
      },
      free: (irq) => {
        if (irq >= 0 && irq < used.length) used[irq] = 0;
      },
    };
  }
}

/**
 * The plugin factory. The architecture is built by the platform's container, so it can take the
 * platform services (here the Clock) from it.
 * @param options - machine options
 */
export function ${t.factory}(options: ${t.className}Options = {}): Plugin<'arch'> {
  return definePlugin({
    name: 'arch-${t.shortName}',
    kind: 'arch',
    provide: { useFactory: (c) => new ${t.className}(c.resolve<Clock>(ClockToken), options) },
  });
}

export default ${t.factory};
`;
}

function archTest(t: TemplateInput): string {
  return `import { Architecture, archNull, checkPluginRegistration, pluginServicesContainer } from '@evtchn/core';
import { describeArchitectureConformance } from '@evtchn/core/testing';
import { describe, expect, it } from 'vitest';
import { ${t.className}, ${t.factory} } from './index.js';

// Each rule builds the plugin in a container that provides the platform's Clock and EventBus.
describeArchitectureConformance(() => ${t.factory}());

describe('${t.packageName}', () => {
  it('registers a complete Architecture', () => {
    expect(checkPluginRegistration(${t.factory}(), 'arch')).toHaveLength(1);
  });

  it('takes the Clock from the container it is built in', () => {
    const { container, clock } = pluginServicesContainer();
    ${t.factory}().register(container);
    const arch = container.resolve<${t.className}>(Architecture);
    expect(arch).toBeInstanceOf(${t.className});
    arch.attachDomain({ id: 1, nrVcpus: 1, privileged: false, nrPirqs: 0 }, { upcall: () => {} });
    clock.runUntil(1_000);
    arch.deliverUpcall(1, 0);
    expect(arch.lastUpcallAt.get('1:0')).toBe(1_000);
  });

  it('is the architecture key\\'s plugin, not another kind', () => {
    expect(archNull().kind).toBe(${t.factory}().kind);
  });
});
`;
}

function policySource(t: TemplateInput): string {
  return `/*
 * ${t.packageName}: a security policy plugin for Evtchn Lab.
 *
 * A policy may only be stricter than Xen's dummy policy: it answers each hook with 0 (allow) or
 * a negative errno (deny; -EPERM is what Xen's XSM modules answer), and never allows what the dummy
 * policy refuses. This one starts as the dummy policy and additionally refuses interdomain
 * binds into the domains listed in \`isolated\`. See "Writing a policy plugin".
 */
import {
  DummySecurityPolicy,
  Errno,
  definePlugin,
  withOptionsSchema,
  type Plugin,
  type PolicySubject,
  type SecurityPolicy,
} from '@evtchn/core';

/** Options of {@link ${t.factory}}. */
export interface ${t.className}Options {
  /** Domains no other domain may bind an interdomain channel to. */
  readonly isolated?: readonly number[];
}

/** The policy. */
export class ${t.className} implements SecurityPolicy {
  /** The policy's name, as warnings show it. */
  readonly name = '${t.shortName}';
  private readonly base = new DummySecurityPolicy();
  private readonly isolated: ReadonlySet<number>;

  /** @param options - policy options */
  constructor(options: ${t.className}Options = {}) {
    this.isolated = new Set(options.isolated ?? []);
  }

  /** EVTCHNOP_alloc_unbound. */
  evtchnUnbound(caller: PolicySubject, dom: PolicySubject, remoteDom: number): number {
    return this.base.evtchnUnbound(caller, dom, remoteDom);
  }

  /** EVTCHNOP_bind_interdomain: the dummy rule, and nobody binds into an isolated domain. */
  evtchnInterdomain(caller: PolicySubject, remote: PolicySubject): number {
    if (this.isolated.has(remote.id) && caller.id !== remote.id) return -Errno.EPERM;
    return this.base.evtchnInterdomain(caller, remote);
  }

  /** EVTCHNOP_send. */
  evtchnSend(caller: PolicySubject, remote: PolicySubject | undefined): number {
    return this.base.evtchnSend(caller, remote);
  }

  /** EVTCHNOP_status. */
  evtchnStatus(caller: PolicySubject, dom: PolicySubject): number {
    return this.base.evtchnStatus(caller, dom);
  }

  /** EVTCHNOP_reset. */
  evtchnReset(caller: PolicySubject, dom: PolicySubject): number {
    return this.base.evtchnReset(caller, dom);
  }

  /** PHYSDEVOP pirq access. */
  pirqAccess(dom: PolicySubject, pirq: number): number {
    return this.base.pirqAccess(dom, pirq);
  }

  /** Snapshot hook (see "Snapshots and migration"): the options fix everything, so \`null\`. */
  getState(): null {
    return null;
  }

  /** Accepts only \`null\` (see {@link ${t.className}.getState}). */
  setState(state: unknown): void {
    if (state !== null) throw new Error('expected null: this policy keeps no state');
  }
}

/** JSON Schema of the options: a configuration file's \`options\` are checked against it when it loads. */
export const optionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { isolated: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 32751 } } },
};

/** The plugin factory (its options are validated before it runs when a configuration names it). */
export const ${t.factory} = withOptionsSchema(
  optionsSchema,
  (options: ${t.className}Options = {}): Plugin<'policy'> =>
    definePlugin({ name: 'policy-${t.shortName}', kind: 'policy', provide: { useValue: new ${t.className}(options) } }),
);

export default ${t.factory};
`;
}

function policyTest(t: TemplateInput): string {
  return `import { checkPluginRegistration, loadPlugin } from '@evtchn/core';
import { checkSecurityPolicyConformance, describeSecurityPolicyConformance, type PolicyCheck } from '@evtchn/core/testing';
import { describe, expect, it } from 'vitest';
import { ${t.factory} } from './index.js';

// What the policy denies beyond Xen's dummy policy: binds into the isolated domain 2.
const denies = (c: PolicyCheck): boolean => c.hook === 'evtchnInterdomain' && c.target?.id === 2 && c.caller.id !== 2;

describeSecurityPolicyConformance(() => ${t.factory}({ isolated: [2] }), { denies });

describe('${t.packageName}', () => {
  it('registers a complete SecurityPolicy', () => {
    expect(checkPluginRegistration(${t.factory}(), 'policy')).toHaveLength(1);
  });

  it('fails the suite when it denies more than it declares', () => {
    const failed = checkSecurityPolicyConformance(() => ${t.factory}({ isolated: [2] })).filter((r) => !r.ok);
    expect(failed.length).toBeGreaterThan(0);
  });

  it('rejects bad options when loaded by module name, naming the field', async () => {
    const url = new URL('./index.ts', import.meta.url).href;
    // vitest compiles TypeScript only for imports made from test code, so hand loadPlugin this file's import().
    const load = loadPlugin(url, 'policy', { options: { isolated: ['x'] }, import: (s) => import(s) });
    await expect(load).rejects.toThrow(/options\\.isolated\\[0\\]: must be integer/);
  });
});
`;
}

function guestSource(t: TemplateInput): string {
  return `/*
 * ${t.packageName}: a guest-layer plugin for Evtchn Lab.
 *
 * A guest layer creates one GuestOs per domain: the domain's upcall entry, which scans the
 * ABI's pending events and runs their handlers. This one starts as the Linux guest layer
 * (@evtchn/guest-linux) and counts the upcalls it takes; replace it with your OS's event layer
 * (see "Writing a guest-layer plugin").
 */
import { LinuxGuest } from '@evtchn/guest-linux';
import { definePlugin, type GuestContext, type GuestOs, type GuestOsFactory, type Plugin } from '@evtchn/core';

/** The guest OS of one domain: Linux's event layer, counting upcalls. */
export class ${t.className}Os implements GuestOs {
  /** The guest's name. */
  readonly name = '${t.shortName}';
  /** Upcalls taken, per vCPU. */
  readonly upcalls: number[];
  private readonly linux: LinuxGuest;

  /** @param ctx - what the platform gives a domain's guest */
  constructor(ctx: GuestContext) {
    this.linux = new LinuxGuest(ctx);
    this.upcalls = new Array<number>(ctx.nrCpus).fill(0);
  }

  /** The ABI the guest set up at boot. */
  get abiName(): string {
    return this.linux.abiName;
  }

  /** The upcall entry (xen_evtchn_do_upcall). */
  upcall(vcpu: number): void {
    this.upcalls[vcpu] = (this.upcalls[vcpu] ?? 0) + 1;
    this.linux.upcall(vcpu);
  }

  /** The /proc/interrupts view. */
  procInterrupts(): string {
    return this.linux.procInterrupts();
  }

  /** The Linux layer underneath (bind and request IRQs through it). */
  get kernel(): LinuxGuest {
    return this.linux;
  }
}

/** Creates the guest OS of each domain. */
export class ${t.className} implements GuestOsFactory {
  /** The guest layer's name. */
  readonly name = '${t.shortName}';

  /** @param ctx - what the platform gives a domain's guest */
  create(ctx: GuestContext): ${t.className}Os {
    return new ${t.className}Os(ctx);
  }
}

/** The plugin factory. */
export function ${t.factory}(): Plugin<'guest'> {
  return definePlugin({ name: 'guest-${t.shortName}', kind: 'guest', provide: { useValue: new ${t.className}() } });
}

export default ${t.factory};
`;
}

function guestTest(t: TemplateInput): string {
  return `import { abi2Level } from '@evtchn/abi-2level';
import { archNull, checkPluginRegistration, createPlatform } from '@evtchn/core';
import { describeGuestOsConformance } from '@evtchn/conformance/testing';
import { describe, expect, it } from 'vitest';
import { ${t.className}Os, ${t.factory} } from './index.js';

describeGuestOsConformance(() => ${t.factory}());

describe('${t.packageName}', () => {
  it('registers a complete GuestOsFactory', () => {
    expect(checkPluginRegistration(${t.factory}(), 'guest')).toHaveLength(1);
  });

  it('boots in each domain and takes the upcalls the architecture delivers', () => {
    const platform = createPlatform({ arch: archNull({ deliver: true }), abis: [abi2Level()], guest: ${t.factory}(), domains: [{ id: 0 }, { id: 1 }] });
    const guest = platform.domain(1).guest as ${t.className}Os;
    expect(guest).toBeInstanceOf(${t.className}Os);
    expect(guest.abiName).toBe('2level');
    const port = platform.domain(1).domain.hypercalls.allocUnbound(1, 0);
    const local = platform.domain(0).domain.hypercalls.bindInterdomain(1, port);
    const irq = guest.kernel.bindEvtchnToIrq(port);
    let handled = 0;
    expect(guest.kernel.requestIrq(irq, () => { handled++; return 1; }, 0, 'test', null)).toBe(0);
    expect(platform.domain(0).domain.hypercalls.send(local)).toBe(0);
    // The upcall runs on the virtual clock, after the vCPU's entry latency.
    platform.clock.runUntil(platform.clock.now() + 1_000_000);
    expect(guest.upcalls[0]).toBe(1);
    expect(handled).toBe(1);
  });
});
`;
}

function readme(t: TemplateInput): string {
  const suite = {
    abi: '`describeEventAbiConformance` from `@evtchn/conformance/testing` (contract rules and the delivery vectors, replayed on this ABI)',
    arch: '`describeArchitectureConformance` from `@evtchn/core/testing`',
    policy: '`describeSecurityPolicyConformance` from `@evtchn/core/testing`',
    guest: '`describeGuestOsConformance` from `@evtchn/conformance/testing` (on the built-in ABIs)',
  }[t.kind];
  return `# ${t.packageName}

An Evtchn Lab ${t.kind} plugin (event channels of Xen and Linux, modelled).

## Use

\`\`\`ts
import 'reflect-metadata';
import { ${t.factory} } from '${t.packageName}';
\`\`\`

or name it in a platform configuration file:

\`\`\`yaml
${t.kind === 'abi' ? `abis:\n  - { module: ${t.packageName} }` : `${t.kind}:\n  module: ${t.packageName}`}
\`\`\`

## Develop

\`\`\`sh
npm install
npm run build
npm test
\`\`\`

The tests run ${suite}; every rule is one test named by its rule id.

## Packaging

- \`@evtchn/core\`, \`tsyringe\` and \`reflect-metadata\` are **peer dependencies**: the application
  provides the one copy of each (a second tsyringe fails with \`TypeInfo not known\`, a second core
  breaks \`instanceof XenError\`).
- The plugin declares the plugin API version it was built against (\`definePlugin\` fills it in);
  a platform with an incompatible \`@evtchn/core\` refuses it with a message naming both.
- ES modules only (\`"type": "module"\`, NodeNext resolution).
`;
}

/**
 * Every file of a new plugin package, by path relative to its folder.
 * @param t - names, kind and versions
 */
export function pluginFiles(t: TemplateInput): Record<string, string> {
  const [source, test] = {
    abi: [abiSource, abiTest],
    arch: [archSource, archTest],
    policy: [policySource, policyTest],
    guest: [guestSource, guestTest],
  }[t.kind];
  return {
    'package.json': packageJson(t),
    'tsconfig.json': TSCONFIG,
    'vitest.config.ts': VITEST_CONFIG,
    'vitest.setup.ts': VITEST_SETUP,
    '.gitignore': GITIGNORE,
    'README.md': readme(t),
    'src/index.ts': source(t),
    [`src/${t.kind}.test.ts`]: test(t),
  };
}
