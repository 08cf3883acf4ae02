/**
 * Audio gateway client (docs/protocol.md "Audio gateway"): one WebSocket, JSON text frames,
 * binary frames as reply audio. Implements the Backend port. The connection itself (background
 * connect, heartbeat, capped jittered backoff, token re-read before every attempt, slow retry
 * after a token rejection) is a ReconnectingSocket; this file is the gateway's protocol on top of
 * it. Replies whose audio comes by URL are VoiceReplies' job.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tlsModule, WsClient } from '../net/ws-client.js';
import { CORE_FORMAT } from '../audio/format.js';
import type { GatewayConfig } from '../config/schema.js';
import { DisconnectedError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Backend, BackendEvents, TurnId, TurnOptions } from '../ports/backend.js';
import type { Scheduler } from '../util/clock.js';
import { remember } from '../util/bounded.js';
import { ReconnectingSocket, type SocketDown, type TargetResult } from '../util/reconnecting-socket.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { AudioDataEncoder } from './audio-data.js';
import { MaskedTextFrames } from './ws-frames.js';
import { failureReason } from './failure-reason.js';
import { out, parseGatewayMessage, type GatewayMessage } from './protocol.js';
import { readToken, tokenFingerprint } from './token.js';
import { VoiceReplies } from './voice-reply.js';

const BUFFERED_WARN_BYTES = 1024 * 1024;
/** Reply ids remembered as announced by `audio_start`, and transcripts' transaction ids kept for error reports. */
const KEEP_IDS = 32;
/** Tokens kept masked in the log: the one in use and the one before it. */
const KEEP_TOKENS = 2;

export interface GatewayClientOptions {
  env?: NodeJS.ProcessEnv;
  /** Random source of the backoff jitter. */
  random?: () => number;
  /** Time source of the heartbeat and the reconnect delays (default: the system clock). */
  clock?: Scheduler;
}

interface OpenTurn {
  pending: Int16Array;
  pendingLength: number;
  warnedBackpressure: boolean;
}

export class GatewayClient extends TypedEmitter<BackendEvents> implements Backend {
  readonly name = 'gateway';
  readonly #c: GatewayConfig;
  readonly #log: Logger;
  readonly #env: NodeJS.ProcessEnv;
  readonly #frameSamples: number;
  /** Builds each audio_data message in one reused buffer (the uplink hot path). */
  readonly #encoder = new AudioDataEncoder();
  readonly #frames = new MaskedTextFrames();
  readonly #socket: ReconnectingSocket;
  #turns = new Map<string, OpenTurn>();
  /** Id of the reply audio currently streaming, for binary frames that carry no id. */
  #replyId: string | null = null;
  #replyOpen = false;
  /** Reply ids between their `audio_start` and `audio_end`: only their audio plays. */
  readonly #announced = new Set<string>();
  /** Reply ids the gateway streamed audio for: a later `voice` URL for one of them is not fetched. */
  readonly #streamed = new Set<string>();
  /** Turns the session abandoned: a late `voice` URL for one of them is not fetched. */
  readonly #canceled = new Set<string>();
  /** `stt_transcript.transactionId` per turn, for error reports. */
  readonly #transactions = new Map<string, string>();
  /** `stt_options` goes out once per connection, before its first turn. */
  #sttOptionsSent = false;
  /** Tokens registered with the logger, oldest first. */
  readonly #tokens: string[] = [];
  readonly #voice: VoiceReplies;
  /** Reply audio bytes accepted for the reply now streaming (bounded by maxReplyBytes). */
  #replyBytes = 0;
  #replyOverflowed = false;
  #warnedInsecure = false;

