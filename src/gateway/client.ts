/**
 * Audio gateway client (seed 000/001): one WebSocket, JSON text frames, binary frames as reply
 * audio. Implements the Backend port. Connects in the background and keeps reconnecting with
 * capped, jittered backoff; a token rejection (401/403) is reported clearly and retried slowly.
 * A heartbeat (ping, terminate on a missing pong) finds silent disconnects.
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
import { TypedEmitter } from '../util/typed-emitter.js';
import { Backoff } from '../util/backoff.js';
import { closeGracefully } from '../util/ws-close.js';
import { out, parseGatewayMessage, type GatewayMessage } from './protocol.js';
import { readToken } from './token.js';

/** A connection that lived this long resets the backoff; shorter ones keep it growing. */
const STABLE_MS = 10_000;
/** Hard limit above which ws itself closes the socket (1009); smaller oversize is ignored. */
const WS_MAX_PAYLOAD = 64 * 1024 * 1024;
const BUFFERED_WARN_BYTES = 1024 * 1024;

export interface GatewayClientOptions {
  env?: NodeJS.ProcessEnv;
  random?: () => number;
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
  readonly #backoff: Backoff;
  readonly #frameSamples: number;
  #ws: WebSocket | undefined;
  #connected = false;
  #stopped = true;
  #retryTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #lastPong = 0;
  #openedAt = 0;
  #authFailed = false;
  #lastStatus: number | undefined;
  #turns = new Map<string, OpenTurn>();
  /** Id of the reply audio currently streaming, for binary frames that carry no id. */
  #replyId: string | null = null;
  #replyOpen = false;

  constructor(config: GatewayConfig, log: Logger, options: GatewayClientOptions = {}) {
    super();
    this.#c = config;
    this.#log = log.child('gateway');
    this.#env = options.env ?? process.env;
    this.#backoff = new Backoff(config.reconnectMinMs, config.reconnectMaxMs, options.random);
    this.#frameSamples = Math.round((CORE_FORMAT.sampleRate * config.frameMs) / 1000);
  }

  get connected(): boolean {
    return this.#connected;
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const ws = this.#ws;
    if (ws) await closeGracefully(ws, 'agent stopping');
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
    const ws = this.#ws;
    if (!turn || !ws || ws.readyState !== WebSocket.OPEN) return;
    // Re-chunk to frameMs per message: small frames keep latency low, not too many messages.
    let offset = 0;
    while (offset < pcm.length) {
      const take = Math.min(this.#frameSamples - turn.pendingLength, pcm.length - offset);
      turn.pending.set(pcm.subarray(offset, offset + take), turn.pendingLength);
      turn.pendingLength += take;
      offset += take;
      if (turn.pendingLength === this.#frameSamples) this.#flush(ws, turnId, turn);
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
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (turn.pendingLength > 0) this.#flush(ws, turnId, turn);
    ws.send(out.audioEnd(turnId));
    this.#log.debug('audio-end-sent', { turnId });
  }

  /** The seed protocol has no cancel: the turn is closed with `audio_end` and its reply ignored. */
  cancelTurn(turnId: string): void {
    const turn = this.#turns.get(turnId);
    if (!turn) return;
    this.#turns.delete(turnId);
    const ws = this.#ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(out.audioEnd(turnId));
    this.#log.debug('turn-canceled', { turnId });
  }

  sendText(turnId: string, text: string): void {
    this.#requireOpen('send text').send(out.text(turnId, text));
  }

  #requireOpen(what: string): WebSocket {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.#connected) {
      throw new DisconnectedError(`cannot ${what}: not connected to the gateway`);
    }
    return ws;
  }

  #flush(ws: WebSocket, turnId: string, turn: OpenTurn): void {
    const frame = turn.pending.subarray(0, turn.pendingLength);
    ws.send(out.audioData(turnId, Buffer.from(int16ToBytes(frame))));
    turn.pendingLength = 0;
  }

