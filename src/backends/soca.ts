/**
 * The `soca` backend: a whole voice agent on one WebSocket (seed 004). Mic audio goes up as
 * 20 ms binary PCM frames; transcripts, sentence MP3 audio and the final answer come down.
 * The connection (start, ready + stt.ready, heartbeat, reconnect with backoff) lives here; which
 * turn an answer's `seq` belongs to is SocaTurns' job, sentence ordering SentenceQueue's.
 */
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import type { SocaConfig } from '../config/schema.js';
import { DisconnectedError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Backend, BackendEvents, TurnId, TurnOptions } from '../ports/backend.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { Backoff } from '../util/backoff.js';
import { closeGracefully } from '../util/ws-close.js';
import { ServiceError } from './service-error.js';
import { SentenceQueue } from './soca-sentences.js';
import { SocaTurns } from './soca-turns.js';
import { connectWs, type Connected, parseJsonObject, pcmBytes, safeUrl } from './ws-connect.js';

/** 20 ms at 16 kHz: the frame size the seed recommends. */
const FRAME_SAMPLES = 320;
const AUTH_WORDS = /(token|private[_ ]?key|api[_ ]?key|auth|unauthori[sz]ed|forbidden|expired|credential)/i;

export interface SocaBackendOptions {
  config: SocaConfig;
  /** The Soca private key (see readKey); never logged. */
  key: string;
  log: Logger;
  /** Random source for backoff jitter. */
  random?: () => number;
  /** Session id generator when the config names none. */
  newSessionId?: () => string;
}

export class SocaBackend extends TypedEmitter<BackendEvents> implements Backend {
  readonly name = 'soca';
  readonly #config: SocaConfig;
  readonly #key: string;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #newSessionId: () => string;

