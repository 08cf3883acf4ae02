/**
 * SLNG streaming text-to-speech (docs/protocol.md "SLNG"). One session per reply: it connects and
 * sends `init` (model, voice, rate, encoding) as soon as it is opened, so the handshake overlaps
 * the skill call; `speak()` sends the text with `flush: true`. Audio (`audio_chunk` base64, or raw
 * binary frames) is passed on as it arrives. The reply ends at `audio_end` or `flushed` (both say
 * every byte of audio has been sent), or when the server closes normally after audio.
 *
 * Only the unified bridge (`/v1/bridges/unmute/tts/...`) answers `init` with `ready`, and only
 * there is the text held until it comes; a provider-native endpoint (`/v1/tts/deepgram/aura:2`)
 * sends none, so the text follows `init` at once. Every wait has a limit and an error that names
 * the endpoint. `cancel()` sends `clear` (barge-in) and `close`. A `rate_limit` error before any
 * audio is retried on a fresh connection after a growing delay.
 */
import type WebSocket from 'ws';
import type { SlngTtsConfig } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import type { ReplyFormat } from '../../ports/backend.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { ServiceError } from '../service-error.js';
import { slngError } from '../stt/slng.js';
import { connectWs, type Connected, parseJsonObject, safeUrl } from '../ws-connect.js';

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

/** True for the unified bridge, the one endpoint family documented to answer `init` with `ready`. */
export function sendsReady(url: string): boolean {
  try {
    return new URL(url).pathname.includes('/bridges/');
  } catch {
    return false;
  }
}

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
  /** Re-armed by every message once the text is out: a silent endpoint fails the reply. */
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #where: string;

  constructor(options: SlngTtsOptions) {
    super();
    this.#opt = options;
    this.#log = options.log.child('tts.slng');
    const c = options.config;
    this.#format = c.encoding === 'mp3' ? { codec: 'mp3' } : { codec: 'pcm', sampleRate: c.sampleRate, channels: 1 };
    this.#where = safeUrl(c.url);
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
    clearTimeout(this.#idleTimer);
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
    ws.on('error', (err) => this.#log.warn('socket-error', { error: err.message }));
    ws.on('close', (code, reason) => {
      if (ws !== this.#ws || this.#state === 'done') return;
      // Some upstreams close normally right after the last audio instead of saying flushed.
      if (code === 1000 && this.#state === 'speaking' && this.#audioStarted) return this.#finish();
      const why = reason.length ? `${code} ${reason.toString()}` : String(code);
      this.#failed(new ServiceError('slng-tts', 'provider', `slng-tts at ${this.#where} closed the connection before the reply was complete (${why})`));
    });
    conn.listen((data, isBinary) => this.#onMessage(ws, data, isBinary));
    const config: Record<string, unknown> = { sample_rate: c.sampleRate, encoding: c.encoding };
    if (c.language) config.language = c.language;
    if (c.speed !== undefined) config.speed = c.speed;
    const init: Record<string, unknown> = { type: 'init', model: c.model, config };
    if (c.voice) init.voice = c.voice;
    ws.send(JSON.stringify(init));
    if (!sendsReady(c.url)) {
      // A provider-native endpoint acknowledges nothing: the text may follow init at once.
      this.#state = 'ready';
      if (this.#text !== undefined) this.#sendText();
      return;
    }
    this.#readyTimer = setTimeout(
      () =>
        this.#failed(
          new ServiceError(
            'slng-tts',
            'timeout',
            `slng-tts at ${this.#where} did not send ready within ${this.#opt.connectTimeoutMs} ms after init (check the URL: only the unified /v1/bridges/unmute/tts/ endpoints send ready)`,
          ),
        ),
      this.#opt.connectTimeoutMs,
    );
  }

  #onMessage(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    if (ws !== this.#ws || this.#state === 'done') return;
    if (this.#state === 'speaking') this.#armIdle();
    if (isBinary) {
      this.#audio(data as Buffer);
      return;
    }
    const msg = parseJsonObject(data);
    if (!msg) {
      this.#log.warn('bad-message', { detail: 'slng-tts sent a text frame that is not a JSON object; ignored' });
      return;
    }
    // Provider-native endpoints capitalise their message types (Flushed, Cleared, Metadata).
    switch (typeof msg.type === 'string' ? msg.type.toLowerCase() : '') {
      case 'ready':
        clearTimeout(this.#readyTimer);
        if (this.#state !== 'initializing') return;
        this.#state = 'ready';
        if (this.#text !== undefined) this.#sendText();
        return;
      case 'metadata':
        this.#log.debug('metadata', { model: String(msg.model_name ?? '') });
        return;
      case 'audio_chunk': {
        if (typeof msg.data !== 'string') return;
        if (typeof msg.sequence === 'number') {
          if (msg.sequence <= this.#lastSequence) this.#log.warn('sequence-out-of-order', { sequence: msg.sequence, last: this.#lastSequence });
          this.#lastSequence = msg.sequence;
        }
        this.#audio(Buffer.from(msg.data, 'base64'));
        return;
      }
      case 'segment_start':
      case 'segment_end':
        this.#log.debug(String(msg.type), { segment: String(msg.segment_id ?? '') });
        return;
      case 'flushed':
      case 'audio_end':
        // Both are sent after the last audio of what was flushed (docs/protocol.md "SLNG"): done.
        if (this.#state === 'speaking') this.#finish();
        return;
      case 'cleared':
        return;
      case 'error':
        this.#failed(slngError('slng-tts', String(msg.code ?? 'unknown'), String(msg.message ?? '')));
        return;
      default:
        this.#log.debug('ignored-message', { type: String(msg.type) });
    }
  }

  #sendText(): void {
    this.#state = 'speaking';
    this.#ws?.send(JSON.stringify({ type: 'text', text: this.#text, flush: true }));
    this.#armIdle();
  }

  #armIdle(): void {
    clearTimeout(this.#idleTimer);
    const ms = this.#opt.config.idleTimeoutMs;
    this.#idleTimer = setTimeout(
      () => this.#failed(new ServiceError('slng-tts', 'timeout', `slng-tts at ${this.#where} sent nothing for ${ms} ms while synthesising the reply`)),
      ms,
    );
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
    clearTimeout(this.#idleTimer);
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
    clearTimeout(this.#idleTimer);
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
      this.#log.warn('rate-limited', { attempt: this.#attempt, retryInMs: delay });
      this.#state = 'connecting';
      this.#retryTimer = setTimeout(() => void this.#connect(), delay);
      return;
    }
    this.#state = 'done';
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