  #connect(): void {
    if (this.#stopped) return;
    const url = new URL(this.#c.url);
    for (const [k, v] of Object.entries(this.#c.query)) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...this.#c.headers };
    const token = readToken(this.#c, this.#env);
    if ('error' in token) {
      this.#log.error('token-unavailable', { problem: token.error, fix: 'set gateway.tokenFile to a readable file, or the environment variable' });
      this.#scheduleRetry('no token', true, this.#c.authRetryMs);
      return;
    }
    if (token.token) {
      this.#log.addSecret(token.token);
      headers.Authorization = `Bearer ${token.token}`;
    }
    let ca: string | undefined;
    if (this.#c.caFile) {
      try {
        ca = readFileSync(this.#c.caFile, 'utf8');
      } catch (err) {
        this.#log.error('ca-file-unreadable', { file: this.#c.caFile, error: (err as Error).message });
        this.#scheduleRetry('CA file unreadable', false, this.#c.authRetryMs);
        return;
      }
    }
    const where = `${url.protocol}//${url.host}${url.pathname}`;
    this.#log.info('connecting', { url: where, auth: token.token ? token.source : 'none' });
    this.#lastStatus = undefined;
    const ws = new WebSocket(url, {
      headers,
      handshakeTimeout: this.#c.connectTimeoutMs,
      maxPayload: WS_MAX_PAYLOAD,
      perMessageDeflate: false,
      // Certificate verification stays on; a private CA is added to the system's, never a bypass.
      ...(ca ? { ca: [...rootCertificates, ca] } : {}),
    });
    this.#ws = ws;

    ws.on('unexpected-response', (req, res) => {
      this.#lastStatus = res.statusCode;
      res.resume();
      req.destroy();
      // ws emits 'close' after this only for an open socket; make sure we retry.
      this.#onClosed(ws, 1006, `HTTP ${res.statusCode}`);
    });
    ws.on('open', () => this.#onOpen(ws));
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('pong', () => (this.#lastPong = performance.now()));
    ws.on('ping', () => (this.#lastPong = performance.now()));
    ws.on('error', (err) => {
      if (this.#lastStatus === undefined) this.#log.debug('socket-error', { error: err.message });
      this.#onClosed(ws, 1006, err.message);
    });
    ws.on('close', (code, reason) => this.#onClosed(ws, code, reason.toString() || `code ${code}`));
  }

  #onOpen(ws: WebSocket): void {
    if (this.#ws !== ws) return;
    this.#connected = true;
    this.#authFailed = false;
    this.#openedAt = performance.now();
    this.#lastPong = this.#openedAt;
    this.#log.info('connected');
    if (this.#c.sttOptions) ws.send(out.sttOptions(randomUUID(), this.#c.sttOptions));
    if (this.#c.ttsOptions) ws.send(out.ttsOptions(randomUUID(), this.#c.ttsOptions));
    if (this.#c.location) ws.send(out.location(randomUUID(), this.#c.location));
    this.#pingTimer = setInterval(() => this.#heartbeat(ws), this.#c.pingIntervalMs);
    this.emit('connected');
  }

  #heartbeat(ws: WebSocket): void {
    if (performance.now() - this.#lastPong > this.#c.pingIntervalMs + this.#c.pongTimeoutMs) {
      this.#log.warn('heartbeat-timeout', { silentMs: Math.round(performance.now() - this.#lastPong) });
      ws.terminate();
      return;
    }
    ws.ping();
  }

  #onClosed(ws: WebSocket, code: number, reason: string): void {
    if (this.#ws !== ws) return; // already handled
    this.#ws = undefined;
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
    const wasConnected = this.#connected;
    this.#connected = false;
    this.#turns.clear();
    this.#replyId = null;
    this.#replyOpen = false;
    if (wasConnected && performance.now() - this.#openedAt >= STABLE_MS) this.#backoff.reset();
    if (this.#stopped) {
      if (wasConnected) this.emit('disconnected', { reason: 'stopped', auth: false, retryInMs: -1 });
      return;
    }
    const status = this.#lastStatus;
    if (status === 401 || status === 403) {
      if (!this.#authFailed) {
        this.#log.error('auth-rejected', {
          status,
          problem: 'the gateway rejected the token',
          fix: 'check the token in gateway.tokenFile / the credential / the environment variable; retrying slowly',
        });
      }
      this.#authFailed = true;
      this.#scheduleRetry(`gateway rejected the token (HTTP ${status})`, true, this.#c.authRetryMs);
      return;
    }
    this.#scheduleRetry(status ? `HTTP ${status}` : reason || `closed (${code})`, false);
  }

  #scheduleRetry(reason: string, auth: boolean, fixedMs?: number): void {
    const delay = fixedMs ?? this.#backoff.next();
    this.#log.warn('disconnected', { reason, retryInMs: delay });
    // Told on every failed attempt, so status always carries the current reason.
    this.emit('disconnected', { reason, auth, retryInMs: delay });
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, delay);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      // Binary frames are reply audio, but only inside a reply the gateway announced with
      // audio_start; outside one they are junk and would be played as noise.
      if (!this.#replyOpen) {
        this.#log.warn('message-ignored', { reason: 'binary frame outside a reply (no audio_start)', bytes: data.length });
        return;
      }
      this.emit('replyAudio', { turnId: this.#replyId, data });
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
        this.emit('replyAudioStart', { turnId: m.id, format: m.format });
        return;
      case 'audio_data':
        this.emit('replyAudio', { turnId: m.id ?? this.#replyId, data: m.data });
        return;
      case 'audio_end':
        this.emit('replyAudioEnd', { turnId: m.id });
        this.emit('replyEnd', { turnId: m.id, prompt: m.prompt });
        if (m.id === this.#replyId || m.id === null) {
          this.#replyId = null;
          this.#replyOpen = false;
        }
        return;
      case 'error':
        this.#log.warn('gateway-error', { turnId: m.id, message: m.message });
        this.emit('turnError', { turnId: m.id, message: m.message, detail: m.detail });
        return;
    }
  }
}
