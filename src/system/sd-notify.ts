/**
 * systemd readiness, status and watchdog notifications (sd_notify protocol).
 *
 * The agent's composition root creates one notifier, calls `ready()` once audio, GPIO and the
 * gateway are up (or degraded, with the reason as status), `status()` on each state change,
 * `stopping()` on SIGTERM and `close()` last. Outside systemd (`NOTIFY_SOCKET` unset) every
 * call is a no-op, so the same code runs in a terminal and in tests.
 *
 * Delivery goes through a {@link NotifyTransport} (default: `systemd-notify`, see
 * notify-transport.ts for why). Messages are sent one at a time in order; a STATUS update
 * waiting behind another is replaced by the newer one, so a chatty state machine costs at
 * most one helper process at a time.
 */
import type { Logger } from '../log/logger.js';
import { execTransport, type NotifyTransport } from './notify-transport.js';

/** Timer functions, injectable so tests can drive the watchdog tick by tick. */
export interface WatchdogTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface SystemdNotifierOptions {
  /** The process environment: `NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID` are read. */
  env: NodeJS.ProcessEnv;
  log: Logger;
  /**
   * The main loop's liveness. Checked on every watchdog tick; WATCHDOG=1 is sent only while it
   * returns true, so a wedged agent is restarted by systemd. Default: always healthy (the
   * tick itself still proves the event loop runs).
   */
  healthy?: () => boolean;
  /** Default: `systemd-notify` with `env`. */
  transport?: NotifyTransport;
  /** Default: the global setInterval/clearInterval (unref'd, so they never keep Node alive). */
  timers?: WatchdogTimers;
  /** This process's PID, compared with `WATCHDOG_PID`. Default `process.pid`. */
  pid?: number;
}

export interface SystemdNotifier {
  /** True when running under systemd with a notify socket. */
  readonly enabled: boolean;
  /** Milliseconds between WATCHDOG=1 pings (half of `WATCHDOG_USEC`), or 0 when no watchdog. */
  readonly watchdogIntervalMs: number;
  /** Sends READY=1 with a status line (first call only; later calls just update the status). */
  ready(status?: string): Promise<void>;
  /** Sends STATUS=text, shown by `systemctl status`. Newlines become spaces. */
  status(text: string): Promise<void>;
  /** Sends STOPPING=1 (and an optional status) and stops the watchdog. */
  stopping(status?: string): Promise<void>;
  /** Stops the watchdog and waits for queued messages; later messages are dropped. Every call waits for the same delivery. */
  close(): Promise<void>;
}

/** Half of `WATCHDOG_USEC` in ms (as sd_watchdog_enabled(3) recommends), or 0 when disabled. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return 0;
  // WATCHDOG_PID names the process the watchdog is meant for; a child that inherited the
  // environment must not ping on the main process's behalf.
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return 0;
  return Math.max(1, Math.floor(usec / 2000));
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

const defaultTimers: WatchdogTimers = {
  setInterval(fn, ms) {
    const handle = setInterval(fn, ms);
    handle.unref();
    return handle;
  },
  clearInterval(handle) {
    clearInterval(handle as NodeJS.Timeout);
  },
};

/** Creates the notifier; see the module comment for the call order. */
export function createSystemdNotifier(options: SystemdNotifierOptions): SystemdNotifier {
  const socket = options.env.NOTIFY_SOCKET;
  if (!socket) return disabledNotifier();
  return new Notifier(options);
}

function disabledNotifier(): SystemdNotifier {
  const done = (): Promise<void> => Promise.resolve();
  return { enabled: false, watchdogIntervalMs: 0, ready: done, status: done, stopping: done, close: done };
}

interface Pending {
  assignments: string[];
  statusOnly: boolean;
  waiters: (() => void)[];
}

