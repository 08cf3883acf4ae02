/**
 * The broker connection: one `mqtt` (MQTT.js) client, loaded on first use so an agent without
 * `mqtt.url` never loads the package. MQTT.js's own fixed-interval reconnect is off; this wrapper
 * reconnects with the project's jittered backoff (src/util/backoff.ts), so a fleet that lost its
 * broker does not come back in lock-step, and re-reads the password before every attempt.
 * Subscriptions are made again on every connect (clean sessions: nothing is queued on the broker
 * for a speaker that is away, so stale commands never replay).
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import type { MqttConfig } from '../config/schema.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { Backoff } from '../util/backoff.js';
import { systemScheduler, TimerSlot, type Scheduler } from '../util/clock.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { connectOptions, displayUrl, readPassword, type OptionDeps } from './options.js';

/** A connection that lasted this long resets the backoff. */
const STABLE_MS = 10_000;
/** Bound on the graceful end (DISCONNECT after the last acknowledged publish). */
const END_TIMEOUT_MS = 1000;
/** Incoming packets above this size are not delivered by an MQTT 5 broker (the `say` limit is far below). */
const MAX_PACKET_BYTES = 64 * 1024;
/** CONNACK / DISCONNECT reason codes that mean "these credentials are not accepted" (3.1.1 and 5). */
const AUTH_CODES = new Set([4, 5, 134, 135, 138]);
/** MQTT 5 DISCONNECT reason: another client connected with the same client id. */
const SESSION_TAKEN_OVER = 142;

export type LinkState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'stopped';

export interface LinkStatus {
  state: LinkState;
  /** Broker URL without user information. */
  url: string;
  clientId: string;
  /** When the current state began (ISO-8601). */
  since: string;
  /** Connections made since start (1 after the first, 2 after a reconnect...). */
  connects: number;
  /** Failed attempts since the last successful connect. */
  failures: number;
  /** Why the last attempt or connection ended. */
  lastError?: string;
  published: number;
  received: number;
}

export type ConnectionEvents = {
  connected: [];
  disconnected: [{ reason: string; retryInMs: number; wasConnected: boolean }];
  message: [{ topic: string; payload: Buffer; retain: boolean }];
};

export interface ConnectionOptions {
  config: MqttConfig;
  clientId: string;
  /** Published by the broker when this client vanishes without a DISCONNECT. Retained. */
  will: { topic: string; payload: string };
  /** Topic filters subscribed on every connect. */
  subscriptions: string[];
  log: Logger;
  clock?: Scheduler;
  random?: () => number;
  deps?: OptionDeps;
}

export class MqttConnection extends TypedEmitter<ConnectionEvents> {
  readonly #o: ConnectionOptions;
  readonly #log: Logger;
  readonly #clock: Scheduler;
  readonly #backoff: Backoff;
  readonly #retry: TimerSlot;
  #client: MqttClient | undefined;
  #base: IClientOptions | undefined;
  #url = '';
  #state: LinkState = 'idle';
  #since = new Date();
  #connectedAt = 0;
  #connects = 0;
  #failures = 0;
  #lastError: string | undefined;
  #lastLogged: string | undefined;
  /** Why the server ended the connection (DISCONNECT packet), used for the close that follows. */
  #serverReason: { code: number; text: string } | undefined;
  #published = 0;
  #received = 0;
  /** MQTT.js has a socket only after its first connect() call. */
  #dialled = false;

  constructor(o: ConnectionOptions) {
    super();
    this.#o = o;
    this.#log = o.log;
    this.#clock = o.clock ?? systemScheduler();
    this.#backoff = new Backoff(o.config.reconnectMinMs, o.config.reconnectMaxMs, o.random);
    this.#retry = new TimerSlot(this.#clock);
  }

  status(): LinkStatus {
    return {
      state: this.#state,
      url: this.#url,
      clientId: this.#o.clientId,
      since: this.#since.toISOString(),
      connects: this.#connects,
      failures: this.#failures,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      published: this.#published,
      received: this.#received,
    };
  }

