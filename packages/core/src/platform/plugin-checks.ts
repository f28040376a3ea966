/*
 * Checks run on a plugin before and after it registers: its kind and API version, and that
 * what it registered has every member its contract requires (present and callable). A plugin
 * that fails is named with the member it lacks, at load time, instead of a "... is not a
 * function" deep inside a run.
 */
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { PlatformEventBus } from '../bus.js';
import { VirtualClock } from '../sim/clock.js';
import * as Tokens from '../tokens.js';
import { aOrAn } from '../util/text.js';
import { CORE_VERSION } from '../version.js';
import { ConfigError } from './config-error.js';
import { MIN_PLUGIN_API_VERSION, PLUGIN_API_VERSION, PLUGIN_KINDS, PLUGIN_TOKENS, type Plugin, type PluginKind } from './plugin.js';

/** A member a contract requires: a method, or a property of a given type. */
interface Member {
  readonly name: string;
  readonly type: 'function' | 'string' | 'object';
  readonly optional?: boolean;
}

const fn = (name: string, optional = false): Member => ({ name, type: 'function', optional });

/** The members each contract requires (and the optional ones that must be callable when present). */
const CONTRACT_MEMBERS: { readonly [K in PluginKind]: { readonly contract: string; readonly members: readonly Member[] } } = {
  abi: {
    contract: 'EventAbi',
    members: [{ name: 'name', type: 'string' }, fn('maxPorts'), fn('createHypervisorSide'), fn('createGuestSide'), fn('initControl', true)],
  },
  arch: {
    contract: 'Architecture',
    members: [
      { name: 'name', type: 'string' },
      fn('attachDomain'),
      fn('detachDomain'),
      fn('deliverUpcall'),
      fn('createGuestIrqSpace'),
      fn('connect', true),
      { name: 'pirqs', type: 'object', optional: true },
    ],
  },
  guest: { contract: 'GuestOsFactory', members: [{ name: 'name', type: 'string' }, fn('create')] },
  policy: {
    contract: 'SecurityPolicy',
    members: [
      { name: 'name', type: 'string' },
      fn('evtchnUnbound'),
      fn('evtchnInterdomain'),
      fn('evtchnSend'),
      fn('evtchnStatus'),
      fn('evtchnReset'),
      fn('pirqAccess'),
    ],
  },
};

/** The name of the contract a plugin kind registers (`'EventAbi'` for `'abi'`, ...). */
export function contractName(kind: PluginKind): string {
  return CONTRACT_MEMBERS[kind].contract;
}

/**
 * The problems of one registered contract object: each missing or mistyped member, by name.
 * @param kind - the plugin kind whose contract `value` should satisfy
 * @param value - the registered object
 * @returns one sentence per problem; empty when the object satisfies the contract
 */
export function contractProblems(kind: PluginKind, value: unknown): string[] {
  const { contract, members } = CONTRACT_MEMBERS[kind];
  if (typeof value !== 'object' && typeof value !== 'function') return [`registered ${value === null ? 'null' : typeof value} as its ${contract}`];
  if (value === null) return [`registered null as its ${contract}`];
  const problems: string[] = [];
  const v = value as Record<string, unknown>;
  for (const m of members) {
    const got = v[m.name];
    if (got === undefined && m.optional) continue;
    if (got === undefined) problems.push(`its ${contract} has no '${m.name}' (${m.type === 'function' ? 'a method' : `a ${m.type}`} the contract requires)`);
    else if (typeof got !== m.type || got === null)
      problems.push(`its ${contract}'s '${m.name}' is ${got === null ? 'null' : `a ${typeof got}`}, not ${m.type === 'object' ? 'an object' : `a ${m.type}`}`);
  }
  return problems;
}

/**
 * Checks a plugin's shape, kind and API version before it registers.
 * @param key - the configuration key it sits under (`'arch'`, `'abis[0]'`, ...), for messages
 * @param value - what was given
 * @param kind - the kind the key takes
 * @throws ConfigError naming the key, the plugin and what is wrong
 */
export function checkPluginShape<K extends PluginKind>(key: string, value: unknown, kind: K): Plugin<K> {
  if (value === undefined || value === null) throw new ConfigError(`missing '${key}': give ${article(kind)} ${kind} plugin`);
  const p = value as Partial<Plugin>;
  if (typeof p !== 'object' || typeof p.name !== 'string' || typeof p.register !== 'function' || typeof p.kind !== 'string')
    throw new ConfigError(`'${key}' is not a plugin (expected { name, kind, apiVersion, register(container) })`);
  if (!(PLUGIN_KINDS as readonly string[]).includes(p.kind))
    throw new ConfigError(`'${key}': plugin '${p.name}' has kind ${JSON.stringify(p.kind)}; allowed: ${PLUGIN_KINDS.join(', ')}`);
  if (p.kind !== kind)
    throw new ConfigError(`'${key}' expects ${article(kind)} ${kind} plugin, got ${article(p.kind)} ${p.kind} plugin '${p.name}'`);
  checkApiVersion(key, p as Plugin);
  return p as Plugin<K>;
}

/**
 * Refuses a plugin written against a plugin API version this core does not implement.
 * @param key - where the plugin sits (for messages)
 * @param plugin - the plugin
 * @throws ConfigError naming the plugin, its version and the supported range
 */
