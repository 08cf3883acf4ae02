/**
 * The MQTT adapter: observes the session (whatever the backend) and mirrors it on the broker,
 * and turns commands from the broker into the same session requests the control socket makes
 * (src/control/server.ts). Topics, payloads and retain rules: docs/mqtt.md.
 *
 * What it keeps: the last value of every state topic. On every (re)connect, and when Home
 * Assistant announces itself on `<discoveryPrefix>/status`, it publishes the discovery configs,
 * every state and then `online`, so a broker that lost its retained messages (a restart without
 * persistence) is complete again. Between connects only changed values are published.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttConfig } from '../config/schema.js';
import type { RequestResult, SessionEvents, SessionStatus } from '../core/session.js';
import type { TriggerSource } from '../core/state.js';
import type { Logger } from '../log/logger.js';
import type { LedState } from '../ports/gpio.js';
import type { Scheduler } from '../util/clock.js';
import { systemScheduler } from '../util/clock.js';
import { MqttConnection, type LinkStatus } from './client.js';
import { parseCommand, type Command } from './commands.js';
import { resolveIdentity, type Identity, type IdentityDeps } from './identity.js';
import type { OptionDeps } from './options.js';
import { commandOf, discoveryMessages, OFF, OFFLINE, ON, ONLINE, topicsFor, type ErrorPayload, type TextPayload, type Topics } from './topics.js';

/** What the adapter uses of the session (src/core/session.ts): its events and its request methods. */
export interface SessionLike {
  on<K extends keyof SessionEvents & string>(event: K, listener: (...args: SessionEvents[K]) => void): unknown;
  off<K extends keyof SessionEvents & string>(event: K, listener: (...args: SessionEvents[K]) => void): unknown;
  status(): SessionStatus;
  trigger(source: TriggerSource): RequestResult;
  say(text: string): RequestResult;
  setMuted(muted: boolean): RequestResult;
  setVolume(percent: number): RequestResult;
  stopAll(): RequestResult;
}

/** The `mqtt` part of `speaker-agent status`. */
export interface MqttStatus extends LinkStatus {
  deviceId: string;
  /** `<prefix>/<deviceId>`: every topic of this speaker starts here. */
  topic: string;
  discovery: boolean;
  transcripts: boolean;
}

export interface MqttAdapterOptions {
  config: MqttConfig;
  session: SessionLike;
  log: Logger;
  /** The speaker volume the agent started with (`audio.volume`). */
  volume: number;
  clock?: Scheduler;
  random?: () => number;
  identity?: IdentityDeps;
  deps?: OptionDeps;
}

/** At most this many warnings about bad commands per window; the rest are counted. */
const BAD_LOG_BURST = 5;
const BAD_LOG_WINDOW_MS = 10_000;

export class MqttAdapter {
  readonly identity: Identity;
  readonly topics: Topics;
  readonly #c: MqttConfig;
  readonly #session: SessionLike;
  readonly #log: Logger;
  readonly #clock: Scheduler;
  readonly #conn: MqttConnection;
  readonly #swVersion = packageVersion();
  /** Desired retained value per state topic. */
  readonly #values = new Map<string, string>();
  /** What was published on this connection, per topic (so unchanged values are not sent again). */
  readonly #sent = new Map<string, string>();
  #detach: (() => void) | undefined;
  #badWindowStart = 0;
  #badInWindow = 0;
  #badSuppressed = 0;
  #started = false;

