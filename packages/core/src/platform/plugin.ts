/*
 * The plugin API: a plugin is a factory's result `{ name, kind, apiVersion, register(container) }`
 * that registers its pieces under the core's tokens in the platform's child container.
 * `definePlugin` ties the kind to the contract the plugin must provide, so a policy offered as
 * an architecture, or an empty object registered as a policy, fails to compile.
 */
import { instanceCachingFactory, type DependencyContainer, type InjectionToken } from 'tsyringe';
import type { EventAbi } from '../contracts/abi.js';
import type { Architecture } from '../contracts/arch.js';
import type { GuestOsFactory } from '../contracts/guest.js';
import type { SecurityPolicy } from '../contracts/policy.js';
import * as Tokens from '../tokens.js';

/** What a plugin provides. */
export type PluginKind = 'abi' | 'arch' | 'guest' | 'policy';

/** Every plugin kind, in the order a platform registers them. */
export const PLUGIN_KINDS: readonly PluginKind[] = ['arch', 'abi', 'guest', 'policy'];

/**
 * The plugin API version this core implements. It changes (by one) only when a contract changes
 * in a way that breaks existing plugins; a plugin declares the version it was written against in
 * {@link Plugin.apiVersion}.
 */
export const PLUGIN_API_VERSION = 1;

/** The oldest plugin API version this core still accepts. */
export const MIN_PLUGIN_API_VERSION = 1;

/** The contract each kind of plugin registers, by kind. */
export interface PluginContracts {
  /** An ABI plugin registers an {@link EventAbi} descriptor (several ABIs may be offered at once). */
  abi: EventAbi;
  /** An architecture plugin registers the {@link Architecture}. */
  arch: Architecture;
  /** A guest-layer plugin registers a {@link GuestOsFactory} (one guest OS per domain). */
  guest: GuestOsFactory;
  /** A policy plugin registers the {@link SecurityPolicy}. */
  policy: SecurityPolicy;
}

/** The token each kind of plugin registers its contract under. */
export const PLUGIN_TOKENS: { readonly [K in PluginKind]: symbol } = {
  abi: Tokens.EventAbi,
  arch: Tokens.Architecture,
  guest: Tokens.GuestOsFactory,
  policy: Tokens.SecurityPolicy,
};

/** A plugin: created by a factory such as `abiFifo(options)`, registered by the platform builder. */
export interface Plugin<K extends PluginKind = PluginKind> {
  /** Plugin name; appears in every error it causes. */
  readonly name: string;
  /** What the plugin provides; the platform checks it matches the configuration key it sits under. */
  readonly kind: K;
  /**
   * The plugin API version the plugin was written against ({@link PLUGIN_API_VERSION} of the core
   * it was built with). A platform refuses a version outside
   * {@link MIN_PLUGIN_API_VERSION}..{@link PLUGIN_API_VERSION}; absent means the current one
   * (plugins written before versions existed). {@link definePlugin} fills it in.
   */
  readonly apiVersion?: number;
  /** Registers the plugin's pieces into the platform container (never the global container). */
  register(container: DependencyContainer): void;
}

/**
 * How a plugin provides its contract: a ready object, a class tsyringe builds (one instance per
 * platform, constructor parameters injected with `@inject(Token)`), or a factory.
 */
export type ContractProvider<T> =
  | { readonly useValue: T }
  | { readonly useClass: new (...args: never[]) => T }
  | { readonly useFactory: (container: DependencyContainer) => T };

/** What {@link definePlugin} takes. */
export interface PluginDefinition<K extends PluginKind> {
  /** Plugin name; appears in every error it causes. */
  readonly name: string;
  /** What the plugin provides. */
  readonly kind: K;
  /** The contract object for `kind`, registered under the kind's token. */
  readonly provide: ContractProvider<PluginContracts[K]>;
  /** Further registrations (helpers the contract object injects), run before `provide` is registered. */
  readonly register?: (container: DependencyContainer) => void;
}

/**
 * Builds a plugin whose `kind` and contract agree at compile time: `provide` must be the
 * contract of `kind` (an `EventAbi` for `'abi'`, a `SecurityPolicy` for `'policy'`, ...), and the
 * result is a `Plugin<K>`, which only the matching key of a platform configuration accepts.
 * The plugin declares the current {@link PLUGIN_API_VERSION}.
 * @param definition - name, kind and how the contract object is provided
 * @returns the plugin
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { DummySecurityPolicy, definePlugin } from '@evtchn/core';
 *
 * export const myPolicy = () =>
 *   definePlugin({ name: 'policy-mine', kind: 'policy', provide: { useValue: new DummySecurityPolicy() } });
 * ```
 */
export function definePlugin<K extends PluginKind>(definition: PluginDefinition<K>): Plugin<K> {
  const { name, kind, provide } = definition;
  const token = PLUGIN_TOKENS[kind] as InjectionToken<PluginContracts[K]>;
  return {
    name,
    kind,
    apiVersion: PLUGIN_API_VERSION,
    register(container: DependencyContainer): void {
      definition.register?.(container);
      if ('useValue' in provide) container.register(token, { useValue: provide.useValue });
      else if ('useClass' in provide) {
        // One instance per platform container: resolve once, then register the instance.
        const Class = provide.useClass as unknown as new (...args: unknown[]) => PluginContracts[K];
        container.register(token, { useFactory: instanceCachingFactory((c) => c.resolve(Class)) });
      } else container.register(token, { useFactory: provide.useFactory });
    },
  };
}

/**
 * Whether `value` looks like a {@link Plugin} (used when loading plugins from modules).
 * @param value - anything
 */
export function isPlugin(value: unknown): value is Plugin {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && typeof v.kind === 'string' && typeof v.register === 'function';
}

/** A JSON Schema (draft 2020-12 subset Ajv checks) for a plugin factory's options. */
export type OptionsSchema = Record<string, unknown>;

/** A plugin factory that carries the JSON Schema of its options, checked before it is called. */
export type PluginFactoryWithSchema<F extends (...args: never[]) => unknown> = F & { readonly optionsSchema: OptionsSchema };

/**
 * Attaches a JSON Schema to a plugin factory. `loadPlugin` (and so every configuration file that
 * names the factory's module) validates the `options` against it before calling the factory,
 * and reports each bad field as a `ConfigError` naming the plugin and the field path.
 * @param schema - JSON Schema of the options object
 * @param factory - the plugin factory
 * @returns the same factory, with `optionsSchema` set
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { DummySecurityPolicy, definePlugin, withOptionsSchema } from '@evtchn/core';
 *
 * export default withOptionsSchema(
 *   { type: 'object', properties: { label: { type: 'string' } }, additionalProperties: false },
 *   (options: { label?: string } = {}) =>
 *     definePlugin({ name: `policy-${options.label ?? 'plain'}`, kind: 'policy', provide: { useValue: new DummySecurityPolicy() } }),
 * );
 * ```
 */
export function withOptionsSchema<F extends (...args: never[]) => unknown>(schema: OptionsSchema, factory: F): PluginFactoryWithSchema<F> {
  return Object.assign(factory, { optionsSchema: schema });
}
