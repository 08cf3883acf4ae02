/** Records every event of a Backend in order, and waits for the next matching one. */
import type { Backend, BackendEvents } from '../../src/ports/backend.js';

export type Recorded = { [K in keyof BackendEvents]: { name: K; arg: BackendEvents[K][0] } }[keyof BackendEvents];

const NAMES: (keyof BackendEvents)[] = [
  'connected',
  'disconnected',
  'transcript',
  'replyText',
  'replyAudioStart',
  'replyAudio',
  'replyAudioEnd',
  'replyEnd',
  'response',
  'turnError',
  'barge',
];

export class EventLog {
  readonly events: Recorded[] = [];
  #waiters: { pred: (e: Recorded) => boolean; resolve: (e: Recorded) => void; from: number }[] = [];
  /** Index up to which `next` already consumed. */
  #cursor = 0;

  constructor(backend: Backend) {
    for (const name of NAMES) {
      backend.on(name, ((arg: unknown) => this.#push({ name, arg } as Recorded)) as never);
    }
  }

  #push(e: Recorded): void {
    this.events.push(e);
    for (const w of [...this.#waiters]) {
      if (w.pred(e)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  }

  /** Names in order, e.g. for a compact sequence assertion. */
  names(filter?: (e: Recorded) => boolean): string[] {
    return this.events.filter(filter ?? (() => true)).map((e) => e.name);
  }

  of<K extends keyof BackendEvents>(name: K): BackendEvents[K][0][] {
    return this.events.filter((e) => e.name === name).map((e) => e.arg as BackendEvents[K][0]);
  }

  /** The first event named `name` (matching `pred`) at or after the cursor; moves the cursor past it. */
  async next<K extends keyof BackendEvents>(
    name: K,
    pred: (arg: BackendEvents[K][0]) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<BackendEvents[K][0]> {
    const match = (e: Recorded): boolean => e.name === name && pred(e.arg as BackendEvents[K][0]);
    for (let i = this.#cursor; i < this.events.length; i++) {
      if (match(this.events[i]!)) {
        this.#cursor = i + 1;
        return this.events[i]!.arg as BackendEvents[K][0];
      }
    }
    const e = await new Promise<Recorded>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for backend event "${name}"`)), timeoutMs);
      this.#waiters.push({
        pred: match,
        from: this.events.length,
        resolve: (ev) => {
          clearTimeout(timer);
          resolve(ev);
        },
      });
    });
    this.#cursor = this.events.indexOf(e) + 1;
    return e.arg as BackendEvents[K][0];
  }

  /** Concatenated replyAudio bytes for `turnId`. */
  audio(turnId: string | null): Buffer {
    return Buffer.concat(this.of('replyAudio').filter((a) => a.turnId === turnId).map((a) => a.data));
  }
}
