import { EventEmitter } from 'node:events';

/** Map of event name -> listener argument tuple. */
export type EventMap = { [event: string]: unknown[] };

/**
 * An EventEmitter whose event names and argument types are checked at compile time.
 * It is a plain EventEmitter at run time, so `once()` from node:events works on it.
 */
export class TypedEmitter<E extends EventMap> {
  readonly #ee = new EventEmitter();

  constructor() {
    // A port may have many listeners (session, control socket, LEDs, tests).
    this.#ee.setMaxListeners(50);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#ee.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#ee.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#ee.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Resolves with the event's arguments the next time it fires. */
  next<K extends keyof E & string>(event: K): Promise<E[K]> {
    return new Promise((resolve) => this.once(event, (...args) => resolve(args)));
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#ee.listenerCount(event);
  }

  removeAllListeners(): this {
    this.#ee.removeAllListeners();
    return this;
  }

  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return this.#ee.emit(event, ...args);
  }
}
