/**
 * SLNG streaming text-to-speech (seed 003). One session per reply: it connects and sends `init`
 * (model, voice, rate, encoding) as soon as it is opened, so the handshake overlaps the skill
 * call; `speak()` sends the text with `flush: true`. Audio (`audio_chunk` base64, or raw binary
 * frames) is passed on as it arrives. The reply ends at `audio_end`, or at `flushed` once its
 * audio is in (see #maybeDone). `cancel()` sends `clear` (barge-in) and `close`. A `rate_limit` error before any audio
 * is retried on a fresh connection after a growing delay.
 */
import type WebSocket from 'ws';
import type { SlngTtsConfig } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import type { ReplyFormat } from '../../ports/backend.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { ServiceError } from '../service-error.js';
import { slngError } from '../stt/slng.js';
import { connectWs, type Connected, parseJsonObject } from '../ws-connect.js';

export type TtsEvents = {
  /** The first audio of the reply is here; `format` says how to play it. */
  start: [ReplyFormat];
  audio: [Buffer];
  /** All audio was delivered (possibly none: then `start` never fired). */
  end: [];
  /** Synthesis failed (after retries). No more events follow. */
  error: [ServiceError];
};

export interface TtsSession extends TypedEmitter<TtsEvents> {
  /** Synthesizes `text` (once per session). */
  speak(text: string): void;
  /** Stops synthesis (`clear`, then `close`). No more events. Idempotent. */
  cancel(): Promise<void>;
}

export interface TtsClient {
  readonly name: string;
  /** Connects and initialises in the background. */
  open(): TtsSession;
}

export interface SlngTtsOptions {
  config: SlngTtsConfig;
  key: string;
  authScheme: string;
  log: Logger;
  connectTimeoutMs: number;
  /** How long `cancel()` waits for the server to close. */
  closeTimeoutMs?: number;
}

export class SlngTts implements TtsClient {
  readonly name = 'slng';
  constructor(private readonly options: SlngTtsOptions) {
    options.log.addSecret(options.key);
  }
  open(): TtsSession {
    return new SlngTtsSession(this.options);
  }
}

type State = 'connecting' | 'initializing' | 'ready' | 'speaking' | 'done';

/** How long a flush that produced no audio may stay silent before the reply counts as empty. */
const FLUSH_GRACE_MS = 3000;

