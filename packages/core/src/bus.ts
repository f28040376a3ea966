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

  // The counts of the events asked about on every event, bind or close, as fields of their
  // own: a keyed lookup called with several names goes megamorphic, while a switch over
  // constant names inlines to one field load at each call site.
  private pending = 0;
  private deliver = 0;
  private handled = 0;
  private bound = 0;
  private closed = 0;

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
    if (event === 'evtchn:pending') this.pending = n;
    else if (event === 'upcall:deliver') this.deliver = n;
    else if (event === 'irq:handled') this.handled = n;
    else if (event === 'evtchn:bind') this.bound = n;
    else if (event === 'evtchn:close') this.closed = n;
  }

  /** Whether anyone listens to `event` (check before building arguments on a hot path). */
  listening(event: PlatformEventName): boolean {
    // The guest's per-event name first, the rest behind one call: this method is inlined into
    // the guest's event path, whose inlining budget every bytecode byte here takes from (the
    // hypervisor's send path, which asks for 'evtchn:pending', has budget to spare).
    return event === 'irq:handled' ? this.handled > 0 : this.listeningOther(event);
  }

  /** `listening` for the events asked about per send, upcall, bind or close, and the rest. */
  private listeningOther(event: PlatformEventName): boolean {
    switch (event) {
      case 'evtchn:pending':
        return this.pending > 0;
      case 'upcall:deliver':
        return this.deliver > 0;
      case 'evtchn:bind':
        return this.bound > 0;
      case 'evtchn:close':
        return this.closed > 0;
      default:
        return this.counts[event] > 0;
    }
  }

  /** Publishes `event`. Meant for the framework's own packages and plugins. */
  emit<K extends PlatformEventName>(event: K, ...args: PlatformEvents[K]): void {
    this.emitter.emit(event, ...args);
  }
}
