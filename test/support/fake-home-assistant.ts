/**
 * Home Assistant's side of the ESPHome native API, played by the `@2colors/esphome-native-api`
 * client (an independent implementation: google-protobuf for the messages, noise-c compiled to
 * WebAssembly for the encryption). It connects, says hello, reads device info and entities,
 * subscribes to states; the voice-assistant part of Home Assistant (subscribe, answer the run
 * request, send pipeline events, announcements, timers) is scripted by the test.
 *
 * The library's message table stops before the voice assistant messages, so they are added
 * here from its own generated protobuf classes (same ids as the proto); without that the library
 * drops the connection on the first voice message.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { Client } from '@2colors/esphome-native-api';

const require = createRequire(import.meta.url);

interface PbMessage {
  serializeBinary(): Uint8Array;
  [setter: string]: unknown;
}
type PbClass = (new () => PbMessage) & { id?: number | string; type?: string };
interface MessagesModule {
  id_to_type: Record<number, string>;
  type_to_id: Record<string, number | string>;
  pb: Record<string, PbClass>;
}

const messages = require('@2colors/esphome-native-api/lib/utils/messages') as MessagesModule;

const VOICE_MESSAGES: Record<number, string> = {
  89: 'SubscribeVoiceAssistantRequest',
  90: 'VoiceAssistantRequest',
  91: 'VoiceAssistantResponse',
  92: 'VoiceAssistantEventResponse',
  106: 'VoiceAssistantAudio',
  115: 'VoiceAssistantTimerEventResponse',
  119: 'VoiceAssistantAnnounceRequest',
  120: 'VoiceAssistantAnnounceFinished',
  121: 'VoiceAssistantConfigurationRequest',
  122: 'VoiceAssistantConfigurationResponse',
  123: 'VoiceAssistantSetConfiguration',
};
for (const [id, type] of Object.entries(VOICE_MESSAGES)) {
  messages.id_to_type[Number(id)] = type;
  messages.type_to_id[type] = id;
  messages.pb[type]!.id = id;
  messages.pb[type]!.type = type;
}
const pb = messages.pb;

/** Builds a google-protobuf message with its setters: `{ eventType: 4 }` calls `setEventType(4)`. */
function build(type: string, fields: Record<string, unknown>): PbMessage {
  const m = new pb[type]!();
  for (const [k, v] of Object.entries(fields)) {
    const setter = `set${k[0]!.toUpperCase()}${k.slice(1)}`;
    if (typeof m[setter] !== 'function') throw new Error(`${type} has no ${setter}`);
    (m[setter] as (x: unknown) => void).call(m, v);
  }
  return m;
}

export interface Received {
  type: string;
  msg: Record<string, unknown>;
}

export interface FakeHaOptions {
  port: number;
  /** base64 key; empty for plaintext. */
  key?: string;
  expectedServerName?: string;
}

interface ConnectionLike {
  sendMessage(m: PbMessage): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  connected: boolean;
  frameHelper: { socket: Socket };
}

/** The parts of the library's Client used here (its bundled typings omit the EventEmitter side). */
interface ClientLike {
  connect(): void;
  disconnect(): void;
  on(event: string, listener: (...args: never[]) => void): this;
  once(event: string, listener: (...args: never[]) => void): this;
}

export class FakeHomeAssistant {
  readonly client: ClientLike;
  readonly received: Received[] = [];
  readonly errors: Error[] = [];
  #cursor = 0;
  #waiters: (() => void)[] = [];

  constructor(o: FakeHaOptions) {
    this.client = new Client({
      host: '127.0.0.1',
      port: o.port,
      encryptionKey: o.key ?? '',
      expectedServerName: o.expectedServerName ?? '',
      reconnect: false,
      clientInfo: 'Home Assistant (test)',
    } as never) as unknown as ClientLike;
    const conn = this.connection;
    conn.on('message', (type, msg) => {
      this.received.push({ type: type as string, msg: msg as Record<string, unknown> });
      for (const w of this.#waiters.splice(0)) w();
    });
    this.client.on('error', (e: Error) => {
      this.errors.push(e);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  get connection(): ConnectionLike {
    return (this.client as unknown as { connection: ConnectionLike }).connection;
  }

  get deviceInfo(): Record<string, unknown> {
    return (this.client as unknown as { deviceInfo: Record<string, unknown> }).deviceInfo;
  }

  get entities(): Record<string, { type: string; config: Record<string, unknown> }> {
    const raw = (this.client as unknown as { entities: Record<string, { constructor: { name: string }; config: Record<string, unknown> }> }).entities;
    return Object.fromEntries(Object.entries(raw).map(([k, e]) => [k, { type: e.constructor.name, config: e.config }]));
  }

  /** Connects and runs the library's start-up (hello, device info, entities, states). */
  async connect(timeoutMs = 5000): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Home Assistant (test) did not initialise within ${timeoutMs} ms: ${this.errors.map((e) => e.message).join('; ')}`)), timeoutMs);
      this.client.once('initialized', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.connect();
    });
  }

  /** Waits for an error from the library (handshake failure and the like). */
  async nextError(timeoutMs = 5000): Promise<Error> {
    const start = this.errors.length;
    await this.#until(() => this.errors.length > start, 'an error', timeoutMs);
    return this.errors[start]!;
  }

  send(type: string, fields: Record<string, unknown> = {}): void {
    this.connection.sendMessage(build(type, fields));
  }

  subscribeVoice(): void {
    this.send('SubscribeVoiceAssistantRequest', { subscribe: true, flags: 1 });
  }

  /** Home Assistant accepted the run (port 0: audio over the API). */
  acceptRun(): void {
    this.send('VoiceAssistantResponse', { port: 0 });
  }

  event(eventType: number, data: Record<string, string> = {}): void {
    const m = build('VoiceAssistantEventResponse', { eventType });
    for (const [name, value] of Object.entries(data)) (m.addData as (d: PbMessage) => void).call(m, build('VoiceAssistantEventData', { name, value }));
    this.connection.sendMessage(m);
  }

  /** The next message of `type` after the cursor (matching `pred`); moves the cursor past it. */
  async next(type: string, pred: (m: Record<string, unknown>) => boolean = () => true, timeoutMs = 5000): Promise<Record<string, unknown>> {
    let found: Received | undefined;
    await this.#until(
      () => {
        for (let i = this.#cursor; i < this.received.length; i++) {
          const r = this.received[i]!;
          if (r.type === type && pred(r.msg)) {
            this.#cursor = i + 1;
            found = r;
            return true;
          }
        }
        return false;
      },
      `message ${type}`,
      timeoutMs,
    );
    return found!.msg;
  }

  /** Every message of `type` received so far. */
  all(type: string): Record<string, unknown>[] {
    return this.received.filter((r) => r.type === type).map((r) => r.msg);
  }

  disconnect(): void {
    this.client.disconnect();
  }

  /** Drops the TCP connection without a goodbye, as a Home Assistant restart does. */
  kill(): void {
    this.connection.frameHelper.socket.destroy();
  }

  async #until(pred: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (errors: ${this.errors.map((e) => e.message).join('; ') || 'none'})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
