/**
 * Audio gateway client (docs/protocol.md): one WebSocket, JSON text frames, binary frames as
 * reply audio. Implements the Backend port. The connection itself (background connect, heartbeat,
 * capped jittered backoff, slow retry after a token rejection) is a ReconnectingSocket; this file
 * is the gateway's protocol on top of it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import WebSocket from 'ws';
import { CORE_FORMAT } from '../audio/format.js';
import { int16ToBytes } from '../audio/wav.js';
import type { GatewayConfig } from '../config/schema.js';
import { DisconnectedError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Backend, BackendEvents, TurnOptions } from '../ports/backend.js';
import type { Scheduler } from '../util/clock.js';
import { ReconnectingSocket, type SocketDown, type SocketFailure, type SocketTarget, type TargetUnavailable } from '../util/reconnecting-socket.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { out, parseGatewayMessage, type GatewayMessage } from './protocol.js';
import { readToken } from './token.js';

const BUFFERED_WARN_BYTES = 1024 * 1024;

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
  readonly #socket: ReconnectingSocket;
  #turns = new Map<string, OpenTurn>();
  /** Id of the reply audio currently streaming, for binary frames that carry no id. */
  #replyId: string | null = null;
  #replyOpen = false;
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
    if (wasConnected) this.emit('disconnected', { reason: 'stopped', auth: false, retryInMs: -1 });
  }

  beginTurn(turnId: string, options: TurnOptions = {}): void {
    const ws = this.#requireOpen('start a turn');
    const stt = options.stt ?? this.#c.sttOptions;
    ws.send(out.audioStart(turnId, stt));
    this.#turns.set(turnId, { pending: new Int16Array(this.#frameSamples), pendingLength: 0, warnedBackpressure: false });
    this.#log.debug('audio-start-sent', { turnId });
  }

  sendAudio(turnId: string, pcm: Int16Array): void {
    const turn = this.#turns.get(turnId);
    const ws = this.#socket.ws;
    if (!turn || !ws || ws.readyState !== WebSocket.OPEN) return;
    if (turn.pendingLength === 0 && pcm.length === this.#frameSamples) {
      // Already one frameMs frame (the microphone's usual size): no copy into the pending buffer.
      ws.send(out.audioData(turnId, int16ToBytes(pcm)));
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
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (turn.pendingLength > 0) this.#flush(ws, turnId, turn);
    ws.send(out.audioEnd(turnId));
    this.#log.debug('audio-end-sent', { turnId });
  }

  /** The protocol has no cancel: the turn is closed with `audio_end` and its reply ignored. */
  cancelTurn(turnId: string): void {
    const turn = this.#turns.get(turnId);
    if (!turn) return;
    this.#turns.delete(turnId);
    const ws = this.#socket.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(out.audioEnd(turnId));
    this.#log.debug('turn-canceled', { turnId });
  }

  sendText(turnId: string, text: string): void {
    this.#requireOpen('send text').send(out.text(turnId, text));
  }

  #requireOpen(what: string): WebSocket {
    const ws = this.#socket.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.#socket.connected) {
      throw new DisconnectedError(`cannot ${what}: not connected to the gateway`);
    }
    return ws;
  }

  #flush(ws: WebSocket, turnId: string, turn: OpenTurn): void {
    // audioData encodes at once, so a view of the reused pending buffer is enough.
    ws.send(out.audioData(turnId, int16ToBytes(turn.pending.subarray(0, turn.pendingLength))));
    turn.pendingLength = 0;
  }

  #forgetTurns(): void {
    this.#turns.clear();
    this.#replyId = null;
    this.#replyOpen = false;
    this.#replyBytes = 0;
    this.#replyOverflowed = false;
  }

  // ---- connection -------------------------------------------------------------------------

  /** The URL and upgrade options for the next attempt; the token and CA file are read afresh each time. */
  #target(): SocketTarget | TargetUnavailable {
    const url = new URL(this.#c.url);
    for (const [k, v] of Object.entries(this.#c.query)) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...this.#c.headers };
    const token = readToken(this.#c, this.#env);
    if ('error' in token) {
      this.#log.error('token-unavailable', { problem: token.error, fix: 'set gateway.tokenFile to a readable file, or the environment variable' });
      return { unavailable: 'no token', auth: true };
    }
    if (token.token) {
      this.#log.addSecret(token.token);
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
      options: {
        headers,
        handshakeTimeout: this.#c.connectTimeoutMs,
        // Frames past both caps are dropped in #onMessage; far past them ws closes with 1009.
        maxPayload: 2 * Math.max(this.#c.maxMessageBytes, this.#c.maxAudioFrameBytes),
        perMessageDeflate: false,
        // Certificate verification stays on; a private CA is added to the system's, never a bypass.
        ...(ca ? { ca: [...rootCertificates, ca] } : {}),
      },
    };
  }

  #onConnected(): void {
    const ws = this.#socket.ws;
    if (!ws) return;
    this.#log.info('connected');
    if (this.#c.sttOptions) ws.send(out.sttOptions(randomUUID(), this.#c.sttOptions));
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
        fix: 'check the token in gateway.tokenFile / the credential / the environment variable; retrying slowly',
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

  /** Reply audio within the per-reply budget; past it, the rest of that reply is dropped once, with a line. */
  #replyAudio(turnId: string | null, data: Buffer): void {
    this.#replyBytes += data.length;
    if (this.#replyBytes > this.#c.maxReplyBytes) {
      if (!this.#replyOverflowed) this.#log.warn('reply-audio-dropped', { turnId, reason: 'reply longer than gateway.maxReplyBytes', limit: this.#c.maxReplyBytes });
      this.#replyOverflowed = true;
      return;
    }
    this.emit('replyAudio', { turnId, data });
  }

  #dispatch(m: GatewayMessage): void {
    switch (m.action) {
      case 'stt_transcript':
        this.emit('transcript', { turnId: m.id, text: m.transcript, final: m.final, ...(m.confidence !== undefined ? { confidence: m.confidence } : {}) });
        return;
      case 'text':
        this.emit('replyText', { turnId: m.id, text: m.text, ...(m.prompt !== undefined ? { prompt: m.prompt } : {}) });
        return;
      case 'response':
        this.emit('response', { turnId: m.id, data: m.data });
        return;
      case 'audio_start':
        this.#replyId = m.id;
        this.#replyOpen = true;
        this.#replyBytes = 0;
        this.#replyOverflowed = false;
        this.emit('replyAudioStart', { turnId: m.id, format: m.format });
        return;
      case 'audio_data':
        this.#replyAudio(m.id ?? this.#replyId, m.data);
        return;
      case 'audio_end':
        this.emit('replyAudioEnd', { turnId: m.id });
        this.emit('replyEnd', { turnId: m.id, prompt: m.prompt });
        if (m.id === this.#replyId || m.id === null) {
          this.#replyId = null;
          this.#replyOpen = false;
          this.#replyBytes = 0;
          this.#replyOverflowed = false;
        }
        return;
      case 'error':
        this.#log.warn('gateway-error', { turnId: m.id, message: m.message });
        this.emit('turnError', { turnId: m.id, message: m.message, detail: m.detail });
        return;
    }
  }
}

/** True for localhost and the loopback addresses (a token there never leaves the machine). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The `reason` of a `disconnected` event, as status and the log show it. */
function failureReason(f: SocketFailure, auth: boolean): string {
  switch (f.kind) {
    case 'unavailable':
    case 'dropped':
      return f.reason;
    case 'invalid':
    case 'error':
      return f.error.message;
    case 'refused':
      return auth ? `gateway rejected the token (HTTP ${f.status})` : `HTTP ${f.status}`;
    case 'closed':
      return f.error?.message ?? (f.reason || `code ${f.code}`);
    case 'heartbeat':
      // Worded as the close that terminate() causes; the heartbeat-timeout line says why.
      return 'code 1006';
    case 'ready-timeout':
      return `not ready within ${f.timeoutMs} ms`;
  }
}
