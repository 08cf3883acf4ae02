/**
 * SLNG streaming speech-to-text (docs/protocol.md "SLNG"): `init` with the recognition config,
 * `ready`, audio as binary PCM frames (the service's preferred form), `partial_transcript` /
 * `final_transcript`, `finalize` on local end of speech, `keepalive` when nothing was sent for a
 * while, and `close` at the end (the server sends what is left, then closes the socket).
 *
 * A `final_transcript` is a finished segment, not the whole utterance: segments are collected
 * and joined until the utterance ends: `utterance_end`, a final marked `from_finalize` (the answer
 * to `finalize`) or `speech_final`, a quiet gap after `finalize`, or the server closing.
 */
import type WebSocket from 'ws';
import type { SlngSttConfig } from '../../config/schema.js';
import { int16ToBytes } from '../../audio/wav.js';
import type { Logger } from '../../log/logger.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { ServiceError, type ServiceErrorKind } from '../service-error.js';
import { connectWs, type Connected, parseJsonObject } from '../ws-connect.js';
import type { SttClient, SttEvents, SttSession } from './types.js';

const MAX_PENDING_BYTES = 10_000 * 32; // 10 s at 16 kHz
/** After `finalize`, the utterance ends when no further segment came for this long (ms). */
const FINALIZE_QUIET_MS = 400;

export interface SlngSttOptions {
  /** `url` must be set (the registry checks). */
  config: SlngSttConfig & { url: string };
  /** API key; sent as `Authorization: <authScheme> <key>`; never logged. */
  key: string;
  authScheme: string;
  log: Logger;
  connectTimeoutMs: number;
}

/** Maps SLNG's documented error codes to a kind and an actionable message. */
export function slngError(service: string, code: string, message: string): ServiceError {
  const kinds: Record<string, [ServiceErrorKind, string]> = {
    auth_error: ['auth', 'the API key was refused; check the key file or SLNG_API_KEY'],
    config_error: ['config', 'the configuration was refused; check model, voice, language, sample rate and encoding'],
    rate_limit: ['rate_limit', 'too many requests for this key; retrying later'],
    provider_error: ['provider', 'the upstream provider failed; try again'],
  };
  const [kind, hint] = kinds[code] ?? (['provider', 'unexpected error'] as [ServiceErrorKind, string]);
  return new ServiceError(service, kind, `${service} ${code}: ${message} (${hint})`);
}

export class SlngStt implements SttClient {
  readonly name = 'slng';
  constructor(private readonly options: SlngSttOptions) {
    options.log.addSecret(options.key);
  }
  open(): SttSession {
    return new SlngSttSession(this.options);
  }
}

type State = 'connecting' | 'initializing' | 'ready' | 'closing' | 'closed';