  constructor(config: GatewayConfig, log: Logger, options: GatewayClientOptions = {}) {
    super();
    this.#c = config;
    this.#log = log.child('gateway');
    this.#env = options.env ?? process.env;
    this.#frameSamples = Math.round((CORE_FORMAT.sampleRate * config.frameMs) / 1000);
    this.#socket = new ReconnectingSocket({
      target: () => this.#target(),
      reconnectMinMs: config.reconnectMinMs,
      reconnectMaxMs: config.reconnectMaxMs,
      authRetryMs: config.authRetryMs,
      pingIntervalMs: config.pingIntervalMs,
      pongTimeoutMs: config.pongTimeoutMs,
      random: options.random,
      clock: options.clock,
    });
    this.#socket.on('connected', () => this.#onConnected());
    this.#socket.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    this.#socket.on('disconnected', (down) => this.#onDisconnected(down));
    this.#voice = new VoiceReplies((event, ...args) => this.emit(event, ...args), this.#log, () => ({
      timeoutMs: config.voiceUrl.timeoutMs,
      maxBytes: config.voiceUrl.maxBytes,
      // The same CA rules as the connection: the system's, plus the configured private CA.
      ...(config.caFile ? { ca: config.caFile } : {}),
    }));
  }

  get connected(): boolean {
    return this.#socket.connected;
  }

  async start(): Promise<void> {
    this.#socket.start();
  }

  async stop(): Promise<void> {
    const wasConnected = this.#socket.connected;
    await this.#socket.stop('agent stopping');
    this.#forgetTurns();
    this.#voice.clear();
    if (wasConnected) this.emit('disconnected', { reason: 'stopped', auth: false, retryInMs: -1 });
  }

  beginTurn(turnId: string, options: TurnOptions = {}): void {
    const ws = this.#requireOpen('start a turn');
    if (!this.#sttOptionsSent && this.#c.sttOptions) {
      // Once per connection, before its first turn, under that turn's transaction id.
      ws.send(out.sttOptions(turnId, this.#c.sttOptions));
      this.#sttOptionsSent = true;
    }
    ws.send(out.audioStart(turnId, this.#turnStt(turnId, options.stt)));
    this.#turns.set(turnId, { pending: new Int16Array(this.#frameSamples), pendingLength: 0, warnedBackpressure: false });
    this.#log.debug('audio-start-sent', { turnId });
  }

  sendAudio(turnId: string, pcm: Int16Array): void {
    const turn = this.#turns.get(turnId);
    const ws = this.#socket.ws;
    if (!turn || !ws || ws.readyState !== WsClient.OPEN) return;
    if (turn.pendingLength === 0 && pcm.length === this.#frameSamples) {
      // Already one frameMs frame (the microphone's usual size): no copy into the pending buffer.
      this.#sendAudioData(ws, this.#encoder.encode(turnId, pcm));
    } else {
      // Re-chunk to frameMs per message: small frames keep latency low, not too many messages.
      let offset = 0;
      while (offset < pcm.length) {
        const take = Math.min(this.#frameSamples - turn.pendingLength, pcm.length - offset);
        turn.pending.set(pcm.subarray(offset, offset + take), turn.pendingLength);
        turn.pendingLength += take;
        offset += take;
        if (turn.pendingLength === this.#frameSamples) this.#flush(ws, turnId, turn);
      }
    }
    if (!turn.warnedBackpressure && ws.bufferedAmount > BUFFERED_WARN_BYTES) {
      turn.warnedBackpressure = true;
      this.#log.warn('uplink-slow', { bufferedBytes: ws.bufferedAmount });
    }
  }

  endTurn(turnId: string): void {
    const turn = this.#turns.get(turnId);
    if (!turn) return;
    this.#turns.delete(turnId);
    const ws = this.#socket.ws;
    if (!ws || ws.readyState !== WsClient.OPEN) return;
    if (turn.pendingLength > 0) this.#flush(ws, turnId, turn);
    ws.send(out.audioEnd(turnId));
    this.#log.debug('audio-end-sent', { turnId });
  }

  /** The protocol has no cancel: the turn is closed with `audio_end` and its reply ignored. */
  cancelTurn(turnId: string): void {
    remember(this.#canceled, turnId, KEEP_IDS);
    this.#voice.cancel(turnId);
    const turn = this.#turns.get(turnId);
    if (!turn) return;
    this.#turns.delete(turnId);
    const ws = this.#socket.ws;
    if (ws && ws.readyState === WsClient.OPEN) ws.send(out.audioEnd(turnId));
    this.#log.debug('turn-canceled', { turnId });
  }

  sendText(turnId: string, text: string): void {
    this.#requireOpen('send text').send(out.text(turnId, text));
  }

  #requireOpen(what: string): WsClient {
    const ws = this.#socket.ws;
    if (!ws || ws.readyState !== WsClient.OPEN || !this.#socket.connected) {
      throw new DisconnectedError(`cannot ${what}: not connected to the gateway`);
    }
    return ws;
  }

  /** One `audio_data` message: framed here and written to the stream at once (ws-frames.ts), or through ws. */
  #sendAudioData(ws: WsClient, message: Buffer): void {
    const stream = this.#socket.stream;
    if (stream?.writable) this.#frames.write(stream, message);
    else ws.send(message, { binary: false });
  }

  #flush(ws: WsClient, turnId: string, turn: OpenTurn): void {
    // The encoder reads the reused pending buffer at once: a view of it is enough.
    this.#sendAudioData(ws, this.#encoder.encode(turnId, turn.pending.subarray(0, turn.pendingLength)));
    turn.pendingLength = 0;
  }

  /**
   * Per-turn STT overrides for `audio_start.options.stt`. `content_type` is dropped: the audio
   * format and rate are fixed for the connection and cannot be overridden per turn.
   */
  #turnStt(turnId: string, stt: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    if (!stt) return undefined;
    if (!('content_type' in stt)) return stt;
    const { content_type: _dropped, ...rest } = stt;
    this.#log.info('stt-option-ignored', { turnId, option: 'content_type', reason: 'the audio format cannot be overridden per turn' });
    return Object.keys(rest).length ? rest : undefined;
  }

  #forgetTurns(): void {
    this.#turns.clear();
    this.#replyId = null;
    this.#replyOpen = false;
    this.#announced.clear();
    this.#replyBytes = 0;
    this.#replyOverflowed = false;
  }

  // ---- connection -------------------------------------------------------------------------

  /**
   * The URL and upgrade options for the next attempt; the token (a token command runs) and the CA
   * file are read afresh each time, and the token's fingerprint lets the socket retry a refusal
   * at once when the token changed.
   */
  async #target(): Promise<TargetResult> {
    const url = new URL(this.#c.url);
    for (const [k, v] of Object.entries(this.#c.query)) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...this.#c.headers };
    const token = await readToken(this.#c, this.#env);
    if ('error' in token) {
      this.#log.error('token-unavailable', { problem: token.error, fix: token.fix });
      return { unavailable: `no token: ${token.error}`, auth: true };
    }
    if (token.token) {
      this.#maskToken(token.token);
      headers.Authorization = `Bearer ${token.token}`;
      if (url.protocol === 'ws:' && !isLoopbackHost(url.hostname)) {
        const fields = { url: `${url.protocol}//${url.host}`, problem: 'the gateway token would travel in clear text (ws://, not loopback)', fix: 'use a wss:// URL' };
        if (this.#c.insecureTokens === 'refuse') {
          this.#log.error('token-insecure', { ...fields, policy: 'refuse' });
          return { unavailable: `refusing to send the token over ws:// to ${url.hostname} (gateway.insecureTokens: refuse); use wss://`, auth: true };
        }
        if (!this.#warnedInsecure) this.#log.warn('token-insecure', { ...fields, policy: 'warn', refuse: 'set gateway.insecureTokens: refuse' });
        this.#warnedInsecure = true;
      }
    }
    let ca: string | undefined;
    if (this.#c.caFile) {
      try {
        ca = readFileSync(this.#c.caFile, 'utf8');
      } catch (err) {
        this.#log.error('ca-file-unreadable', { file: this.#c.caFile, error: (err as Error).message });
        return { unavailable: 'CA file unreadable', auth: false };
      }
    }
    const where = `${url.protocol}//${url.host}${url.pathname}`;
    this.#log.info('connecting', { url: where, auth: token.token ? token.source : 'none' });
    return {
      url,
      ...(token.token ? { credential: tokenFingerprint(token.token) } : {}),
      options: {
        headers,
        handshakeTimeout: this.#c.connectTimeoutMs,
        // Frames past both caps are dropped in #onMessage; far past them ws closes with 1009.
        maxPayload: 2 * Math.max(this.#c.maxMessageBytes, this.#c.maxAudioFrameBytes),
        perMessageDeflate: false,
        // Certificate verification stays on; a private CA is added to the system's, never a bypass.
        // node:tls only when a private CA is configured (it is loaded for wss:// anyway).
        ...(ca ? { ca: [...tlsModule().rootCertificates, ca] } : {}),
      },
    };
  }

  /**
   * Masks the token in the log. A token command gives a new token on every attempt: only the
   * latest few stay registered, so the logger's set does not grow for ever.
   */
  #maskToken(token: string): void {
    this.#log.addSecret(token);
    const known = this.#tokens;
    const at = known.indexOf(token);
    if (at >= 0) known.splice(at, 1);
    known.push(token);
    while (known.length > KEEP_TOKENS) this.#log.removeSecret(known.shift()!);
  }

  #onConnected(): void {
    const ws = this.#socket.ws;
    if (!ws) return;
    this.#log.info('connected');
    this.#sttOptionsSent = false;
    if (this.#c.ttsOptions) ws.send(out.ttsOptions(randomUUID(), this.#c.ttsOptions));
    if (this.#c.location) ws.send(out.location(randomUUID(), this.#c.location));
    this.emit('connected');
  }

  /** Every failed attempt is told, so status always carries the current reason. */
  #onDisconnected(down: SocketDown): void {
    this.#forgetTurns();
    const f = down.failure;
    const socketError = f.kind === 'error' ? f.error : f.kind === 'closed' ? f.error : undefined;
    if (socketError) this.#log.debug('socket-error', { error: socketError.message });
    if (f.kind === 'heartbeat') this.#log.warn('heartbeat-timeout', { silentMs: Math.round(f.silentMs) });
    if (f.kind === 'refused' && down.auth && !down.repeated) {
      this.#log.error('auth-rejected', {
        status: f.status,
        problem: 'the gateway rejected the token',
        fix:
          down.retryInMs === 0
            ? 'the token source gives a new token: retrying at once with it'
            : `check the token from gateway.tokenCommand / tokenFile / the credential / the environment variable; retrying in ${Math.round(down.retryInMs / 1000)} s`,
      });
    }
    const reason = failureReason(f, down.auth);
    this.#log.warn('disconnected', { reason, retryInMs: down.retryInMs });
    this.emit('disconnected', { reason, auth: down.auth, retryInMs: down.retryInMs });
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      // Binary frames are reply audio, but only inside a reply the gateway announced with
      // audio_start; outside one they are junk and would be played as noise.
      if (!this.#replyOpen) {
        this.#log.warn('message-ignored', { reason: 'binary frame outside a reply (no audio_start)', bytes: data.length });
        return;
      }
      if (data.length > this.#c.maxAudioFrameBytes) {
        this.#log.warn('message-ignored', { reason: 'oversized audio frame', bytes: data.length, limit: this.#c.maxAudioFrameBytes });
        return;
      }
      this.#replyAudio(this.#replyId, data);
      return;
    }
    if (data.length > this.#c.maxMessageBytes) {
      this.#log.warn('message-ignored', { reason: 'oversized', bytes: data.length, limit: this.#c.maxMessageBytes });
      return;
    }
    const parsed = parseGatewayMessage(data.toString('utf8'));
    if (!parsed.ok) {
      this.#log.warn('message-ignored', { reason: parsed.reason, ...(parsed.action ? { action: parsed.action } : {}), bytes: data.length });
      return;
    }
    this.#dispatch(parsed.message);
  }

  #dispatch(m: GatewayMessage): void {
    switch (m.action) {
      case 'stt_transcript':
        if (m.id && m.transactionId) remember(this.#transactions, m.id, KEEP_IDS, m.transactionId);
        this.#log.debug('transcript', { turnId: m.id, final: m.final, ...(m.transactionId ? { transactionId: m.transactionId } : {}) });
        this.emit('transcript', { turnId: m.id, text: m.transcript, final: m.final, ...(m.confidence !== undefined ? { confidence: m.confidence } : {}) });
        return;
      case 'text':
        this.emit('replyText', { turnId: m.id, text: m.text, ...(m.prompt !== undefined ? { prompt: m.prompt } : {}) });
        if (m.voice && m.id !== null && this.#c.voiceUrl.enabled && !this.#streamed.has(m.id) && !this.#canceled.has(m.id)) {
          this.#voice.begin(m.id, m.voice, m.prompt);
        }
        return;
      case 'response':
        this.emit('response', { turnId: m.id, data: m.data });
        return;
      case 'audio_start':
        this.#replyId = m.id;
        this.#replyOpen = true;
        this.#replyBytes = 0;
        this.#replyOverflowed = false;
        if (m.id !== null) remember(this.#announced, m.id, KEEP_IDS);
        if (this.#voice.owns(m.id)) this.#voice.gatewayStart(m.id, m.format);
        else this.emit('replyAudioStart', { turnId: m.id, format: m.format });
        return;
      case 'audio_data':
        this.#replyAudio(m.id ?? (this.#replyOpen ? this.#replyId : null), m.data);
        return;
      case 'audio_end': {
        const id = m.id ?? this.#replyId;
        // An audio_start without an id announces the stream that audio without an id belongs to.
        const announced = id !== null ? this.#announced.delete(id) : this.#replyOpen && this.#replyId === null;
        if (id === this.#replyId) {
          this.#replyId = null;
          this.#replyOpen = false;
          this.#replyBytes = 0;
          this.#replyOverflowed = false;
        }
        if (this.#voice.owns(id)) {
          this.#voice.gatewayEnd(id, m.prompt);
          return;
        }
        if (announced) this.emit('replyAudioEnd', { turnId: id });
        this.emit('replyEnd', { turnId: m.id, prompt: m.prompt });
        return;
      }
      case 'error': {
        const transactionId = m.id ? this.#transactions.get(m.id) : undefined;
        this.#log.warn('gateway-error', { turnId: m.id, message: m.message, ...(transactionId ? { transactionId } : {}) });
        this.emit('turnError', { turnId: m.id, message: m.message, detail: m.detail });
        return;
      }
    }
  }

  /**
   * Reply audio for `id`. Audio data "is always preceded by an audio start message": audio for
   * an id that no `audio_start` announced (or whose reply already ended) is dropped, not played.
   */
  #replyAudio(id: TurnId, data: Buffer): void {
    const announced = id === null ? this.#replyOpen && this.#replyId === null : this.#announced.has(id);
    if (!announced) {
      this.#log.warn('reply-audio-dropped', { turnId: id, bytes: data.length, reason: 'audio_data for a reply that no audio_start announced' });
      return;
    }
    this.#replyBytes += data.length;
    if (this.#replyBytes > this.#c.maxReplyBytes) {
      if (!this.#replyOverflowed) this.#log.warn('reply-audio-dropped', { turnId: id, reason: 'reply longer than gateway.maxReplyBytes', limit: this.#c.maxReplyBytes });
      this.#replyOverflowed = true;
      return;
    }
    if (id !== null) remember(this.#streamed, id, KEEP_IDS);
    if (this.#voice.owns(id)) this.#voice.gatewayAudio(id, data);
    else this.emit('replyAudio', { turnId: id, data });
  }
}

/** True for localhost and the loopback addresses (a token there never leaves the machine). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
