/**
 * The `soca` backend: a whole voice agent on one WebSocket (docs/protocol.md "Soca"). Mic audio
 * goes up as 20 ms binary PCM frames; transcripts, sentence MP3 audio and the final answer come
 * down. The connection (heartbeat, reconnect with backoff) is a ReconnectingSocket; the handshake
 * on it (start, then ready + stt.ready) lives here. As Soca's own client does, only an abnormal
 * close is reconnected at once: after a normal close (1000) the backend stays available and
 * connects again when the next turn begins. With `streamWhileSpeaking` the mic also streams
 * while an answer plays, so Soca can detect a barge-in itself. Which turn an answer's `seq`
 * belongs to is SocaTurns' job, sentence ordering and decoding SentenceQueue's.
 */
import { randomUUID } from 'node:crypto';
import type { WsClient } from '../net/ws-client.js';
import { int16ToBytes } from '../audio/wav.js';
import type { SocaConfig } from '../config/schema.js';
import { DisconnectedError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Backend, BackendEvents, TurnId, TurnOptions } from '../ports/backend.js';
import { systemScheduler, type Scheduler } from '../util/clock.js';
import { safeStringify } from '../util/bounded.js';
import { ReconnectingSocket, type SocketDown, type SocketFailure } from '../util/reconnecting-socket.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { SentenceQueue } from './soca-sentences.js';
import { ListeningWindow } from './soca-window.js';
import { SocaTurns } from './soca-turns.js';
import { badUrl, connectFailed, parseJsonObject, safeUrl, SERVICE_MAX_PAYLOAD, upgradeRefused } from './ws-connect.js';

/** 20 ms at 16 kHz: the frame size the protocol recommends. */
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
  /** Time source of the heartbeat, the ready timeout and the reconnect delays (default: the system clock). */
  clock?: Scheduler;
}

export class SocaBackend extends TypedEmitter<BackendEvents> implements Backend {
  readonly name = 'soca';
  readonly #config: SocaConfig;
  readonly #key: string;
  readonly #log: Logger;
  readonly #newSessionId: () => string;
  readonly #socket: ReconnectingSocket;

  /** What the server said since `start` on the current socket. */
  #ready = false;
  #sttReady = false;
  /** Audio held until the server is ready (bytes). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  readonly #turns = new SocaTurns();
  readonly #sentences: SentenceQueue;
  /** streamWhileSpeaking: when the mic streams outside a turn. */
  readonly #window: ListeningWindow;