class Notifier implements SystemdNotifier {
  readonly enabled = true;
  readonly watchdogIntervalMs: number;
  readonly #log: Logger;
  readonly #transport: NotifyTransport;
  readonly #timers: WatchdogTimers;
  readonly #healthy: () => boolean;
  readonly #queue: Pending[] = [];
  /** The message being delivered now (still queue[0]); it can no longer be changed. */
  #inFlight: Pending | undefined;
  #timer: unknown;
  #sending = false;
  #readySent = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #withheld = false;
  #lastError = '';

  constructor(options: SystemdNotifierOptions) {
    this.#log = options.log.child('systemd');
    this.#transport = options.transport ?? execTransport({ env: options.env });
    this.#timers = options.timers ?? defaultTimers;
    this.#healthy = options.healthy ?? (() => true);
    this.watchdogIntervalMs = watchdogIntervalMs(options.env, options.pid ?? process.pid);
    // systemd arms the watchdog when the main process starts, so pings begin now, not at READY.
    if (this.watchdogIntervalMs > 0) {
      this.#timer = this.#timers.setInterval(() => this.#tick(), this.watchdogIntervalMs);
      this.#log.debug('watchdog', { intervalMs: this.watchdogIntervalMs });
    }
  }

  ready(status?: string): Promise<void> {
    if (this.#readySent) return status === undefined ? Promise.resolve() : this.status(status);
    this.#readySent = true;
    const assignments = ['READY=1'];
    if (status !== undefined) assignments.push(`STATUS=${oneLine(status)}`);
    return this.#enqueue(assignments, false);
  }

  status(text: string): Promise<void> {
    return this.#enqueue([`STATUS=${oneLine(text)}`], true);
  }

  stopping(status?: string): Promise<void> {
    this.#stopWatchdog();
    const assignments = ['STOPPING=1'];
    if (status !== undefined) assignments.push(`STATUS=${oneLine(status)}`);
    return this.#enqueue(assignments, false);
  }

  close(): Promise<void> {
    this.#stopWatchdog();
    // Every caller waits for the same delivery (one may close on `stopped`, another before exit).
    this.#closing ??= (async () => {
      // Let what is queued (typically STOPPING=1) go out, then refuse more.
      const last = this.#queue[this.#queue.length - 1];
      this.#closed = true;
      if (last) await new Promise<void>((resolve) => last.waiters.push(resolve));
    })();
    return this.#closing;
  }

  #tick(): void {
    if (!this.#healthy()) {
      if (!this.#withheld) this.#log.warn('watchdog-withheld', { reason: 'main loop reported unhealthy; systemd will restart the service if this lasts' });
      this.#withheld = true;
      return;
    }
    if (this.#withheld) this.#log.info('watchdog-resumed');
    this.#withheld = false;
    // A ping already waiting is as good as a new one.
    if (this.#queue.some((p) => p !== this.#inFlight && p.assignments.includes('WATCHDOG=1'))) return;
    void this.#enqueue(['WATCHDOG=1'], false);
  }

  #stopWatchdog(): void {
    if (this.#timer === undefined) return;
    this.#timers.clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #enqueue(assignments: string[], statusOnly: boolean): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const last = this.#queue[this.#queue.length - 1];
      if (statusOnly && last?.statusOnly && last !== this.#inFlight) {
        // Nobody needs the older status any more: replace it, resolve both callers together.
        last.assignments = assignments;
        last.waiters.push(resolve);
      } else {
        this.#queue.push({ assignments, statusOnly, waiters: [resolve] });
      }
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      for (let next = this.#queue[0]; next; next = this.#queue[0]) {
        this.#inFlight = next;
        try {
          await this.#transport.send(next.assignments);
          this.#lastError = '';
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          // A broken helper would otherwise log every watchdog tick: warn once per new cause.
          if (message !== this.#lastError) this.#log.warn('notify-failed', { message, sent: next.assignments.map((a) => a.split('=')[0]) });
          this.#lastError = message;
        }
        this.#queue.shift();
        this.#inFlight = undefined;
        for (const w of next.waiters) w();
      }
    } finally {
      this.#sending = false;
    }
  }
}
