/**
 * One WebSocket that stays up: it connects in the background, finds a silent peer with a
 * heartbeat, and reconnects after a capped, jittered backoff. A refused credential (HTTP 401/403
 * on the upgrade, or `drop(..., { auth: true })`) and a target that cannot be built (no token,
 * unreadable CA file) are retried slowly, after `authRetryMs`, instead of in a hot loop.
 *
 * The target of each attempt is asked for afresh (it may be async: a token command runs), so a
 * rotated token is picked up on every reconnect. After a credential refusal the target is asked
 * at once: when its credential changed, it is tried immediately, once, before the slow retry.
 *
 * The protocol spoken on the socket is the consumer's (the gateway client, the soca backend):
 * it sends its handshake on `open`, says when the connection counts as up (`markReady()`, or at
 * once without `readyTimeoutMs`), and words the reason of each `disconnected` itself.
 */
import type { Duplex } from 'node:stream';
import { WsClient, type WsClientOptions } from '../net/ws-client.js';
import { Backoff } from './backoff.js';
import { systemScheduler, TimerSlot, type Scheduler } from './clock.js';
import { TypedEmitter } from './typed-emitter.js';
import { closeGracefully } from './ws-close.js';

/** Where and how to connect. */
export interface SocketTarget {
  url: string | URL;
  /** Passed to the client (net/ws-client.ts): headers, handshakeTimeout, maxPayload, ca. */
  options?: WsClientOptions;
  /**
   * A fingerprint of the credential this attempt presents (never the credential itself). After
   * the server refused one, the next target is asked for at once and tried immediately if its
   * fingerprint differs (the token was rotated or exchanged anew); without one, a refusal always
   * waits `authRetryMs`.
   */
  credential?: string;
}

export type TargetResult = SocketTarget | TargetUnavailable;

/** No attempt can be made now (a missing token, an unreadable CA file); retried after `authRetryMs`. */
export interface TargetUnavailable {
  unavailable: string;
  /** The credential is what is missing: the `disconnected` event says `auth: true`. */
  auth: boolean;
}

/** What ended an attempt or a connection. */
export type SocketFailure =
  /** `target()` said no attempt can be made. */
  | { kind: 'unavailable'; reason: string }
  /** `target()` or ws threw before any I/O (an unusable URL or option). */
  | { kind: 'invalid'; error: Error }
  /** The server answered the upgrade with this HTTP status. */
  | { kind: 'refused'; status: number }
  /** Connecting failed: DNS, refused, TLS, handshake timeout. */
  | { kind: 'error'; error: Error }
  /** The open socket closed; `error` is the socket error that came first, if any. */
  | { kind: 'closed'; code: number; reason: string; error?: Error }
  /** Nothing came back for `pingIntervalMs + pongTimeoutMs`: the socket was terminated. */
  | { kind: 'heartbeat'; silentMs: number }
  /** `markReady()` did not come within `readyTimeoutMs` of the open. */
  | { kind: 'ready-timeout'; timeoutMs: number }
  /** The consumer called `drop(reason)`. */
  | { kind: 'dropped'; reason: string };

export interface SocketDown {
  failure: SocketFailure;
  /** A refused or missing credential: retried after `authRetryMs`. */
  auth: boolean;
  /**
   * Milliseconds until the next attempt; -1 when none is scheduled (a normal close with
   * `reconnectAfterNormalClose: false`: `start()` connects again).
   */
  retryInMs: number;
  /** The connection had counted as connected. */
  wasConnected: boolean;
  /**
   * A credential refusal right after another one, with no connection in between: the consumer
   * reports the first one clearly and need not repeat itself on every slow retry.
   */
  repeated: boolean;
}

export type ReconnectingSocketEvents = {
  /** The upgrade succeeded: send the handshake. Counts as connected only after `markReady()` when `readyTimeoutMs` is set. */
  open: [WsClient];
  /** The connection is up. */
  connected: [];
  /** A message on the current socket. */
  message: [Buffer, boolean];
  /** An attempt failed or the connection was lost; the next attempt is already scheduled. Never emitted by `stop()`. */
  disconnected: [SocketDown];
};

