/*
 * The platform's typed event bus. The emitter is private; `on`/`off` are public. Emitting
 * sites on the hot path check `listening(name)` first so that nothing is built when nobody
 * listens.
 */
import { EventEmitter } from 'eventemitter3';
import * as Tokens from './tokens.js';

/** Every event of the platform with its arguments. */
export interface PlatformEvents {
  /** A port became pending in a domain, for a vCPU. */
  'evtchn:pending': [domid: number, port: number, vcpu: number];
  /** A port was bound (state is the new `ECS_*`). */
  'evtchn:bind': [domid: number, port: number, state: number];
  /** A port was closed. */
  'evtchn:close': [domid: number, port: number];
  /** An event was lost (no control block, reset, …). */
  'evtchn:dropped': [domid: number, port: number, reason: string];
  /** The upcall was delivered to a vCPU (its upcall-pending flag went from 0 to 1). */
  'upcall:deliver': [domid: number, vcpu: number];
  /** A vCPU entered its interrupt handling (the runner took a raised interrupt; not for continuations). */
  'upcall:enter': [domid: number, vcpu: number];
  /** A guest IRQ handler ran. */
  'irq:handled': [domid: number, irq: number, cpu: number];
  /** A warning the hypervisor or a guest would log. */
  warn: [source: string, message: string];
  /**
   * Guest code threw: the domain crashed (Xen's `domain_crash`). Its vCPUs stop; the caller of
   * whatever hypercall led there was not affected.
   */
  'domain:crash': [domid: number, error: unknown];
  /** A domain was destroyed by the toolstack (its id may be reused from now on). */
  'domain:destroyed': [domid: number];
  /**
   * A vCPU has been inside one upcall (continuations included) for longer than the runner's
   * livelock threshold: it does nothing but handle interrupts. Once per episode.
   */
  'vcpu:livelock': [domid: number, vcpu: number, sinceNs: number];
}

/** Name of a platform event. */
export type PlatformEventName = keyof PlatformEvents;

/** Typed publish/subscribe for {@link PlatformEvents}. */
export interface EventBus {
  /** Subscribes `fn` to `event`. */
  on<K extends PlatformEventName>(event: K, fn: (...args: PlatformEvents[K]) => void): this;
  /** Unsubscribes `fn` from `event`. */
  off<K extends PlatformEventName>(event: K, fn: (...args: PlatformEvents[K]) => void): this;
  /** Whether anyone listens to `event` (check before building arguments on a hot path). */
  listening(event: PlatformEventName): boolean;
  /** Publishes `event`. Meant for the framework's own packages and plugins. */
  emit<K extends PlatformEventName>(event: K, ...args: PlatformEvents[K]): void;
}

/** Token for {@link EventBus}. */
export const EventBus: typeof Tokens.EventBus = Tokens.EventBus;

/** The {@link EventBus} implementation, on eventemitter3. */
export class PlatformEventBus implements EventBus {
  private readonly emitter = new EventEmitter();
  /**
   * Listener counts kept beside the emitter: `listening` runs on the event hot path, where a
   * fixed-shape lookup is much cheaper than asking the emitter each time.
   */
  private readonly counts: Record<PlatformEventName, number> = {
    'evtchn:pending': 0,
    'evtchn:bind': 0,
    'evtchn:close': 0,
    'evtchn:dropped': 0,
    'upcall:deliver': 0,
    'upcall:enter': 0,
    'irq:handled': 0,
    warn: 0,
    'domain:crash': 0,
    'domain:destroyed': 0,
    'vcpu:livelock': 0,
  };

  // Whether anyone listens to the two events asked about on every event, as fields of their
  // own: `listening` answers them with one field load where it is inlined.
  private pending = false;
  private handled = false;

  /** Subscribes `fn` to `event`. */
  on<K extends PlatformEventName>(event: K, fn: (...args: PlatformEvents[K]) => void): this {
    this.emitter.on(event, fn as (...a: unknown[]) => void);
    this.recount(event);
    return this;
  }

  /** Unsubscribes `fn` from `event`. */
  off<K extends PlatformEventName>(event: K, fn: (...args: PlatformEvents[K]) => void): this {
    this.emitter.off(event, fn as (...a: unknown[]) => void);
    this.recount(event);
    return this;
  }

  private recount(event: PlatformEventName): void {
    const n = this.emitter.listenerCount(event);
    this.counts[event] = n;
    if (event === 'evtchn:pending') this.pending = n > 0;
    else if (event === 'irq:handled') this.handled = n > 0;
  }

  /** Whether anyone listens to `event` (check before building arguments on a hot path). */
  listening(event: PlatformEventName): boolean {
    // Inlined into every event's path, where V8's inlining budget counts every bytecode byte
    // and inlines any call made here even rarely (a call behind the per-event names was
    // inlined whole into the event path). So: the two per-event names from their fields, the
    // rest from the counts (a keyed load that goes megamorphic, paid per bind, close or upcall).
    if (event === 'irq:handled') return this.handled;
    if (event === 'evtchn:pending') return this.pending;
    return this.counts[event] > 0;
  }

  /** Publishes `event`. Meant for the framework's own packages and plugins. */
  emit<K extends PlatformEventName>(event: K, ...args: PlatformEvents[K]): void {
    this.emitter.emit(event, ...args);
  }
}
