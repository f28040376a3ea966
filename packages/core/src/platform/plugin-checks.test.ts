// What the platform checks about a plugin: its kind, its plugin API version, and that what it
// registered has every member of its contract; definePlugin's typing; option schemas.
import { describe, expect, it } from 'vitest';
import type { EventAbi } from '../contracts/abi.js';
import type { SecurityPolicy } from '../contracts/policy.js';
import { DummySecurityPolicy, dummyPolicy } from '../hypervisor/dummy-policy.js';
import { archNull } from '../hypervisor/null-arch.js';
import * as Tokens from '../tokens.js';
import { CORE_VERSION } from '../version.js';
import { ConfigError } from './config-error.js';
import { checkOptions, loadPlugin, type ModuleImporter } from './load-plugin.js';
import { createPlatform } from './platform.js';
import { checkPluginRegistration, contractProblems, pluginServicesContainer } from './plugin-checks.js';
import { PLUGIN_API_VERSION, definePlugin, withOptionsSchema, type Plugin } from './plugin.js';

/** An ABI plugin registering `abi` by value. */
const abiPlugin = (name: string, abi: unknown, apiVersion?: number): Plugin<'abi'> => ({
  name,
  kind: 'abi',
  apiVersion,
  register(c) {
    c.register(Tokens.EventAbi, { useValue: abi as EventAbi });
  },
});

const incompleteAbi = { name: 'half', maxPorts: () => 8, createGuestSide: () => ({}) };

describe('registration checks', () => {
  it('refuses an ABI missing a method, naming the plugin and the member', () => {
    expect(() => createPlatform({ arch: archNull(), abis: [abiPlugin('abi-half', incompleteAbi)] })).toThrow(
      "'abis[0]': plugin 'abi-half' its EventAbi has no 'createHypervisorSide' (a method the contract requires)",
    );
    expect(() => createPlatform({ arch: archNull(), abis: [abiPlugin('abi-half', { ...incompleteAbi, createHypervisorSide: 3 })] })).toThrow(
      /plugin 'abi-half' its EventAbi's 'createHypervisorSide' is a number, not a function/,
    );
  });

  it('refuses an empty object registered as a policy, listing every missing hook', () => {
    const bad: Plugin<'policy'> = { name: 'policy-empty', kind: 'policy', register: (c) => c.register(Tokens.SecurityPolicy, { useValue: {} as SecurityPolicy }) };
    let err: unknown;
    try {
      createPlatform({ arch: archNull(), abis: [abiPlugin('abi-ok', { ...incompleteAbi, createHypervisorSide: () => ({}) })], policy: bad });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^'policy': plugin 'policy-empty' its SecurityPolicy has no 'name'/);
    for (const hook of ['evtchnUnbound', 'evtchnInterdomain', 'evtchnSend', 'evtchnStatus', 'evtchnReset', 'pirqAccess']) expect(msg).toContain(`'${hook}'`);
  });

  it('refuses a kind that is not one of the four, and names a plugin whose register throws', () => {
    const spaced = { name: 'abi-x', kind: 'abi ', register() {} } as unknown as Plugin<'abi'>;
    expect(() => createPlatform({ arch: archNull(), abis: [spaced] })).toThrow(`'abis[0]': plugin 'abi-x' has kind "abi "; allowed: arch, abi, guest, policy`);
    const throwing: Plugin<'abi'> = { name: 'abi-boom', kind: 'abi', register: () => { throw new Error('boom'); } };
    expect(() => createPlatform({ arch: archNull(), abis: [throwing] })).toThrow("'abis[0]': plugin 'abi-boom' failed to register: boom");
  });

  it('checks a plugin without a platform, in a container that provides Clock and EventBus', () => {
    expect(() => checkPluginRegistration(abiPlugin('abi-half', incompleteAbi))).toThrow(/'createHypervisorSide'/);
    expect(checkPluginRegistration(dummyPolicy(), 'policy')).toHaveLength(1);
    const services = pluginServicesContainer();
    expect(services.container.resolve(Tokens.Clock)).toBe(services.clock);
    expect(services.container.resolve(Tokens.EventBus)).toBe(services.bus);
    expect(contractProblems('guest', { name: 'g' })).toEqual(["its GuestOsFactory has no 'create' (a method the contract requires)"]);
  });
});