export interface ReconnectingSocketOptions {
  /** Asked before every attempt, so a rotated token or a fixed CA file is picked up; may be async. */
  target: () => TargetResult | Promise<TargetResult>;
  /** Backoff base: doubles from min to max (milliseconds), each delay jittered by +-50 %. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Delay after a refused or missing credential, and after `unavailable` (milliseconds). */
  authRetryMs: number;
  /** A ping goes out every `pingIntervalMs`; the socket is terminated when nothing (pong or ping) came for interval + `pongTimeoutMs`. */
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** When set, the connection counts as connected only at `markReady()`, which must come within this many milliseconds of the open. */
  readyTimeoutMs?: number;
  /** A connection that stayed connected this long resets the backoff (milliseconds, default 10 000). */
  stableMs?: number;
  /**
   * When false, a close with code 1000 from the server ends the connection without a retry: the
   * socket goes `idle` (the `disconnected` event says `retryInMs: -1`) until `start()` is called
   * again. Default true.
   */
  reconnectAfterNormalClose?: boolean;
  /** Random source of the jitter; injectable for tests. */
  random?: () => number;
  /** Time source for every timer (default: the system clock). */
  clock?: Scheduler;
}

const DEFAULT_STABLE_MS = 10_000;

export type SocketState = State['kind'];

type State =
  | { kind: 'stopped' }
  /** The retry timer is pending (or the first attempt is about to start). */
  | { kind: 'waiting' }
  /** An async `target()` is being built (e.g. a token command runs). */
  | { kind: 'preparing' }
  /** The server closed normally and `reconnectAfterNormalClose` is off: nothing until `start()`. */
  | { kind: 'idle' }
  | { kind: 'connecting'; ws: WsClient }
  /** Upgraded, waiting for `markReady()`. */
  | { kind: 'open'; ws: WsClient }
  | { kind: 'connected'; ws: WsClient; since: number };

export class ReconnectingSocket extends TypedEmitter<ReconnectingSocketEvents> {
  readonly #o: ReconnectingSocketOptions;
  readonly #clock: Scheduler;
  readonly #backoff: Backoff;
  readonly #retry: TimerSlot;
  readonly #heartbeat: TimerSlot;
  readonly #readyTimer: TimerSlot;
  #state: State = { kind: 'stopped' };
  #lastHeard = 0;
  #socketError: Error | undefined;
  #authRefused = false;
  /** The credential fingerprint of the current attempt. */
  #credential: string | undefined;
  /** The immediate retry after a refusal was used; reset once connected. */
  #quickAuthUsed = false;
  /** Bumped whenever an async target() result must be discarded (stop, a newer attempt). */
  #generation = 0;

  constructor(options: ReconnectingSocketOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock ?? systemScheduler();
    this.#backoff = new Backoff(options.reconnectMinMs, options.reconnectMaxMs, options.random);
    this.#retry = new TimerSlot(this.#clock);
    this.#heartbeat = new TimerSlot(this.#clock);
    this.#readyTimer = new TimerSlot(this.#clock);
  }

  get state(): SocketState {
    return this.#state.kind;
  }

  get connected(): boolean {
    return this.#state.kind === 'connected';
  }

  /** The upgraded socket (open or connected); undefined while connecting, waiting or stopped. */
  get ws(): WsClient | undefined {
    const s = this.#state;
    return s.kind === 'open' || s.kind === 'connected' ? s.ws : undefined;
  }

  /**
   * The TCP (or TLS) stream under `ws` (its `stream`): for a writer that puts
   * whole frames on it itself (the uplink's audio, src/gateway/ws-frames.ts).
   */
  get stream(): Duplex | undefined {
    const ws = this.ws;
    return ws?.stream;
  }