export function checkApiVersion(key: string, plugin: Plugin): void {
  const v = plugin.apiVersion;
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_PLUGIN_API_VERSION || v > PLUGIN_API_VERSION)
    throw new ConfigError(
      `'${key}': plugin '${plugin.name}' targets plugin API version ${JSON.stringify(v)}, but @evtchn/core ${CORE_VERSION} supports plugin API ${supportedRange()}${typeof v === 'number' && v > PLUGIN_API_VERSION ? ' (upgrade @evtchn/core)' : ''}`,
    );
}

/** The supported plugin API versions, for messages (`1` or `1..2`). */
export function supportedRange(): string {
  return MIN_PLUGIN_API_VERSION === PLUGIN_API_VERSION ? `version ${PLUGIN_API_VERSION}` : `versions ${MIN_PLUGIN_API_VERSION}..${PLUGIN_API_VERSION}`;
}

/**
 * Registers a plugin and checks that it registered something for its kind. An ABI plugin must
 * add one more `EventAbi` to the offered ABIs; those are resolved and checked against the
 * contract at once. Other kinds are checked by {@link checkRegisteredContract} once every plugin
 * has registered (their objects may inject what later plugins provide).
 * @param key - the configuration key (for messages)
 * @param plugin - the plugin
 * @param container - the platform container
 * @throws ConfigError naming the key, the plugin and what is wrong
 */
export function registerChecked(key: string, plugin: Plugin, container: DependencyContainer): void {
  const token = PLUGIN_TOKENS[plugin.kind];
  const count = (): number => (container.isRegistered(token) ? resolveAllNamed(key, plugin, container).length : 0);
  const before = plugin.kind === 'abi' ? count() : 0;
  try {
    plugin.register(container);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`'${key}': plugin '${plugin.name}' failed to register: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!container.isRegistered(token)) throw new ConfigError(`'${key}': plugin '${plugin.name}' registered no ${contractName(plugin.kind)}`);
  if (plugin.kind !== 'abi') return;
  const all = resolveAllNamed(key, plugin, container);
  if (all.length <= before) throw new ConfigError(`'${key}': plugin '${plugin.name}' registered no ${contractName(plugin.kind)}`);
  for (const obj of all.slice(before)) throwProblems(key, plugin, obj);
}

/**
 * Resolves the object a (non-ABI) plugin registered and checks it against its contract.
 * @param key - the configuration key (for messages)
 * @param plugin - the plugin
 * @param container - the platform container, with every plugin registered
 * @returns the object
 * @throws ConfigError naming the key, the plugin and each missing member
 */
export function checkRegisteredContract<T>(key: string, plugin: Plugin, container: DependencyContainer): T {
  let obj: unknown;
  try {
    obj = container.resolve(PLUGIN_TOKENS[plugin.kind]);
  } catch (e) {
    throw new ConfigError(`'${key}': plugin '${plugin.name}': building its ${contractName(plugin.kind)} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  throwProblems(key, plugin, obj);
  return obj as T;
}

function resolveAllNamed(key: string, plugin: Plugin, container: DependencyContainer): unknown[] {
  try {
    return container.resolveAll<unknown>(PLUGIN_TOKENS[plugin.kind]);
  } catch (e) {
    throw new ConfigError(`'${key}': plugin '${plugin.name}': building its ${contractName(plugin.kind)} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function throwProblems(key: string, plugin: Plugin, obj: unknown): void {
  const problems = contractProblems(plugin.kind, obj);
  if (problems.length) throw new ConfigError(`'${key}': plugin '${plugin.name}' ${problems.join('; ')}`);
}

/** What {@link pluginServicesContainer} provides. */
export interface PluginServices {
  /** The container: a child of tsyringe's root container. */
  readonly container: DependencyContainer;
  /** The virtual clock registered under `Clock`. */
  readonly clock: VirtualClock;
  /** The event bus registered under `EventBus`. */
  readonly bus: PlatformEventBus;
}

/**
 * A fresh child container holding the platform services a plugin may inject, as
 * `createPlatform` provides them: a `VirtualClock` under `Clock` and an event bus under
 * `EventBus` (a `Scheduler` exists only on platforms configured with one, so it is not here).
 * The conformance suites and {@link checkPluginRegistration} build plugins in such a container.
 * @param clock - the clock to register (default: a new `VirtualClock`)
 */
export function pluginServicesContainer(clock: VirtualClock = new VirtualClock()): PluginServices {
  const container = rootContainer.createChildContainer();
  const bus = new PlatformEventBus();
  container.register(Tokens.Clock, { useValue: clock });
  container.register(Tokens.EventBus, { useValue: bus });
  return { container, clock, bus };
}

/**
 * Checks a plugin without a platform: its shape, kind and API version, then registers it in a
 * {@link pluginServicesContainer} and checks every object it registered against its contract.
 * This runs the plugin's `register` and builds its objects (plugin code runs).
 * @param plugin - the plugin
 * @param expectedKind - the kind it must be (default: whatever it says)
 * @param key - where it comes from, for messages (default: its kind)
 * @returns the contract objects it registered
 * @throws ConfigError naming the plugin and what is wrong
 */
export function checkPluginRegistration(plugin: unknown, expectedKind?: PluginKind, key?: string): unknown[] {
  const kind = expectedKind ?? ((plugin as Partial<Plugin> | null)?.kind as PluginKind);
  const where = key ?? String(kind);
  const p = checkPluginShape(where, plugin, kind);
  const { container } = pluginServicesContainer();
  registerChecked(where, p, container);
  if (p.kind === 'abi') return container.resolveAll(PLUGIN_TOKENS.abi);
  return [checkRegisteredContract(where, p, container)];
}

function article(word: string): string {
  return aOrAn(word);
}