class SlngSttSession extends TypedEmitter<SttEvents> implements SttSession {
  readonly #opt: SlngSttOptions;
  readonly #log: Logger;
  #state: State = 'connecting';
  #ws: WebSocket | undefined;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #finalizeWanted = false;
  #closeWanted = false;
  #keepalive: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  #lastSent = 0;
  /** The utterance's finished segments, and their confidences. */
  #segments: string[] = [];
  #confidences: number[] = [];
  #finalSent = false;
  #finalizeSent = false;
  #quietTimer: NodeJS.Timeout | undefined;
  #finalizeCap: NodeJS.Timeout | undefined;
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  constructor(options: SlngSttOptions) {
    super();
    this.#opt = options;
    this.#log = options.log.child('stt.slng');
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
    void this.#connect();
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  send(pcm: Int16Array): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    if (this.#state === 'ready') {
      this.#sendRaw(int16ToBytes(pcm));
      return;
    }
    this.#pending.push(Buffer.from(int16ToBytes(pcm)));
    this.#pendingBytes += pcm.byteLength;
    while (this.#pendingBytes > MAX_PENDING_BYTES && this.#pending.length > 1) this.#pendingBytes -= this.#pending.shift()!.length;
  }

  finalize(): void {
    if (this.#state === 'closing' || this.#state === 'closed' || this.#finalizeWanted) return;
    this.#finalizeWanted = true;
    if (this.#state === 'ready') this.#sendFinalize();
  }

  close(): Promise<void> {
    if (this.#state === 'closed') return this.#closedPromise;
    this.#closeWanted = true;
    if (this.#state === 'initializing' || this.#state === 'ready') this.#sendClose();
    return this.#closedPromise;
  }

  async #connect(): Promise<void> {
    let conn: Connected;
    try {
      conn = await connectWs(this.#opt.config.url, {
        service: 'slng-stt',
        headers: { Authorization: `${this.#opt.authScheme} ${this.#opt.key}` },
        timeoutMs: this.#opt.connectTimeoutMs,
      });
    } catch (err) {
      this.emit('error', err as ServiceError);
      this.#finish();
      return;
    }
    const ws = conn.ws;
    this.#ws = ws;
    this.#state = 'initializing';
    ws.on('error', (err) => this.#log.warn('socket-error', { error: err.message }));
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString()));
    conn.listen((data, isBinary) => this.#onMessage(data, isBinary));
    const c = this.#opt.config;
    this.#sendRaw(
      JSON.stringify({
        type: 'init',
        config: {
          language: c.language,
          sample_rate: 16000,
          encoding: 'linear16',
          enable_vad: c.enableVad,
          enable_partials: true,
          ...c.config,
        },
      }),
    );
    if (this.#closeWanted) this.#sendClose();
    // Keep-alive: SLNG drops idle connections; audio counts as traffic, so this fires only in gaps.
    this.#keepalive = setInterval(() => {
      if (this.#state === 'ready' && Date.now() - this.#lastSent >= c.keepaliveMs) this.#sendRaw(JSON.stringify({ type: 'keepalive' }));
    }, Math.max(10, Math.floor(c.keepaliveMs / 2)));
  }

  #onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    const msg = isBinary ? undefined : parseJsonObject(data);
    if (!msg) {
      this.#log.warn('bad-message', { detail: 'slng-stt sent a message that is not a JSON object; ignored' });
      return;
    }
    switch (msg.type) {
      case 'ready':
        if (this.#state !== 'initializing') return;
        this.#state = 'ready';
        for (const b of this.#pending) this.#sendRaw(b);
        this.#pending = [];
        this.#pendingBytes = 0;
        if (this.#finalizeWanted) this.#sendFinalize();
        this.emit('ready');
        return;
      case 'partial_transcript':
        if (typeof msg.transcript === 'string' && msg.transcript && !this.#finalSent) {
          this.emit('partial', { text: this.#withSegments(msg.transcript), confidence: num(msg.confidence) });
        }
        return;
      case 'final_transcript':
        return this.#onSegment(msg);
      case 'utterance_end':
        return this.#endUtterance('utterance_end');
      case 'error': {
        const err = slngError('slng-stt', String(msg.code ?? 'unknown'), String(msg.message ?? ''));
        this.emit('error', err);
        this.#sendClose();
        return;
      }
      default:
        this.#log.debug('ignored-message', { type: String(msg.type) });
    }
  }

  #onClose(code: number, reason: string): void {
    // The server sends what is left before it closes: that ends the utterance too.
    if (this.#segments.length) this.#endUtterance('closed');
    if (this.#state !== 'closing' && this.#state !== 'closed') {
      const why = reason ? `${code} ${reason}` : String(code);
      this.emit('error', new ServiceError('slng-stt', 'provider', `slng-stt closed the session (${why})`));
    }
    this.#finish();
  }

  /** One finished segment; it ends the utterance only when the server says so. */
  #onSegment(msg: Record<string, unknown>): void {
    if (this.#finalSent) return;
    const text = typeof msg.transcript === 'string' ? msg.transcript.trim() : '';
    const c = num(msg.confidence);
    if (text) {
      this.#segments.push(text);
      if (c !== undefined) this.#confidences.push(c);
    }
    if (msg.from_finalize === true) return this.#endUtterance('finalize answered');
    if (msg.speech_final === true) return this.#endUtterance('speech_final');
    // Not the end yet: show the utterance so far.
    if (text) this.emit('partial', { text: this.#segments.join(' '), ...(c !== undefined ? { confidence: c } : {}) });
    if (this.#finalizeSent) {
      // After finalize, more segments may still be on their way: end once they stop.
      clearTimeout(this.#quietTimer);
      this.#quietTimer = setTimeout(() => this.#endUtterance('quiet after finalize'), FINALIZE_QUIET_MS);
    }
  }

  /** The utterance is over: its joined segments are the final transcript (once). */
  #endUtterance(why: string): void {
    if (this.#finalSent) return;
    this.#finalSent = true;
    clearTimeout(this.#quietTimer);
    clearTimeout(this.#finalizeCap);
    const c = this.#confidences;
    this.#log.debug('utterance-end', { why, segments: this.#segments.length });
    this.emit('final', { text: this.#segments.join(' '), ...(c.length ? { confidence: c.reduce((a, b) => a + b, 0) / c.length } : {}) });
  }

  #withSegments(partial: string): string {
    if (!this.#segments.length) return partial;
    const done = this.#segments.join(' ');
    // A partial that already repeats the finished segments is shown as it is.
    return partial.startsWith(done) ? partial : `${done} ${partial}`;
  }

  #sendFinalize(): void {
    this.#sendRaw(JSON.stringify({ type: 'finalize' }));
    this.#finalizeSent = true;
    // Every wait has an end: without an answer, what has arrived is the transcript.
    this.#finalizeCap = setTimeout(() => this.#endUtterance('no answer to finalize'), this.#opt.config.closeTimeoutMs);
  }

  #sendClose(): void {
    const ws = this.#ws;
    if (!ws || this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    this.#sendRaw(JSON.stringify({ type: 'close' }));
    this.#closeTimer = setTimeout(() => ws.terminate(), this.#opt.config.closeTimeoutMs);
  }

  #sendRaw(data: Buffer | string): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== ws.OPEN) return;
    ws.send(data, { binary: typeof data !== 'string' });
    this.#lastSent = Date.now();
  }

  #finish(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearInterval(this.#keepalive);
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#quietTimer);
    clearTimeout(this.#finalizeCap);
    this.#ws?.removeAllListeners();
    this.#ws?.on('error', () => {});
    this.#resolveClosed();
    this.emit('closed');
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
