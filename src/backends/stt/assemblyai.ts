/**
 * AssemblyAI Universal Streaming v3 (docs/protocol.md): one WebSocket per utterance.
 * Audio goes up as binary PCM messages of 50-1000 ms (the agent's 20 ms frames are aggregated to
 * `chunkMs`); `Begin` opens the session, `Turn` messages carry partial and end-of-turn text,
 * `ForceEndpoint` asks for the end of turn at once, and `Terminate` is sent on every way out
 * (normal end, cancel, error, shutdown) because a session is billed while it stays open.
 */
import type WebSocket from 'ws';
import type { AssemblyAiConfig } from '../../config/schema.js';
import { int16ToBytes } from '../../audio/wav.js';
import type { Logger } from '../../log/logger.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { ServiceError } from '../service-error.js';
import { connectWs, type Connected, parseJsonObject } from '../ws-connect.js';
import type { SttClient, SttEvents, SttSession } from './types.js';

const BYTES_PER_MS = 32; // 16 kHz * 2 bytes
const MIN_CHUNK_MS = 50;
/** Audio held before `Begin`, at most (ms). */
const MAX_PENDING_MS = 10_000;

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
  /** Audio not yet sent: partial chunk, or everything before `Begin`. */
  #acc: Buffer[] = [];
  #accBytes = 0;
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
    if (this.#state === 'ready') this.#flush(false);
    else this.#trimPending();
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
    ws.on('error', (err) => this.#log.warn('socket_error', { error: err.message }));
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
        this.#flush(false);
        if (this.#finalizeWanted) this.#sendFinalize();
        this.emit('ready');
        return;
      case 'Turn': {
        if (this.#state !== 'ready') return;
        const text = typeof msg.transcript === 'string' ? msg.transcript : '';
        const confidence = typeof msg.end_of_turn_confidence === 'number' ? msg.end_of_turn_confidence : undefined;
        const done = msg.end_of_turn === true && (!this.#opt.config.formatTurns || msg.turn_is_formatted === true);
        // Skip empty partials: AssemblyAI sends them for silence and they would blank the display.
        if (done) this.emit('final', { text, confidence });
        else if (text) this.emit('partial', { text });
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
        this.#log.debug('ignored_message', { type: String(msg.type) });
    }
  }

  #onClose(code: number, reason: string): void {
    clearTimeout(this.#closeTimer);
    const wasTerminating = this.#state === 'terminating';
    if (!wasTerminating && this.#state !== 'closed') {
      // The server ended the session on its own: say why (AssemblyAI puts it in the close reason).
      const why = reason ? `${code} ${reason}` : String(code);
      const auth = code === 1008 || code === 4001 || /auth|unauthori[sz]ed|invalid api key/i.test(reason);
      this.emit('error', new ServiceError('assemblyai', auth ? 'auth' : 'provider', `assemblyai closed the session (${why})`));
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
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'Terminate' }));
    this.#closeTimer = setTimeout(() => {
      this.#log.warn('no_termination', { timeoutMs: this.#opt.config.closeTimeoutMs });
      ws.terminate();
    }, this.#opt.config.closeTimeoutMs);
  }

  #finish(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#closeTimer);
    this.#ws?.removeAllListeners();
    this.#ws?.on('error', () => {});
    this.#resolveClosed();
    this.emit('closed');
  }

  /** Sends whole chunks of `chunkMs`; with `all`, also the remainder padded to the 50 ms minimum. */
  #flush(all: boolean): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== ws.OPEN || this.#accBytes === 0) return;
    const chunkBytes = this.#opt.config.chunkMs * BYTES_PER_MS;
    if (this.#accBytes < chunkBytes && !all) return;
    let buf = Buffer.concat(this.#acc);
    while (buf.length >= chunkBytes) {
      ws.send(buf.subarray(0, chunkBytes), { binary: true });
      buf = buf.subarray(chunkBytes);
    }
    if (all && buf.length) {
      const min = MIN_CHUNK_MS * BYTES_PER_MS;
      ws.send(buf.length >= min ? buf : Buffer.concat([buf, Buffer.alloc(min - buf.length)]), { binary: true });
      buf = Buffer.alloc(0);
    }
    this.#acc = buf.length ? [Buffer.from(buf)] : [];
    this.#accBytes = buf.length;
  }

  #sendFinalize(): void {
    this.#flush(true);
    this.#ws?.send(JSON.stringify({ type: 'ForceEndpoint' }));
  }

  #trimPending(): void {
    const max = MAX_PENDING_MS * BYTES_PER_MS;
    while (this.#accBytes > max && this.#acc.length > 1) this.#accBytes -= this.#acc.shift()!.length;
  }
}