  /** Starts connecting in the background (again, when idle). Idempotent. */
  start(): void {
    if (this.#state.kind !== 'stopped' && this.#state.kind !== 'idle') return;
    this.#state = { kind: 'waiting' };
    this.#attempt();
  }

  /** Cancels the pending retry and closes the socket (close handshake, then cut off). Idempotent; emits nothing. */
  async stop(reason = 'stopping'): Promise<void> {
    const s = this.#state;
    if (s.kind === 'stopped') return;
    this.#state = { kind: 'stopped' };
    this.#generation++;
    this.#clearTimers();
    this.#retry.clear();
    if ('ws' in s) {
      s.ws.removeAllListeners();
      s.ws.on('error', () => {});
      await closeGracefully(s.ws, reason);
    }
  }

  /** The handshake on the open socket is done: the connection counts as connected. No-op in any other state. */
  markReady(): void {
    const s = this.#state;
    if (s.kind !== 'open') return;
    this.#readyTimer.clear();
    this.#state = { kind: 'connected', ws: s.ws, since: this.#clock.now() };
    this.#authRefused = false;
    this.#quickAuthUsed = false;
    this.emit('connected');
  }

  /** Terminates the current socket because of `reason` and reconnects later (after `authRetryMs` with `auth`). */
  drop(reason: string, options: { auth?: boolean } = {}): void {
    const s = this.#state;
    if ('ws' in s) this.#lost(s.ws, { kind: 'dropped', reason }, options.auth ?? false);
  }

  #attempt(): void {
    if (this.#state.kind !== 'waiting') return;
    this.#withTarget((target) => this.#open(target));
  }

  /**
   * Asks for the target and hands it to `use`; an async target puts the socket in `preparing`
   * meanwhile, and its result is dropped if the socket was stopped (or moved on) in between.
   */
  #withTarget(use: (target: TargetResult) => void): void {
    let result: TargetResult | Promise<TargetResult>;
    try {
      result = this.#o.target();
    } catch (err) {
      this.#fail({ kind: 'invalid', error: err instanceof Error ? err : new Error(String(err)) }, false, undefined);
      return;
    }
    if (!(result instanceof Promise)) {
      use(result);
      return;
    }
    const generation = ++this.#generation;
    this.#state = { kind: 'preparing' };
    const current = (): boolean => this.#state.kind === 'preparing' && generation === this.#generation;
    result.then(
      (target) => {
        if (!current()) return;
        this.#state = { kind: 'waiting' };
        use(target);
      },
      (err: unknown) => {
        if (!current()) return;
        this.#state = { kind: 'waiting' };
        this.#fail({ kind: 'invalid', error: err instanceof Error ? err : new Error(String(err)) }, false, undefined);
      },
    );
  }