  #ws: WebSocket | undefined;
  #stopped = true;
  #connected = false;
  #ready = false;
  #sttReady = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #readyTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #lastPong = 0;
  /** Audio held until the server is ready (bytes). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  readonly #turns = new SocaTurns();
  readonly #sentences: SentenceQueue;

  constructor(options: SocaBackendOptions) {
    super();
    this.#config = options.config;
    this.#key = options.key;
    this.#log = options.log.child('soca');
    this.#log.addSecret(options.key);
    this.#backoff = new Backoff(this.#config.reconnectMinMs, this.#config.reconnectMaxMs, options.random);
    this.#newSessionId = options.newSessionId ?? randomUUID;
    this.#sentences = new SentenceQueue({
      start: (turnId) => {
        this.#turns.spoke(turnId);
        this.emit('replyAudioStart', { turnId, format: { codec: 'mp3' } });
      },
      audio: (turnId, data) => this.emit('replyAudio', { turnId, data }),
      end: (turnId) => this.emit('replyAudioEnd', { turnId }),
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#connect();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#readyTimer);
    clearInterval(this.#pingTimer);
    const ws = this.#ws;
    this.#ws = undefined;
    this.#resetConnection();
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      await closeGracefully(ws, 'agent stopping');
    }
  }

  /** Soca takes no per-turn options: its STT is configured in Soca Studio. */
  beginTurn(turnId: string, _options?: TurnOptions): void {
    if (!this.#connected) throw new DisconnectedError('not connected to Soca');
    this.#turns.begin(turnId);
  }

  sendAudio(turnId: string, pcm: Int16Array): void {
    if (turnId !== this.#turns.input || !this.#turns.sending) return;
    // The first call carries the pre-roll; the seed wants frames of at most 50 ms.
    for (let i = 0; i < pcm.length; i += FRAME_SAMPLES) this.#sendFrame(pcmBytes(pcm.subarray(i, i + FRAME_SAMPLES)));
  }

  endTurn(turnId: string): void {
    if (turnId !== this.#turns.input || !this.#turns.sending) return;
    this.#turns.sending = false;
    // The agent stops forwarding the mic here; silence lets Soca's end-pointing fire now.
    const silence = Buffer.alloc(FRAME_SAMPLES * 2);
    for (let ms = 0; ms < this.#config.endSilenceMs; ms += 20) this.#sendFrame(silence);
  }

  cancelTurn(turnId: string): void {
    const interruptingSpeech = this.#turns.cancel(turnId);
    this.#sentences.drop((_seq, t) => t === turnId);
    if (this.#ws && this.#connected) this.#sendJson({ type: interruptingSpeech ? 'barge' : 'stop' });
  }

  /** Soca has no text input: the turn fails (on the next tick, never inside the caller's call). */
  sendText(turnId: string, _text: string): void {
    setImmediate(() =>
      this.emit('turnError', {
        turnId,
        message: 'the soca backend takes speech only: Soca has no typed-request message (use the gateway or pipeline backend)',
      }),
    );
  }

  // ---- connection -------------------------------------------------------------------------

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    let conn: Connected;
    try {
      conn = await connectWs(this.#config.url, {
        service: 'soca',
        timeoutMs: this.#config.connectTimeoutMs,
      });
    } catch (err) {
      this.#failed(err instanceof ServiceError ? err : new ServiceError('soca', 'network', errorMessage(err)));
      return;
    }
    const ws = conn.ws;
    if (this.#stopped) {
      ws.terminate();
      return;
    }
    this.#ws = ws;
    ws.on('error', (err) => this.#log.warn('socket_error', { error: err.message }));
    ws.on('close', (code, reason) => this.#onClose(ws, code, reason.toString()));
    // Heartbeat: a connection that died silently (NAT timeout, Wi-Fi change) is found and replaced.
    this.#lastPong = performance.now();
    ws.on('pong', () => (this.#lastPong = performance.now()));
    this.#pingTimer = setInterval(() => {
      if (performance.now() - this.#lastPong > this.#config.pingIntervalMs + this.#config.pongTimeoutMs) {
        this.#drop(ws, new ServiceError('soca', 'network', `soca stopped answering pings for ${this.#config.pongTimeoutMs} ms`));
      } else if (ws.readyState === ws.OPEN) {
        ws.ping();
      }
    }, this.#config.pingIntervalMs);
    conn.listen((data, isBinary) => this.#onMessage(ws, data, isBinary));
    this.#sendJson({
      type: 'start',
      private_key: this.#key,
      session_id: this.#config.sessionId ?? this.#newSessionId(),
      agent_id: this.#config.agentId,
      lang: this.#config.lang,
      sr: 16000,
    });
    this.#readyTimer = setTimeout(() => {
      const missing = [!this.#ready && 'ready', !this.#sttReady && 'stt.ready'].filter(Boolean).join(' and ');
      this.#drop(ws, new ServiceError('soca', 'timeout', `soca did not send ${missing} within ${this.#config.connectTimeoutMs} ms after start`));
    }, this.#config.connectTimeoutMs);
    this.#log.debug('socket_open', { url: safeUrl(this.#config.url) });
  }

  /** Closes `ws` because of `err` and reconnects later. */
  #drop(ws: WebSocket, err: ServiceError): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    ws.removeAllListeners();
    ws.on('error', () => {});
    ws.terminate();
    this.#failed(err);
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    const why = reason ? `${code} ${reason}` : `${code}`;
    this.#failed(new ServiceError('soca', 'network', `soca closed the connection (${why})`));
  }

  /** One failure: report it once, abandon open turns, schedule the next attempt. */
  #failed(err: ServiceError): void {
    clearTimeout(this.#readyTimer);
    clearInterval(this.#pingTimer);
    const wasConnected = this.#connected;
    const openTurn = this.#turns.open;
    this.#resetConnection();
    if (this.#stopped) return;
    const retryInMs = err.auth ? this.#config.authRetryMs : this.#backoff.next();
    if (err.auth) this.#log.error('auth_failed', { error: err.message, retryInMs });
    else this.#log.warn('disconnected', { error: err.message, retryInMs, wasConnected });
    if (openTurn) this.emit('turnError', { turnId: openTurn, message: err.message });
    this.emit('disconnected', { reason: err.message, auth: err.auth, retryInMs });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#connect(), retryInMs);
  }

  #resetConnection(): void {
    this.#connected = false;
    this.#ready = false;
    this.#sttReady = false;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#turns.reset();
    this.#sentences.clear();
  }

  #sendJson(message: Record<string, unknown>): void {
    const ws = this.#ws;
    if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  }

  #sendFrame(frame: Buffer): void {
    const ws = this.#ws;
    if (ws && this.#connected && ws.readyState === ws.OPEN) {
      ws.send(frame, { binary: true });
      return;
    }
    // Not ready yet: hold the audio (bounded) so the first words are not lost.
    this.#pending.push(Buffer.from(frame));
    this.#pendingBytes += frame.length;
    const max = this.#config.maxBufferMs * 32;
    while (this.#pendingBytes > max && this.#pending.length) this.#pendingBytes -= this.#pending.shift()!.length;
  }

  // ---- messages ---------------------------------------------------------------------------

  #onMessage(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#log.debug('unexpected_binary', () => ({ bytes: (data as Buffer).length }));
      return;
    }
    const msg = parseJsonObject(data);
    if (!msg) {
      this.#log.warn('bad_message', { detail: 'not a JSON object; ignored' });
      return;
    }
    if (msg.stepType === 'sentence') return this.#onSentence(msg);
    if (msg.stepType === 'final_answer') return this.#onFinalAnswer(msg);
    switch (msg.type) {
      case 'ready':
        this.#ready = true;
        return this.#maybeConnected();
      case 'stt.ready':
        this.#sttReady = true;
        return this.#maybeConnected();
      case 'stt.partial':
      case 'stt.final':
        return this.#onTranscript(String(msg.text ?? ''), msg.type === 'stt.final');
      case 'barge':
        return this.#onServerBarge(msg);
      case 'error':
        return this.#onError(ws, msg);
      default:
        this.#log.debug('ignored_message', { type: String(msg.type ?? msg.stepType ?? '') });
    }
  }

  #maybeConnected(): void {
    if (this.#connected || !this.#ready || !this.#sttReady) return;
    clearTimeout(this.#readyTimer);
    this.#connected = true;
    this.#backoff.reset();
    this.#log.info('connected');
    const ws = this.#ws;
    if (ws) for (const frame of this.#pending) ws.send(frame, { binary: true });
    this.#pending = [];
    this.#pendingBytes = 0;
    this.emit('connected');
  }

  #onTranscript(text: string, final: boolean): void {
    const turnId = this.#turns.input;
    if (!turnId) {
      this.#log.debug('transcript_without_turn', { final });
      return;
    }
    this.emit('transcript', { turnId, text, final });
    if (!final) return;
    this.#turns.final(text.trim() !== '');
    // The seed: only a non-empty final starts an answer. Nothing will come for this turn.
    if (!text.trim()) this.emit('replyEnd', { turnId, prompt: false });
  }

  /** The turn `seq` belongs to, or false to drop it; a newer `seq` stops every older answer. */
  #bind(seq: number | undefined): TurnId | false {
    const open = this.#sentences.openTurns();
    const { turn, advanced } = this.#turns.bind(seq);
    if (advanced && seq !== undefined) {
      // Seed: stop all players with a lower seq.
      this.#sentences.drop((s) => s < seq);
      for (const turnId of open) this.emit('barge', { turnId });
    }
    return turn;
  }

  #onSentence(msg: Record<string, unknown>): void {
    const seq = typeof msg.seq === 'number' ? msg.seq : undefined;
    const turnId = this.#bind(seq);
    if (turnId === false) return;
    const b64 = typeof msg.audioBase64 === 'string' ? msg.audioBase64 : null;
    this.#sentences.push(
      {
        seq: seq ?? this.#turns.currentSeq,
        sentenceId: String(msg.sentenceId ?? ''),
        chunkIndex: typeof msg.chunkIndex === 'number' ? msg.chunkIndex : undefined,
        isLastChunk: msg.isLastChunk === true,
        audio: b64 ? Buffer.from(b64, 'base64') : null,
      },
      turnId,
    );
  }