  constructor(options: SocaBackendOptions) {
    super();
    const config = options.config;
    this.#config = config;
    this.#key = options.key;
    this.#log = options.log.child('soca');
    this.#log.addSecret(options.key);
    this.#newSessionId = options.newSessionId ?? randomUUID;
    const clock = options.clock ?? systemScheduler();
    this.#window = new ListeningWindow(clock);
    this.#socket = new ReconnectingSocket({
      target: () => ({ url: config.url, options: { handshakeTimeout: config.connectTimeoutMs, maxPayload: SERVICE_MAX_PAYLOAD } }),
      reconnectMinMs: config.reconnectMinMs,
      reconnectMaxMs: config.reconnectMaxMs,
      authRetryMs: config.authRetryMs,
      pingIntervalMs: config.pingIntervalMs,
      pongTimeoutMs: config.pongTimeoutMs,
      // Connected only once ready and stt.ready came, within the connect timeout.
      readyTimeoutMs: config.connectTimeoutMs,
      // A session that got ready counts as stable at once: the next failure starts from the minimum delay.
      stableMs: 0,
      // Soca's client reconnects only when the close was not normal (docs/protocol.md "Soca").
      reconnectAfterNormalClose: false,
      random: options.random,
      clock,
    });
    this.#socket.on('open', (ws) => this.#onOpen(ws));
    this.#socket.on('connected', () => this.#onConnected());
    this.#socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    this.#socket.on('disconnected', (down) => this.#onDisconnected(down));
    this.#sentences = new SentenceQueue({
      start: (turnId) => {
        this.#turns.spoke(turnId);
        this.emit('replyAudioStart', { turnId, format: { codec: 'mp3' } });
      },
      audio: (turnId, data) => {
        this.#window.answerAudio(data.length);
        this.emit('replyAudio', { turnId, data });
      },
      end: (turnId) => this.emit('replyAudioEnd', { turnId }),
    });
  }

  /** Connected, or idle after Soca ended the session normally (the next turn connects again). */
  get connected(): boolean {
    return this.#socket.connected || this.#socket.state === 'idle';
  }

  async start(): Promise<void> {
    this.#socket.start();
  }

  async stop(): Promise<void> {
    const closing = this.#socket.stop('agent stopping');
    this.#resetConnection();
    await closing;
  }

  /** Soca takes no per-turn options: its STT is configured in Soca Studio. */
  beginTurn(turnId: string, _options?: TurnOptions): void {
    if (this.#socket.state === 'idle') {
      // Soca ended the last session normally: open a new one; the audio waits for ready meanwhile.
      this.#log.info('reconnecting', { reason: 'a turn begins after Soca ended the session' });
      this.#socket.start();
    } else if (!this.#socket.connected) throw new DisconnectedError('not connected to Soca');
    this.#window.close();
    this.#turns.begin(turnId);
  }

  /**
   * Mic audio while no turn is open: with `streamWhileSpeaking`, it goes up while an answer plays
   * (and after a server barge, until Soca's final transcript), so Soca hears a barge-in.
   */
  ambientAudio(pcm: Int16Array): void {
    if (!this.#config.streamWhileSpeaking || !this.#socket.connected || !this.#window.open) return;
    for (let i = 0; i < pcm.length; i += FRAME_SAMPLES) this.#sendFrame(int16ToBytes(pcm.subarray(i, i + FRAME_SAMPLES)));
  }

  sendAudio(turnId: string, pcm: Int16Array): void {
    if (turnId !== this.#turns.input || !this.#turns.sending) return;
    // The first call carries the pre-roll; the protocol wants frames of at most 50 ms.
    for (let i = 0; i < pcm.length; i += FRAME_SAMPLES) this.#sendFrame(int16ToBytes(pcm.subarray(i, i + FRAME_SAMPLES)));
  }

  endTurn(turnId: string): void {
    if (turnId !== this.#turns.input || !this.#turns.sending) return;
    this.#turns.sending = false;
    // The agent stops forwarding the mic here; silence lets Soca's end-pointing fire now.
    const silence = Buffer.alloc(FRAME_SAMPLES * 2);
    for (let ms = 0; ms < this.#config.endSilenceMs; ms += 20) this.#sendFrame(silence);
  }

  cancelTurn(turnId: string): void {
    this.#window.close();
    const interruptingSpeech = this.#turns.cancel(turnId);
    this.#sentences.drop((_seq, t) => t === turnId);
    if (this.#socket.connected) this.#sendJson({ type: interruptingSpeech ? 'barge' : 'stop' });
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

  #onOpen(ws: WsClient): void {
    ws.send(
      JSON.stringify({
        type: 'start',
        private_key: this.#key,
        session_id: this.#config.sessionId ?? this.#newSessionId(),
        agent_id: this.#config.agentId,
        lang: this.#config.lang,
        sr: 16000,
      }),
    );
    this.#log.debug('socket-open', { url: safeUrl(this.#config.url) });
  }

  /** ready and stt.ready both came. */
  #onConnected(): void {
    this.#log.info('connected');
    const ws = this.#socket.ws;
    if (ws) for (const frame of this.#pending) ws.send(frame, { binary: true });
    this.#pending = [];
    this.#pendingBytes = 0;
    this.emit('connected');
  }

  /** One failure: report it once, abandon open turns; the socket has scheduled the next attempt. */
  #onDisconnected(down: SocketDown): void {
    const f = down.failure;
    if (f.kind === 'closed' && f.error) this.#log.warn('socket-error', { error: f.error.message });
    const reason = this.#reason(f);
    const { retryInMs, wasConnected } = down;
    const openTurn = this.#turns.open;
    this.#resetConnection();
    if (retryInMs === -1) {
      // A normal close: Soca ended the session. Not reconnected now, but on the next turn, so the
      // backend stays available; only a turn still waiting for its answer has lost it.
      this.#log.info('session-ended', { reason, next: 'a new session opens when the next turn begins' });
      if (openTurn) this.emit('turnError', { turnId: openTurn, message: reason });
      return;
    }
    if (down.auth) this.#log.error('auth-failed', { error: reason, retryInMs });
    else this.#log.warn('disconnected', { error: reason, retryInMs, wasConnected });
    if (openTurn) this.emit('turnError', { turnId: openTurn, message: reason });
    this.emit('disconnected', { reason, auth: down.auth, retryInMs });
  }

  #reason(f: SocketFailure): string {
    const url = this.#config.url;
    switch (f.kind) {
      case 'unavailable':
      case 'dropped':
        return f.reason;
      case 'invalid':
        return badUrl('soca', url, f.error).message;
      case 'refused':
        return upgradeRefused('soca', url, f.status).message;
      case 'error':
        return connectFailed('soca', url, f.error).message;
      case 'closed':
        return `soca closed the connection (${f.reason ? `${f.code} ${f.reason}` : `${f.code}`})`;
      case 'heartbeat':
        return `soca stopped answering pings for ${this.#config.pongTimeoutMs} ms`;
      case 'ready-timeout': {
        const missing = [!this.#ready && 'ready', !this.#sttReady && 'stt.ready'].filter(Boolean).join(' and ');
        return `soca did not send ${missing} within ${f.timeoutMs} ms after start`;
      }
    }
  }

  #resetConnection(): void {
    this.#window.close();
    this.#ready = false;
    this.#sttReady = false;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#turns.reset();
    this.#sentences.clear();
  }

  #sendJson(message: Record<string, unknown>): void {
    const ws = this.#socket.ws;
    if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  }

  #sendFrame(frame: Buffer): void {
    const ws = this.#socket.ws;
    if (ws && this.#socket.connected && ws.readyState === ws.OPEN) {
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

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.#log.debug('unexpected-binary', () => ({ bytes: (data as Buffer).length }));
      return;
    }
    const msg = parseJsonObject(data);
    if (!msg) {
      this.#log.warn('bad-message', { detail: 'not a JSON object; ignored' });
      return;
    }
    if (msg.stepType === 'sentence') return this.#onSentence(msg);
    if (msg.stepType === 'final_answer') return this.#onFinalAnswer(msg);
    switch (msg.type) {
      case 'ready':
        this.#ready = true;
        return this.#maybeReady();
      case 'stt.ready':
        this.#sttReady = true;
        return this.#maybeReady();
      case 'stt.partial':
      case 'stt.final':
        return this.#onTranscript(String(msg.text ?? ''), msg.type === 'stt.final');
      case 'barge':
        return this.#onServerBarge(msg);
      case 'error':
        return this.#onError(msg);
      default:
        this.#log.debug('ignored-message', { type: String(msg.type ?? msg.stepType ?? '') });
    }
  }

  #maybeReady(): void {
    if (this.#ready && this.#sttReady) this.#socket.markReady();
  }

  #onTranscript(text: string, final: boolean): void {
    if (final) this.#window.finalTranscript();
    const turnId = this.#turns.input;
    if (!turnId) {
      this.#log.debug('transcript-without-turn', { final });
      return;
    }
    this.emit('transcript', { turnId, text, final });
    if (!final) return;
    this.#turns.final(text.trim() !== '');
    // Only a non-empty final starts an answer (docs/protocol.md). Nothing will come for this turn.
    if (!text.trim()) this.emit('replyEnd', { turnId, prompt: false });
  }

  /** The turn `seq` belongs to, or false to drop it; a newer `seq` stops every older answer. */
  #bind(seq: number | undefined): TurnId | false {
    const open = this.#sentences.openTurns();
    const { turn, advanced } = this.#turns.bind(seq);
    if (advanced && seq !== undefined) {
      // A newer seq stops every player of a lower one.
      this.#sentences.drop((s) => s < seq);
      for (const turnId of open) this.emit('barge', { turnId });
    }
    return turn;
  }

  #onSentence(msg: Record<string, unknown>): void {
    const seq = typeof msg.seq === 'number' ? msg.seq : undefined;
    const turnId = this.#bind(seq);
    if (turnId === false) return;
    const b64 = typeof msg.audioBase64 === 'string' && msg.audioBase64 ? msg.audioBase64 : null;
    this.#sentences.push(
      {
        seq: seq ?? this.#turns.currentSeq,
        sentenceId: String(msg.sentenceId ?? ''),
        chunkIndex: typeof msg.chunkIndex === 'number' ? msg.chunkIndex : undefined,
        isLastChunk: msg.isLastChunk === true,
        audio: b64,
      },
      turnId,
    );
  }

  #onFinalAnswer(msg: Record<string, unknown>): void {
    const seq = typeof msg.seq === 'number' ? msg.seq : undefined;
    const turnId = this.#bind(seq);
    if (turnId === false) return;
    this.#sentences.finish(seq ?? this.#turns.currentSeq);
    this.#window.answerComplete();
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
    this.#log.info('server-barge', { seq, reason: typeof msg.reason === 'string' ? msg.reason : undefined });
    // The user is talking over the answer: keep streaming so Soca hears the rest of it.
    this.#window.barge();
    // Soca's barge-in always stops what plays, even audio whose sentence already ended here.
    for (const turnId of interrupted.length ? interrupted : [old]) this.emit('barge', { turnId });
  }

  #onError(msg: Record<string, unknown>): void {
    const text = typeof msg.message === 'string' ? msg.message.slice(0, 2048) : safeStringify(msg).slice(0, 2048);
    if (AUTH_WORDS.test(text)) {
      this.#socket.drop(`soca rejected the private key: "${text}". Get a fresh key from the Soca dashboard and check soca.keyFile`, { auth: true });
      return;
    }
    if (!this.#socket.connected) {
      // Before ready, any error means the start message was refused (protocol error).
      this.#socket.drop(`soca refused the session: "${text}" (check soca.agentId and soca.lang)`);
      return;
    }
    const turnId = this.#turns.open ?? null;
    this.#log.error('service-error', { error: text, turnId });
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
