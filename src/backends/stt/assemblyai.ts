/**
 * AssemblyAI Universal Streaming v3 (docs/protocol.md "AssemblyAI"): one WebSocket per utterance,
 * opened with the required `speech_model`. Audio goes up as binary PCM messages of 50-1000 ms (the
 * agent's 20 ms frames are aggregated to `chunkMs`), never faster than real time: what was held
 * before `Begin` (the pre-roll, the connect time) is paced out, since the service closes a
 * session that sends audio too fast (4029). `Turn` messages carry partial and end-of-turn text,
 * the confidence is the words' mean, `ForceEndpoint` asks for the end of turn at once, and
 * `Terminate` is sent on every way out (normal end, cancel, error, shutdown) because a session is
 * billed while it stays open.
 */
import type WebSocket from 'ws';
import type { AssemblyAiConfig } from '../../config/schema.js';
import { int16ToBytes } from '../../audio/wav.js';
import type { Logger } from '../../log/logger.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { ServiceError, type ServiceErrorKind } from '../service-error.js';
import { connectWs, type Connected, parseJsonObject } from '../ws-connect.js';
import type { SttClient, SttEvents, SttSession } from './types.js';

const BYTES_PER_MS = 32; // 16 kHz * 2 bytes
const MIN_CHUNK_MS = 50;
/** Audio held before `Begin` (or queued behind the pacing), at most (ms). */
const MAX_PENDING_MS = 10_000;

/**
 * The service's close codes that need more than "it closed" (docs/protocol.md "AssemblyAI"):
 * the kind, and what to do. Account problems count as `auth`: retrying soon will not help.
 */
const CLOSE_CODES: Record<number, [ServiceErrorKind, string]> = {
  4000: ['config', 'the sample rate was refused'],
  4001: ['auth', 'the API key was refused: check the key file or ASSEMBLYAI_API_KEY'],
  4002: ['auth', 'the account has insufficient funds: add funds in the AssemblyAI dashboard (billing)'],
  4003: ['auth', 'streaming needs a paid account: add a payment method in the AssemblyAI dashboard'],
  4008: ['provider', 'the session expired'],
  4029: ['rate_limit', 'audio was sent faster than real time'],
  4031: ['provider', 'the session was idle too long'],
  4101: ['protocol', 'the service could not read a message'],
  4102: ['rate_limit', 'the account has too many concurrent streams'],
};