  #open(target: TargetResult): void {
    if (this.#state.kind !== 'waiting') return;
    if ('unavailable' in target) {
      this.#fail({ kind: 'unavailable', reason: target.unavailable }, target.auth, undefined);
      return;
    }
    let ws: WsClient;
    try {
      ws = new WsClient(target.url, target.options);
    } catch (err) {
      this.#fail({ kind: 'invalid', error: err instanceof Error ? err : new Error(String(err)) }, false, undefined);
      return;
    }
    this.#credential = target.credential;
    this.#state = { kind: 'connecting', ws };
    this.#socketError = undefined;
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      this.#lost(ws, { kind: 'refused', status: res.statusCode ?? 0 }, res.statusCode === 401 || res.statusCode === 403);
    });
    ws.on('open', () => this.#onOpen(ws));
    ws.on('message', (data, isBinary) => this.emit('message', data, isBinary));
    // Any sign of life counts: a pong to our ping, or the peer's own ping.
    ws.on('pong', () => (this.#lastHeard = this.#clock.now()));
    ws.on('ping', () => (this.#lastHeard = this.#clock.now()));
    ws.on('error', (error) => {
      // Once open, ws follows an error with 'close'; that reports it.
      if (this.#state.kind === 'connecting') this.#lost(ws, { kind: 'error', error }, false);
      else this.#socketError = error;
    });
    ws.on('close', (code, reason) => {
      const error = this.#socketError;
      this.#lost(ws, { kind: 'closed', code, reason: reason.toString(), ...(error ? { error } : {}) }, false);
    });
  }

  #onOpen(ws: WsClient): void {
    const s = this.#state;
    if (s.kind !== 'connecting' || s.ws !== ws) return;
    this.#state = { kind: 'open', ws };
    this.#lastHeard = this.#clock.now();
    this.#armHeartbeat(ws);
    const readyMs = this.#o.readyTimeoutMs;
    if (readyMs !== undefined) this.#readyTimer.set(() => this.#lost(ws, { kind: 'ready-timeout', timeoutMs: readyMs }, false), readyMs);
    this.emit('open', ws);
    if (readyMs === undefined) this.markReady();
  }

  /** A re-armed timeout rather than an interval: each check schedules the next. */
  #armHeartbeat(ws: WsClient): void {
    const { pingIntervalMs, pongTimeoutMs } = this.#o;
    this.#heartbeat.set(() => {
      const silentMs = this.#clock.now() - this.#lastHeard;
      if (silentMs > pingIntervalMs + pongTimeoutMs) {
        this.#lost(ws, { kind: 'heartbeat', silentMs }, false);
        return;
      }
      if (ws.readyState === WsClient.OPEN) ws.ping();
      this.#armHeartbeat(ws);
    }, pingIntervalMs);
  }

  /** `ws` failed: cut it off (its later events are not ours any more) and schedule the next attempt. */
  #lost(ws: WsClient, failure: SocketFailure, auth: boolean): void {
    const s = this.#state;
    if (!('ws' in s) || s.ws !== ws) return;
    ws.removeAllListeners();
    ws.on('error', () => {});
    ws.terminate();
    this.#fail(failure, auth, s.kind === 'connected' ? s.since : undefined);
  }

  #fail(failure: SocketFailure, auth: boolean, connectedSince: number | undefined): void {
    this.#clearTimers();
    const wasConnected = connectedSince !== undefined;
    if (wasConnected && this.#clock.now() - connectedSince >= (this.#o.stableMs ?? DEFAULT_STABLE_MS)) this.#backoff.reset();
    // Only the server's refusals count as repeats; a missing token is the consumer's own report.
    const refusal = auth && failure.kind !== 'unavailable';
    const repeated = refusal && this.#authRefused;
    if (refusal) this.#authRefused = true;
    if (failure.kind === 'closed' && failure.code === 1000 && this.#o.reconnectAfterNormalClose === false) {
      this.#state = { kind: 'idle' };
      this.emit('disconnected', { failure, auth, retryInMs: -1, wasConnected, repeated });
      return;
    }
    const refused = this.#credential;
    if (refusal && !this.#quickAuthUsed && refused !== undefined) {
      // The token may have changed since it was read (rotated file, a fresh exchange): ask now.
      this.#quickAuthUsed = true;
      this.#state = { kind: 'waiting' };
      this.#withTarget((target) => {
        if (!('unavailable' in target) && target.credential !== undefined && target.credential !== refused) {
          this.emit('disconnected', { failure, auth, retryInMs: 0, wasConnected, repeated });
          this.#open(target);
        } else {
          this.#scheduleRetry(failure, auth, wasConnected, repeated);
        }
      });
      return;
    }
    this.#state = { kind: 'waiting' };
    this.#scheduleRetry(failure, auth, wasConnected, repeated);
  }

  #scheduleRetry(failure: SocketFailure, auth: boolean, wasConnected: boolean, repeated: boolean): void {
    if (this.#state.kind !== 'waiting') return;
    const retryInMs = auth || failure.kind === 'unavailable' ? this.#o.authRetryMs : this.#backoff.next();
    this.#retry.set(() => this.#attempt(), retryInMs);
    this.emit('disconnected', { failure, auth, retryInMs, wasConnected, repeated });
  }

  #clearTimers(): void {
    this.#heartbeat.clear();
    this.#readyTimer.clear();
  }
}