describe('plugin API version', () => {
  it('core declares its version and the plugin API version', () => {
    expect(CORE_VERSION).toMatch(/^\d+\.\d+\.\d+/);
    expect(PLUGIN_API_VERSION).toBe(1);
    expect(dummyPolicy().apiVersion).toBe(PLUGIN_API_VERSION);
  });

  it('createPlatform refuses an incompatible version, naming the plugin, its version and the supported range', () => {
    const future = { ...archNull(), name: 'arch-future', apiVersion: 2 };
    expect(() => createPlatform({ arch: future, abis: [abiPlugin('a', incompleteAbi)] })).toThrow(
      `'arch': plugin 'arch-future' targets plugin API version 2, but @evtchn/core ${CORE_VERSION} supports plugin API version 1 (upgrade @evtchn/core)`,
    );
    expect(() => createPlatform({ arch: { ...archNull(), apiVersion: 0 }, abis: [abiPlugin('a', incompleteAbi)] })).toThrow(/targets plugin API version 0/);
  });

  it('loadPlugin refuses an incompatible version too', async () => {
    const importer: ModuleImporter = async () => ({ default: () => ({ ...dummyPolicy(), name: 'policy-next', apiVersion: 7 }) });
    await expect(loadPlugin('policy-next', 'policy', { import: importer })).rejects.toThrow(
      /^'policy-next': plugin 'policy-next' targets plugin API version 7, but @evtchn\/core .* supports plugin API version 1/,
    );
  });
});

describe('definePlugin', () => {
  it('registers the contract under the kind\'s token and declares the API version', () => {
    const p = definePlugin({ name: 'policy-mine', kind: 'policy', provide: { useValue: new DummySecurityPolicy() } });
    expect(p.apiVersion).toBe(PLUGIN_API_VERSION);
    const platform = createPlatform({ arch: archNull(), abis: [abiPlugin('a', { ...incompleteAbi, createHypervisorSide: () => ({}) })], policy: p });
    expect(platform.hypervisor.policy.name).toBe('dummy');
  });

  it('builds a useClass contract once per platform, with the platform clock injectable', () => {
    let built = 0;
    class Counting extends DummySecurityPolicy {
      constructor() {
        super();
        built++;
      }
    }
    const p = definePlugin({ name: 'policy-counting', kind: 'policy', provide: { useClass: Counting } });
    createPlatform({ arch: archNull(), abis: [abiPlugin('a', { ...incompleteAbi, createHypervisorSide: () => ({}) })], policy: p });
    expect(built).toBe(1);
    const withClock = definePlugin({
      name: 'policy-clock',
      kind: 'policy',
      provide: { useFactory: (c) => Object.assign(new DummySecurityPolicy(), { now: c.resolve<{ now(): number }>(Tokens.Clock).now() }) },
    });
    const [made] = checkPluginRegistration(withClock) as Array<{ now: number }>;
    expect(made!.now).toBe(0);
  });

  it('ties the kind to the contract at compile time', () => {
    // @ts-expect-error an empty object is not a SecurityPolicy
    definePlugin({ name: 'p', kind: 'policy', provide: { useValue: {} } });
    // @ts-expect-error a policy plugin does not fit the architecture key
    expect(() => createPlatform({ arch: dummyPolicy(), abis: [] })).toThrow(/'arch' expects an arch plugin/);
    // @ts-expect-error 'abi ' is not a plugin kind
    definePlugin({ name: 'p', kind: 'abi ', provide: { useValue: incompleteAbi } });
  });
});

describe('plugin options schemas', () => {
  const schema = { type: 'object', additionalProperties: false, properties: { nrPcpus: { type: 'integer', minimum: 1, maximum: 1024 } } };

  it('checkOptions names the plugin and each bad field', () => {
    expect(() => checkOptions('x86', schema, { nrPcpus: 1e8 })).toThrow("plugin 'x86': invalid options:\n  options.nrPcpus: must be <= 1024");
    expect(() => checkOptions('x86', schema, { nrCpus: 2 })).toThrow(/options: unknown key "nrCpus"/);
    expect(() => checkOptions('x86', schema, { nrPcpus: 4 })).not.toThrow();
  });

  it('loadPlugin validates options against the factory\'s schema before calling it', async () => {
    let called = 0;
    const factory = withOptionsSchema(schema, (_o: { nrPcpus?: number } = {}) => {
      called++;
      return archNull();
    });
    const importer: ModuleImporter = async () => ({ default: factory });
    const e = await loadPlugin('my-arch', 'arch', { options: { nrPcpus: 1e8 }, import: importer }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toBe("plugin 'my-arch': invalid options:\n  options.nrPcpus: must be <= 1024");
    expect(called).toBe(0);
    await loadPlugin('my-arch', 'arch', { options: { nrPcpus: 2 }, import: importer });
    expect(called).toBe(1);
  });
});
