/**
 * Unsolicited replies of the local gateway (a light that reports back, a timer that went off):
 * each is due after its delay, then waits until its device is idle, with no turn open and no
 * reply still playing there, so it is neither dropped by the agent nor spoken over another
 * reply. A device that reconnected meanwhile gets it on its new connection.
 */
import type { Logger } from '../log/logger.js';

export interface AnnounceTarget {
  /** The connection is still open. */
  readonly open: boolean;
  /** Nothing is happening on it: no turn open, no reply streaming or playing. */
  idle(): boolean;
}

export interface AnnouncerOptions<T extends AnnounceTarget> {
  /** Sends `text` as an unsolicited spoken reply. */
  send(target: T, text: string): Promise<void>;
  /** The open connections, for an announcement whose own connection closed. */
  targets(): T[];
  log: Logger;
  /** How often a waiting announcement checks again, ms (default 100). */
  pollMs?: number;
  /** Longest wait for an idle device once due; then it is sent anyway (default 60000). */
  maxWaitMs?: number;
}

export class Announcer<T extends AnnounceTarget> {
  readonly #o: Required<AnnouncerOptions<T>>;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: AnnouncerOptions<T>) {
    this.#o = { pollMs: 100, maxWaitMs: 60_000, ...options };
  }

  /** Says `text` to `target` after `delayMs` (or later, when it is busy then). */
  schedule(target: T, text: string, delayMs: number): { cancel(): void } {
    let timer: NodeJS.Timeout | undefined;
    let canceled = false;
    const arm = (ms: number, fn: () => void) => {
      if (timer) this.#timers.delete(timer);
      timer = setTimeout(() => {
        this.#timers.delete(timer!);
        if (!canceled) fn();
      }, ms);
      this.#timers.add(timer);
    };
    const attempt = (dueAt: number) => {
      const to = target.open ? target : this.#o.targets().find((t) => t.open);
      const waited = performance.now() - dueAt;
      if (to && (to.idle() || waited >= this.#o.maxWaitMs)) {
        this.#o.send(to, text).catch((err: unknown) => this.#o.log.warn('announcement-failed', { error: String(err) }));
        return;
      }
      if (!to && waited >= this.#o.maxWaitMs) {
        this.#o.log.warn('announcement-dropped', { text, reason: 'no device connected' });
        return;
      }
      arm(this.#o.pollMs, () => attempt(dueAt));
    };
    arm(delayMs, () => attempt(performance.now()));
    return {
      cancel: () => {
        canceled = true;
        if (timer) {
          clearTimeout(timer);
          this.#timers.delete(timer);
        }
      },
    };
  }

  /** Cancels everything scheduled (the gateway stops). */
  cancelAll(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