  #onFinalAnswer(msg: Record<string, unknown>): void {
    const seq = typeof msg.seq === 'number' ? msg.seq : undefined;
    const turnId = this.#bind(seq);
    if (turnId === false) return;
    this.#sentences.finish(seq ?? this.#turns.currentSeq);
    const text = finalAnswerText(msg.fullResponse);
    if (text) this.emit('replyText', { turnId, text });
    // SocaTurns still counts the turn as spoken: its audio may be playing, and a cancel then is a barge-in.
    this.emit('replyEnd', { turnId, prompt: this.#config.followUp });
  }

  #onServerBarge(msg: Record<string, unknown>): void {
    const seq = typeof msg.seq === 'number' ? msg.seq : undefined;
    const interrupted = this.#sentences.openTurns();
    const old = this.#turns.currentTurn();
    if (seq !== undefined && this.#turns.bind(seq).advanced) this.#sentences.drop((s) => s < seq);
    this.#log.info('server_barge', { seq, reason: typeof msg.reason === 'string' ? msg.reason : undefined });
    // Soca's barge-in always stops what plays, even audio whose sentence already ended here.
    for (const turnId of interrupted.length ? interrupted : [old]) this.emit('barge', { turnId });
  }

  #onError(ws: WebSocket, msg: Record<string, unknown>): void {
    const text = typeof msg.message === 'string' ? msg.message : JSON.stringify(msg);
    if (AUTH_WORDS.test(text)) {
      this.#drop(
        ws,
        new ServiceError('soca', 'auth', `soca rejected the private key: "${text}". Get a fresh key from the Soca dashboard and check soca.keyFile`),
      );
      return;
    }
    if (!this.#connected) {
      // Before ready, any error means the start message was refused (protocol error).
      this.#drop(ws, new ServiceError('soca', 'protocol', `soca refused the session: "${text}" (check soca.agentId and soca.lang)`));
      return;
    }
    const turnId = this.#turns.open ?? null;
    this.#log.error('service_error', { error: text, turnId });
    this.emit('turnError', { turnId, message: `soca error: ${text}` });
  }
}

/** `fullResponse.answers[].output` joined; empty when absent. */
function finalAnswerText(full: unknown): string {
  const answers = (full as { answers?: unknown } | undefined)?.answers;
  if (!Array.isArray(answers)) return '';
  return answers
    .map((a) => (a && typeof a === 'object' && typeof (a as { output?: unknown }).output === 'string' ? (a as { output: string }).output : ''))
    .filter(Boolean)
    .join(' ');
}