/** The mean confidence of a turn's words, or undefined when it has none. */
export function wordsConfidence(words: unknown): number | undefined {
  if (!Array.isArray(words)) return undefined;
  const values = words
    .map((w) => (w && typeof w === 'object' ? (w as { confidence?: unknown }).confidence : undefined))
    .filter((c): c is number => typeof c === 'number' && Number.isFinite(c));
  if (!values.length) return undefined;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export interface AssemblyAiOptions {
  config: AssemblyAiConfig;
  /** API key, sent as the `Authorization` header; never logged. */
  key: string;
  log: Logger;
  /** Connect timeout in milliseconds. */
  connectTimeoutMs: number;
}

export class AssemblyAiStt implements SttClient {
  readonly name = 'assemblyai';
  constructor(private readonly options: AssemblyAiOptions) {
    options.log.addSecret(options.key);
  }

  open(): SttSession {
    return new AssemblyAiSession(this.options);
  }
}

type State = 'connecting' | 'open' | 'ready' | 'terminating' | 'closed';

class AssemblyAiSession extends TypedEmitter<SttEvents> implements SttSession {
  readonly #opt: AssemblyAiOptions;
  readonly #log: Logger;
  #state: State = 'connecting';
  #ws: WebSocket | undefined;
  /** Audio not yet a whole chunk. */
  #acc: Buffer[] = [];
  #accBytes = 0;
  /** Whole chunks waiting to go out: everything before `Begin`, then what the pacing holds back. */
  #queue: Buffer[] = [];
  #queueBytes = 0;
  /** Pacing: when the first chunk went out, and how much audio has gone out since (ms). */
  #paceStart: number | undefined;
  #sentMs = 0;
  #paceTimer: NodeJS.Timeout | undefined;
  /** ForceEndpoint goes out once the queue has drained. */
  #forceQueued = false;
  #finalizeWanted = false;
  #closeWanted = false;
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  #closeTimer: NodeJS.Timeout | undefined;
  #sessionId = '';

  constructor(options: AssemblyAiOptions) {
    super();
    this.#opt = options;
    this.#log = options.log.child('stt.assemblyai');
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
    void this.#connect();
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  send(pcm: Int16Array): void {
    if (this.#state === 'closed' || this.#state === 'terminating' || this.#finalizeWanted) return;
    this.#acc.push(Buffer.from(int16ToBytes(pcm)));
    this.#accBytes += pcm.byteLength;
    this.#chunk(false);
    this.#trimPending();
    if (this.#state === 'ready') this.#pump();
  }

  finalize(): void {
    if (this.#state === 'closed' || this.#state === 'terminating' || this.#finalizeWanted) return;
    this.#finalizeWanted = true;
    if (this.#state === 'ready') this.#sendFinalize();
  }

  close(): Promise<void> {
    if (this.#state === 'closed') return this.#closedPromise;
    this.#closeWanted = true;
    // Still connecting: Terminate goes out the moment the socket opens (see #connect).
    if (this.#state === 'open' || this.#state === 'ready') this.#terminate();
    return this.#closedPromise;
  }

  async #connect(): Promise<void> {
    const { config } = this.#opt;
    const url = new URL(config.url);
    url.searchParams.set('speech_model', config.speechModel);
    url.searchParams.set('sample_rate', '16000');
    url.searchParams.set('encoding', 'pcm_s16le');
    url.searchParams.set('format_turns', String(config.formatTurns));
    for (const [k, v] of Object.entries(config.query)) url.searchParams.set(k, v);
    let conn: Connected;
    try {
      conn = await connectWs(url.toString(), {
        service: 'assemblyai',
        headers: { Authorization: this.#opt.key },
        timeoutMs: this.#opt.connectTimeoutMs,
      });
    } catch (err) {
      this.#fail(err as ServiceError);
      return;
    }
    const ws = conn.ws;
    this.#ws = ws;
    this.#state = 'open';
    ws.on('error', (err) => this.#log.warn('socket-error', { error: err.message }));
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString()));
    conn.listen((data, isBinary) => this.#onMessage(data, isBinary));
    if (this.#closeWanted) this.#terminate();
  }

  #onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    const msg = isBinary ? undefined : parseJsonObject(data);
    if (!msg) {
      this.#protocolError('assemblyai sent a message that is not JSON');
      return;
    }
    if (typeof msg.error === 'string') {
      const auth = /auth|token|key|unauthori[sz]ed/i.test(msg.error);
      this.#fail(new ServiceError('assemblyai', auth ? 'auth' : 'provider', `assemblyai error: ${msg.error}`));
      return;
    }
    switch (msg.type) {
      case 'Begin':
        this.#sessionId = String(msg.id ?? '');
        this.#log.debug('begin', { session: this.#sessionId });
        if (this.#state !== 'open') return;
        this.#state = 'ready';
        if (this.#finalizeWanted) this.#sendFinalize();
        else this.#pump();
        this.emit('ready');
        return;
      case 'Turn': {
        if (this.#state !== 'ready') return;
        const text = typeof msg.transcript === 'string' ? msg.transcript : '';
        // Recognition confidence is per word; end_of_turn_confidence is about the end of the turn.
        const confidence = wordsConfidence(msg.words);
        const done = msg.end_of_turn === true && (!this.#opt.config.formatTurns || msg.turn_is_formatted === true);
        // Skip empty partials: AssemblyAI sends them for silence and they would blank the display.
        if (done) this.emit('final', { text, ...(confidence !== undefined ? { confidence } : {}) });
        else if (text) this.emit('partial', { text, ...(confidence !== undefined ? { confidence } : {}) });
        return;
      }
      case 'SpeechStarted':
        return;
      case 'Termination':
        this.#log.debug('termination', {
          session: this.#sessionId,
          audioSeconds: msg.audio_duration_seconds,
          sessionSeconds: msg.session_duration_seconds,
        });
        this.#ws?.close(1000);
        return;
      default:
        this.#log.debug('ignored-message', { type: String(msg.type) });
    }
  }

  #onClose(code: number, reason: string): void {
    clearTimeout(this.#closeTimer);
    const wasTerminating = this.#state === 'terminating';
    if (!wasTerminating && this.#state !== 'closed') {
      // The server ended the session on its own: say why (AssemblyAI puts it in the close reason).
      const why = reason ? `${code} ${reason}` : String(code);
      const known = CLOSE_CODES[code];
      if (known) {
        this.emit('error', new ServiceError('assemblyai', known[0], `assemblyai closed the session (${why}): ${known[1]}`));
      } else {
        const auth = code === 1008 || /auth|unauthori[sz]ed|invalid api key/i.test(reason);
        this.emit('error', new ServiceError('assemblyai', auth ? 'auth' : 'provider', `assemblyai closed the session (${why})`));
      }
    }
    this.#finish();
  }

  /** A message we cannot understand: end the session (with Terminate) and report it. */
  #protocolError(message: string): void {
    if (this.#state === 'terminating' || this.#state === 'closed') return;
    this.emit('error', new ServiceError('assemblyai', 'protocol', message));
    this.#terminate();
  }

  #fail(err: ServiceError): void {
    if (this.#state === 'closed') return;
    const open = this.#state === 'open' || this.#state === 'ready';
    if (this.#state !== 'terminating') this.emit('error', err);
    if (open) this.#terminate();
    else if (!this.#ws) this.#finish();
  }

  #terminate(): void {
    const ws = this.#ws;
    if (!ws || this.#state === 'terminating' || this.#state === 'closed') return;
    this.#state = 'terminating';
    this.#acc = [];
    this.#accBytes = 0;
    this.#queue = [];
    this.#queueBytes = 0;
    clearTimeout(this.#paceTimer);
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'Terminate' }));
    this.#closeTimer = setTimeout(() => {
      this.#log.warn('no-termination', { timeoutMs: this.#opt.config.closeTimeoutMs });
      ws.terminate();
    }, this.#opt.config.closeTimeoutMs);
  }

  #finish(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#paceTimer);
    this.#ws?.removeAllListeners();
    this.#ws?.on('error', () => {});
    this.#resolveClosed();
    this.emit('closed');
  }

  /** Moves whole chunks of `chunkMs` to the queue; with `all`, also the remainder padded to the 50 ms minimum. */
  #chunk(all: boolean): void {
    const chunkBytes = this.#opt.config.chunkMs * BYTES_PER_MS;
    if (this.#accBytes < chunkBytes && !(all && this.#accBytes > 0)) return;
    let buf = Buffer.concat(this.#acc);
    while (buf.length >= chunkBytes) {
      this.#enqueue(Buffer.from(buf.subarray(0, chunkBytes)));
      buf = buf.subarray(chunkBytes);
    }
    if (all && buf.length) {
      const min = MIN_CHUNK_MS * BYTES_PER_MS;
      this.#enqueue(buf.length >= min ? Buffer.from(buf) : Buffer.concat([buf, Buffer.alloc(min - buf.length)]));
      buf = Buffer.alloc(0);
    }
    this.#acc = buf.length ? [Buffer.from(buf)] : [];
    this.#accBytes = buf.length;
  }

  #enqueue(chunk: Buffer): void {
    this.#queue.push(chunk);
    this.#queueBytes += chunk.length;
  }

  /**
   * Sends queued chunks no faster than real time: the audio sent never runs ahead of the time
   * since the first chunk by more than the chunk about to go. A chunk not yet due waits on a timer.
   */
  #pump(): void {
    const ws = this.#ws;
    if (this.#state !== 'ready' || !ws || ws.readyState !== ws.OPEN) return;
    clearTimeout(this.#paceTimer);
    this.#paceTimer = undefined;
    while (this.#queue.length) {
      // The clock starts with the first chunk sent.
      this.#paceStart ??= Date.now();
      const dueIn = this.#paceStart + this.#sentMs - Date.now();
      if (dueIn > 0) {
        this.#paceTimer = setTimeout(() => this.#pump(), dueIn);
        return;
      }
      const chunk = this.#queue.shift()!;
      this.#queueBytes -= chunk.length;
      ws.send(chunk, { binary: true });
      this.#sentMs += chunk.length / BYTES_PER_MS;
    }
    if (this.#forceQueued) {
      this.#forceQueued = false;
      ws.send(JSON.stringify({ type: 'ForceEndpoint' }));
    }
  }

  #sendFinalize(): void {
    this.#chunk(true);
    this.#forceQueued = true;
    this.#pump();
  }

  /** Bounds what waits to go out; the oldest audio is dropped first. */
  #trimPending(): void {
    const max = MAX_PENDING_MS * BYTES_PER_MS;
    while (this.#queueBytes > max && this.#queue.length > 1) this.#queueBytes -= this.#queue.shift()!.length;
  }
}