class SlngTtsSession extends TypedEmitter<TtsEvents> implements TtsSession {
  readonly #opt: SlngTtsOptions;
  readonly #log: Logger;
  readonly #format: ReplyFormat;
  #state: State = 'connecting';
  #ws: WebSocket | undefined;
  #text: string | undefined;
  #audioStarted = false;
  #attempt = 0;
  #readyTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #lastSequence = -1;
  #flushed = false;
  #openSegments = 0;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(options: SlngTtsOptions) {
    super();
    this.#opt = options;
    this.#log = options.log.child('tts.slng');
    const c = options.config;
    this.#format = c.encoding === 'mp3' ? { codec: 'mp3' } : { codec: 'pcm', sampleRate: c.sampleRate, channels: 1 };
    void this.#connect();
  }

  speak(text: string): void {
    if (this.#text !== undefined || this.#state === 'done') return;
    this.#text = text;
    if (this.#state === 'ready') this.#sendText();
  }

  async cancel(): Promise<void> {
    if (this.#state === 'done') return;
    this.#state = 'done';
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#readyTimer);
    clearTimeout(this.#graceTimer);
    const ws = this.#ws;
    this.#ws = undefined;
    if (!ws) return;
    ws.removeAllListeners('message');
    if (ws.readyState !== ws.OPEN) {
      ws.terminate();
      return;
    }
    if (this.#text !== undefined) ws.send(JSON.stringify({ type: 'clear' }));
    ws.send(JSON.stringify({ type: 'close' }));
    await this.#closeSocket(ws);
  }

  async #connect(): Promise<void> {
    const c = this.#opt.config;
    let conn: Connected;
    try {
      conn = await connectWs(c.url, {
        service: 'slng-tts',
        headers: { Authorization: `${this.#opt.authScheme} ${this.#opt.key}` },
        timeoutMs: this.#opt.connectTimeoutMs,
      });
    } catch (err) {
      this.#failed(err as ServiceError);
      return;
    }
    const ws = conn.ws;
    if (this.#state === 'done') {
      ws.terminate();
      return;
    }
    this.#ws = ws;
    this.#state = 'initializing';
    ws.on('error', (err) => this.#log.warn('socket_error', { error: err.message }));
    ws.on('close', (code, reason) => {
      if (ws !== this.#ws || this.#state === 'done') return;
      const why = reason.length ? `${code} ${reason.toString()}` : String(code);
      this.#failed(new ServiceError('slng-tts', 'provider', `slng-tts closed the connection before the reply was complete (${why})`));
    });
    conn.listen((data, isBinary) => this.#onMessage(ws, data, isBinary));
    const config: Record<string, unknown> = { sample_rate: c.sampleRate, encoding: c.encoding };
    if (c.language) config.language = c.language;
    if (c.speed !== undefined) config.speed = c.speed;
    const init: Record<string, unknown> = { type: 'init', model: c.model, config };
    if (c.voice) init.voice = c.voice;
    ws.send(JSON.stringify(init));
    this.#readyTimer = setTimeout(
      () => this.#failed(new ServiceError('slng-tts', 'timeout', `slng-tts did not send ready within ${this.#opt.connectTimeoutMs} ms after init`)),
      this.#opt.connectTimeoutMs,
    );
  }

  #onMessage(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    if (ws !== this.#ws || this.#state === 'done') return;
    if (isBinary) {
      this.#audio(data as Buffer);
      return;
    }
    const msg = parseJsonObject(data);
    if (!msg) {
      this.#log.warn('bad_message', { detail: 'slng-tts sent a text frame that is not a JSON object; ignored' });
      return;
    }
    switch (msg.type) {
      case 'ready':
        clearTimeout(this.#readyTimer);
        if (this.#state !== 'initializing') return;
        this.#state = 'ready';
        if (this.#text !== undefined) this.#sendText();
        return;
      case 'audio_chunk': {
        if (typeof msg.data !== 'string') return;
        if (typeof msg.sequence === 'number') {
          if (msg.sequence <= this.#lastSequence) this.#log.warn('sequence_out_of_order', { sequence: msg.sequence, last: this.#lastSequence });
          this.#lastSequence = msg.sequence;
        }
        this.#audio(Buffer.from(msg.data, 'base64'));
        return;
      }
      case 'segment_start':
        this.#openSegments++;
        this.#log.debug(msg.type, { segment: String(msg.segment_id ?? '') });
        return;
      case 'segment_end':
        this.#openSegments = Math.max(0, this.#openSegments - 1);
        this.#log.debug(msg.type, { segment: String(msg.segment_id ?? '') });
        this.#maybeDone();
        return;
      case 'flushed':
        this.#flushed = true;
        this.#maybeDone();
        return;
      case 'audio_end':
        if (this.#state === 'speaking') this.#finish();
        return;
      case 'cleared':
        return;
      case 'error':
        this.#failed(slngError('slng-tts', String(msg.code ?? 'unknown'), String(msg.message ?? '')));
        return;
      default:
        this.#log.debug('ignored_message', { type: String(msg.type) });
    }
  }

  /**
   * The reply is complete at `audio_end`, or once `flushed` came with audio delivered and no
   * segment still open. The seed does not say whether `flushed` follows the audio or merely
   * acknowledges the flush, so both orders work; a flush that produced no audio at all ends
   * after FLUSH_GRACE_MS.
   */
  #maybeDone(): void {
    if (this.#state !== 'speaking' || !this.#flushed || this.#openSegments > 0) return;
    if (this.#audioStarted) {
      this.#finish();
    } else {
      this.#graceTimer ??= setTimeout(() => {
        if (this.#state === 'speaking' && !this.#audioStarted) this.#finish();
      }, FLUSH_GRACE_MS);
    }
  }

  #sendText(): void {
    this.#state = 'speaking';
    this.#ws?.send(JSON.stringify({ type: 'text', text: this.#text, flush: true }));
  }

  #audio(data: Buffer): void {
    if (this.#state !== 'speaking' || !data.length) return;
    if (!this.#audioStarted) {
      this.#audioStarted = true;
      this.emit('start', this.#format);
    }
    this.emit('audio', data);
  }

  #finish(): void {
    this.#state = 'done';
    clearTimeout(this.#graceTimer);
    const ws = this.#ws;
    this.#ws = undefined;
    this.emit('end');
    if (ws) {
      ws.removeAllListeners('message');
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'close' }));
      void this.#closeSocket(ws);
    }
  }

  #failed(err: ServiceError): void {
    if (this.#state === 'done') return;
    clearTimeout(this.#readyTimer);
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) {
      ws.removeAllListeners('message');
      ws.removeAllListeners('close');
      ws.on('error', () => {});
      ws.terminate();
    }
    const c = this.#opt.config;
    if (err.kind === 'rate_limit' && !this.#audioStarted && this.#attempt < c.rateLimitRetries) {
      const delay = c.rateLimitRetryMs * 2 ** this.#attempt;
      this.#attempt++;
      this.#log.warn('rate_limited', { attempt: this.#attempt, retryInMs: delay });
      this.#state = 'connecting';
      this.#flushed = false;
      this.#openSegments = 0;
      this.#retryTimer = setTimeout(() => void this.#connect(), delay);
      return;
    }
    this.#state = 'done';
    clearTimeout(this.#graceTimer);
    this.emit('error', err);
  }

  #closeSocket(ws: WebSocket): Promise<void> {
    return new Promise((resolve) => {
      if (ws.readyState === ws.CLOSED) return resolve();
      const force = setTimeout(() => {
        ws.terminate();
        resolve();
      }, this.#opt.closeTimeoutMs ?? 2000);
      ws.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      ws.on('error', () => {});
    });
  }
}
