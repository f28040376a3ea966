/*
 * The plugin API: a plugin is a factory's result `{ name, kind, register(container) }` that
 * registers its pieces under the core's tokens in the platform's child container.
 */
import type { DependencyContainer } from 'tsyringe';

/** What a plugin provides. */
export type PluginKind = 'abi' | 'arch' | 'guest' | 'policy';

/** A plugin: created by a factory such as `abiFifo(options)`, registered by the platform builder. */
export interface Plugin {
  /** Plugin name; appears in every error it causes. */
  readonly name: string;
  /** What the plugin provides; the platform checks it matches the configuration key it sits under. */
  readonly kind: PluginKind;
  /** Registers the plugin's pieces into the platform container (never the global container). */
  register(container: DependencyContainer): void;
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