  constructor(o: MqttAdapterOptions) {
    this.#c = o.config;
    this.#session = o.session;
    this.#log = o.log.child('mqtt');
    this.#clock = o.clock ?? systemScheduler();
    this.identity = resolveIdentity(o.config, o.identity);
    this.topics = topicsFor(o.config.prefix, this.identity.deviceId, o.config.discoveryPrefix);
    this.#conn = new MqttConnection({
      config: o.config,
      clientId: `speaker-agent-${this.identity.deviceId}`,
      will: { topic: this.topics.availability, payload: OFFLINE },
      subscriptions: [this.topics.commandFilter, this.topics.haStatus],
      log: this.#log,
      clock: this.#clock,
      ...(o.random ? { random: o.random } : {}),
      ...(o.deps ? { deps: o.deps } : {}),
    });
    this.#values.set(this.topics.volume, String(Math.round(o.volume)));
    this.#values.set(this.topics.error, JSON.stringify({ code: null, message: '', at: null } satisfies ErrorPayload));
  }

  status(): MqttStatus {
    return {
      ...this.#conn.status(),
      deviceId: this.identity.deviceId,
      topic: this.topics.base,
      discovery: this.#c.discovery,
      transcripts: this.#c.publishTranscripts,
    };
  }

  /** Starts observing the session and connecting; does not wait for the broker. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#observe();
    this.#conn.on('connected', () => this.#announce());
    this.#conn.on('message', (m) => this.#onMessage(m.topic, m.payload, m.retain));
    this.#log.info('mqtt-identity', { deviceId: this.identity.deviceId, source: this.identity.source, name: this.identity.name, topic: this.topics.base });
    await this.#conn.start();
  }

  /** Publishes `offline` (a clean stop sends no last will), then disconnects. Idempotent. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#detach?.();
    this.#detach = undefined;
    this.#conn.publish(this.topics.availability, OFFLINE, true);
    await this.#conn.stop();
  }

  #observe(): void {
    const s = this.#session;
    const onState = (st: SessionStatus) => this.#fromStatus(st);
    const onLed = (led: LedState) => this.#set(this.topics.led, led);
    const onError: (...a: SessionEvents['error']) => void = (e) => {
      const at = s.status().lastError?.at ?? new Date().toISOString();
      this.#set(this.topics.error, JSON.stringify({ code: e.code, message: e.message, at } satisfies ErrorPayload));
    };
    const onTranscript: (...a: SessionEvents['transcript']) => void = (t) => {
      if (t.final) this.#event(this.topics.transcript, { text: t.text, turnId: t.turnId, at: new Date().toISOString() });
    };
    const onReply: (...a: SessionEvents['replyText']) => void = (r) => this.#event(this.topics.reply, { text: r.text, turnId: r.turnId, at: new Date().toISOString() });
    s.on('state', onState);
    s.on('led', onLed);
    s.on('error', onError);
    if (this.#c.publishTranscripts) {
      s.on('transcript', onTranscript);
      s.on('replyText', onReply);
    }
    this.#fromStatus(s.status());
    this.#detach = () => {
      s.off('state', onState);
      s.off('led', onLed);
      s.off('error', onError);
      s.off('transcript', onTranscript);
      s.off('replyText', onReply);
    };
  }

  #fromStatus(st: SessionStatus): void {
    this.#set(this.topics.state, st.phase);
    this.#set(this.topics.led, st.led);
    this.#set(this.topics.connected, st.connected ? ON : OFF);
    this.#set(this.topics.mute, st.muted ? ON : OFF);
    // The session reports the volume however it was set (MQTT, the control socket, Home Assistant).
    if (st.volume !== undefined) this.#set(this.topics.volume, String(Math.round(st.volume)));
  }

  /** Records a state value and publishes it (retained) if connected and changed. */
  #set(topic: string, payload: string): void {
    this.#values.set(topic, payload);
    if (this.#sent.get(topic) === payload) return;
    if (this.#conn.publish(topic, payload, true)) this.#sent.set(topic, payload);
  }

  /** A moment, not a state (transcript, reply): published once, not retained, never replayed. */
  #event(topic: string, payload: TextPayload): void {
    this.#conn.publish(topic, JSON.stringify(payload), false);
  }

  /** Everything, in the order Home Assistant wants it: configs, states, then `online`. */
  #announce(): void {
    this.#sent.clear();
    const messages = discoveryMessages(
      {
        topics: this.topics,
        discoveryPrefix: this.#c.discoveryPrefix,
        deviceId: this.identity.deviceId,
        name: this.identity.name,
        swVersion: this.#swVersion,
        qos: this.#c.qos,
        maxSayChars: this.#c.maxSayChars,
        publishTranscripts: this.#c.publishTranscripts,
      },
      this.#c.discovery,
    );
    for (const m of messages) this.#conn.publish(m.topic, m.payload ? JSON.stringify(m.payload) : '', true);
    for (const [topic, payload] of this.#values) {
      if (this.#conn.publish(topic, payload, true)) this.#sent.set(topic, payload);
    }
    this.#conn.publish(this.topics.availability, ONLINE, true);
  }

  #onMessage(topic: string, payload: Buffer, retain: boolean): void {
    if (topic === this.topics.haStatus) {
      // Home Assistant (re)started: it may have missed the retained configs if the broker lost them.
      if (!retain && payload.toString('utf8').trim() === ONLINE) {
        this.#log.info('mqtt-home-assistant-online');
        this.#announce();
      }
      return;
    }
    const name = commandOf(this.topics, topic);
    if (name === undefined) return;
    if (name === 'unknown') {
      this.#bad(topic, 'unknown command: use listen, stop, say, mute or volume');
      return;
    }
    if (retain) {
      // A retained command would run again at every reconnect.
      this.#bad(topic, `retained ${name} command ignored: publish commands without the retain flag (clear it with: mosquitto_pub -r -n -t ${topic})`);
      return;
    }
    const parsed = parseCommand(name, payload, this.#c.maxSayChars);
    if (!parsed.ok) {
      this.#bad(topic, parsed.error);
      return;
    }
    const result = this.#execute(parsed.command);
    if (result.ok) {
      this.#log.info('mqtt-command', { command: name });
      if (parsed.command.cmd === 'volume') this.#set(this.topics.volume, String(parsed.command.percent));
    } else {
      this.#log.info('mqtt-command-refused', { command: name, reason: result.reason, message: result.message });
    }
  }

  /** The control socket's commands, one for one (src/control/server.ts). */
  #execute(c: Command): RequestResult {
    const s = this.#session;
    switch (c.cmd) {
      case 'listen':
        return s.trigger('control');
      case 'stop':
        return s.stopAll();
      case 'say':
        return s.say(c.text);
      case 'mute':
        return s.setMuted(c.muted);
      case 'volume':
        return s.setVolume(c.percent);
    }
  }

  /** One warning per bad command, at most BAD_LOG_BURST per window: a flood does not flood the journal. */
  #bad(topic: string, error: string): void {
    const now = this.#clock.now();
    if (now - this.#badWindowStart >= BAD_LOG_WINDOW_MS) {
      this.#badWindowStart = now;
      this.#badInWindow = 0;
    }
    if (++this.#badInWindow > BAD_LOG_BURST) {
      this.#badSuppressed++;
      return;
    }
    const suppressed = this.#badSuppressed;
    this.#badSuppressed = 0;
    this.#log.warn('mqtt-bad-command', { topic, error, ...(suppressed ? { suppressed } : {}) });
  }
}

/** This package's version (device `sw_version` in discovery); walks up from src/mqtt or dist/src/mqtt. */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    dir = path.dirname(dir);
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'speaker-agent' && pkg.version) return pkg.version;
    } catch {
      // not here: keep walking up
    }
  }
  return 'unknown';
}