  /**
   * Loads MQTT.js and starts connecting; resolves once the first attempt is under way (not when
   * it succeeds: a broker that is down never holds up the agent). Throws ConfigError for
   * unreadable TLS or password files.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    const c = this.#o.config;
    const conn = connectOptions(c, this.#o.deps);
    readPassword(c, this.#o.deps); // a broken password file fails the start, with its path
    this.#url = displayUrl(conn.url);
    const mqtt = await import('mqtt');
    if (this.#state !== 'idle') return; // stopped while loading
    this.#base = {
      clientId: this.#o.clientId,
      protocolVersion: c.protocolVersion,
      clean: true,
      keepalive: c.keepaliveS,
      connectTimeout: c.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      manualConnect: true,
      ...(conn.username ? { username: conn.username } : {}),
      ...conn.tls,
      rejectUnauthorized: true,
      will: { topic: this.#o.will.topic, payload: Buffer.from(this.#o.will.payload), qos: c.qos, retain: true },
      ...(c.protocolVersion === 5 ? { properties: { maximumPacketSize: MAX_PACKET_BYTES } } : {}),
    };
    const client = mqtt.connect(conn.url, this.#base);
    this.#client = client;
    client.on('connect', () => this.#onConnect());
    client.on('message', (topic, payload, packet) => {
      this.#received++;
      this.emit('message', { topic, payload, retain: packet.retain });
    });
    client.on('error', (err) => this.#onError(err));
    client.on('disconnect', (packet) => {
      const code = packet.reasonCode ?? 0;
      this.#serverReason = { code, text: `the broker disconnected us: ${reasonText(code)}` };
    });
    client.on('close', () => this.#onClose());
    this.#attempt();
  }

  /** Publishes when connected; returns false (and drops the message) otherwise. Never throws. */
  publish(topic: string, payload: string, retain: boolean): boolean {
    const client = this.#client;
    if (!client || this.#state !== 'connected') return false;
    this.#published++;
    client.publish(topic, payload, { qos: this.#o.config.qos, retain }, (err) => {
      if (err) this.#log.debug('mqtt-publish-failed', { topic, error: err.message });
    });
    return true;
  }

  /** Graceful stop: DISCONNECT after pending publishes are acknowledged (bounded), then close. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasConnected = this.#state === 'connected';
    this.#setState('stopped');
    this.#retry.clear();
    const client = this.#client;
    if (!client || !this.#dialled) return;
    await new Promise<void>((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        client.end(true);
        resolve();
      }, END_TIMEOUT_MS);
      client.end(!wasConnected, () => {
        this.#clock.clearTimeout(timer);
        resolve();
      });
    });
    client.removeAllListeners();
    client.on('error', () => undefined);
  }

  #attempt(): void {
    const client = this.#client;
    if (!client || this.#state === 'stopped') return;
    this.#setState('connecting');
    this.#serverReason = undefined;
    let password: string | undefined;
    try {
      password = readPassword(this.#o.config, this.#o.deps).password;
    } catch (err) {
      // The file went away since start: report it and try again later (it may come back).
      const reason = err instanceof ConfigError ? err.issues.join('; ') : errorMessage(err);
      this.#fail(reason, true);
      return;
    }
    if (password === undefined) delete client.options.password;
    else client.options.password = password;
    this.#log.debug('mqtt-connecting', { url: this.#url, clientId: this.#o.clientId, user: this.#base?.username ?? null });
    if (this.#dialled) client.reconnect();
    else client.connect();
    this.#dialled = true;
  }

  #onConnect(): void {
    if (this.#state === 'stopped') return;
    this.#connects++;
    this.#failures = 0;
    this.#connectedAt = this.#clock.now();
    this.#lastLogged = undefined;
    this.#setState('connected');
    this.#log.info('mqtt-connected', { url: this.#url, clientId: this.#o.clientId, reconnect: this.#connects > 1 });
    const qos = this.#o.config.qos;
    this.#client?.subscribe(this.#o.subscriptions, { qos }, (err) => {
      if (err) this.#log.warn('mqtt-subscribe-failed', { topics: this.#o.subscriptions, error: err.message });
    });
    this.emit('connected');
  }

  #onError(err: Error & { code?: unknown }): void {
    const code = typeof err.code === 'number' ? err.code : undefined;
    this.#lastError = err.message;
    if (code !== undefined && AUTH_CODES.has(code)) this.#serverReason = { code, text: err.message };
  }

  #onClose(): void {
    if (this.#state !== 'connecting' && this.#state !== 'connected') return;
    const wasConnected = this.#state === 'connected';
    const server = this.#serverReason;
    let reason = server?.text ?? (wasConnected ? 'connection lost' : (this.#lastError ?? 'connection closed'));
    if (server?.code === SESSION_TAKEN_OVER) {
      reason = `another client connected with client id ${this.#o.clientId}: every speaker on a broker needs its own mqtt.deviceId`;
    }
    const auth = server !== undefined && AUTH_CODES.has(server.code);
    const stable = wasConnected && this.#clock.now() - this.#connectedAt >= STABLE_MS;
    if (stable) this.#backoff.reset();
    // A broker that ends a fresh connection without a reason (mosquitto does so when a second
    // client logs in with the same id) most often means two speakers share one device id.
    const hint = wasConnected && !stable && !server ? `the broker closed the connection soon after accepting it: does another speaker use client id ${this.#o.clientId} (mqtt.deviceId)?` : undefined;
    this.#fail(reason, auth, wasConnected, hint);
  }

  /** Schedules the next attempt; a refused login waits the longest delay (a loop would not fix it). */
  #fail(reason: string, auth: boolean, wasConnected = false, hint?: string): void {
    this.#failures++;
    this.#lastError = reason;
    const retryInMs = auth ? this.#o.config.reconnectMaxMs : this.#backoff.next();
    this.#setState('waiting');
    this.#retry.set(() => this.#attempt(), retryInMs);
    const fields = { url: this.#url, reason, retryInMs, ...(hint ? { hint } : {}), ...(auth ? { fix: 'check mqtt.username and the password (mqtt.passwordFile, the mqtt-password credential or $' + this.#o.config.passwordEnv + ')' } : {}) };
    const event = auth ? 'mqtt-auth-rejected' : wasConnected ? 'mqtt-disconnected' : 'mqtt-connect-failed';
    // Each new reason is a warning; the same failure again (a broker that stays down) is debug.
    if (wasConnected || reason !== this.#lastLogged) this.#log.warn(event, fields);
    else this.#log.debug(event, fields);
    this.#lastLogged = reason;
    this.emit('disconnected', { reason, retryInMs, wasConnected });
  }

  #setState(state: LinkState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#since = new Date();
  }
}

function reasonText(code: number): string {
  const known: Record<number, string> = {
    0: 'normal disconnection',
    4: 'disconnect with will message',
    128: 'unspecified error',
    135: 'not authorized',
    137: 'server busy',
    139: 'server shutting down',
    141: 'keep-alive timeout',
    142: 'session taken over',
    149: 'packet too large',
    150: 'message rate too high',
    151: 'quota exceeded',
    152: 'administrative action',
  };
  return `${known[code] ?? 'reason'} (${code})`;
}
