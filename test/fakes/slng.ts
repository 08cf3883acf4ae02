/**
 * Fake SLNG streaming STT and TTS servers (docs/protocol.md "SLNG") on loopback. Both check
 * `Authorization: Bearer <key>` (401 otherwise) and require `init` first.
 * STT (the unified bridge): answers `init` with `ready`; takes binary PCM frames (or `audio`
 * base64 JSON); sends `partial_transcript` while audio flows and each finished segment of the
 * utterance as its own `final_transcript` (every `segmentMs` of audio); the server's end of speech
 * (`endAfterMs`) is `utterance_end`; `finalize` sends the segments still unsent, the last marked
 * `from_finalize` (unless `markFinalize` is false); counts `keepalive`; `close` closes.
 * TTS: `unified` (the bridge, the default) answers `init` with `ready`, then `text` (+ `flush`) or
 * `flush` produce `segment_start`, audio (base64 `audio_chunk` with `sequence`, or binary frames),
 * `segment_end`, `flushed` (all audio for the flush has been sent); `clear` answers `cleared`;
 * `close` answers `audio_end` and closes. `native` speaks a provider-native endpoint such as
 * `/v1/tts/deepgram/aura:2`: no `ready` after `init`, binary audio only, then `Flushed`.
 * Errors by code on demand.
 */
import type { WebSocket, WebSocketServer } from 'ws';
import { closeServer, listen, sendJson } from './ws-server.js';

type Json = Record<string, unknown>;

export interface FakeSlngSttOptions {
  key: string;
  transcript: string;
  /** The utterance's segments, each sent as a final_transcript (default: the transcript as one). */
  segments?: string[];
  /** A finished segment goes out after each this much audio (ms, default 250). */
  segmentMs?: number;
  /** End the utterance by itself (server VAD: `utterance_end`) after this much audio (ms). */
  endAfterMs?: number;
  /** Mark the final that answers `finalize` with `from_finalize: true` (default true). */
  markFinalize?: boolean;
  /** Answer `init` with this error code. */
  initError?: string;
}

export interface SlngSttConn {
  ws: WebSocket;
  init: Json | undefined;
  audioBytes: number;
  binaryFrames: number;
  base64Frames: number;
  finalizes: number;
  keepalives: number;
  closeReceived: boolean;
  socketClosed: boolean;
  violations: string[];
}

export class FakeSlngStt {
  readonly conns: SlngSttConn[] = [];
  url = '';
  #wss!: WebSocketServer;
  constructor(private readonly options: FakeSlngSttOptions) {}

  async start(): Promise<this> {
    const { wss, port } = await listen((req) => (req.headers.authorization === `Bearer ${this.options.key}` ? undefined : 401));
    this.#wss = wss;
    this.url = `ws://127.0.0.1:${port}/v1/stt/fake/model:1`;
    wss.on('connection', (ws) => this.#accept(ws));
    return this;
  }

  async close(): Promise<void> {
    await closeServer(this.#wss);
  }

  #accept(ws: WebSocket): void {
    const c: SlngSttConn = {
      ws,
      init: undefined,
      audioBytes: 0,
      binaryFrames: 0,
      base64Frames: 0,
      finalizes: 0,
      keepalives: 0,
      closeReceived: false,
      socketClosed: false,
      violations: [],
    };
    this.conns.push(c);
    ws.on('close', () => (c.socketClosed = true));
    let partialSent = false;
    let ended = false;
    const segments = [...(this.options.segments ?? [this.options.transcript])];
    const total = segments.length;
    const segmentBytes = (this.options.segmentMs ?? 250) * 32;
    const segment = (extra: Json = {}): void => {
      const text = segments.shift() ?? '';
      sendJson(ws, { type: 'final_transcript', transcript: text, confidence: 0.97, language: 'en', duration: c.audioBytes / 32000, ...extra });
    };
    const audio = (bytes: number): void => {
      c.audioBytes += bytes;
      if (ended) return;
      if (!partialSent && c.audioBytes >= 3200) {
        partialSent = true;
        sendJson(ws, { type: 'partial_transcript', transcript: (segments[0] ?? '').split(' ')[0], confidence: 0.91 });
      }
      // Each finished segment is a final of its own; the last waits for the end of the utterance.
      while (segments.length > 1 && c.audioBytes >= (total - segments.length + 1) * segmentBytes) segment();
      if (this.options.endAfterMs !== undefined && c.audioBytes >= this.options.endAfterMs * 32) {
        ended = true;
        while (segments.length) segment();
        sendJson(ws, { type: 'utterance_end' });
      }
    };
    const finalize = (): void => {
      if (ended) return;
      ended = true;
      while (segments.length > 1) segment();
      segment(this.options.markFinalize === false ? {} : { from_finalize: true });
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        if (!c.init) c.violations.push('audio before init');
        c.binaryFrames++;
        audio((data as Buffer).length);
        return;
      }
      const msg = JSON.parse((data as Buffer).toString()) as Json;
      if (!c.init) {
        if (msg.type !== 'init') {
          sendJson(ws, { type: 'error', code: 'config_error', message: 'expected init' });
          return;
        }
        c.init = msg;
        if (this.options.initError) {
          sendJson(ws, { type: 'error', code: this.options.initError, message: `fake ${this.options.initError}` });
          return;
        }
        sendJson(ws, { type: 'ready', session_id: `stt-${this.conns.length}` });
        return;
      }
      switch (msg.type) {
        case 'audio':
          c.base64Frames++;
          audio(Buffer.from(String(msg.data), 'base64').length);
          return;
        case 'finalize':
          c.finalizes++;
          finalize();
          return;
        case 'keepalive':
          c.keepalives++;
          return;
        case 'close':
          c.closeReceived = true;
          ws.close(1000);
          return;
        default:
          c.violations.push(`unknown ${String(msg.type)}`);
      }
    });
  }
}

export interface FakeSlngTtsOptions {
  key: string;
  /** Send audio as raw binary frames instead of base64 `audio_chunk`. */
  binary?: boolean;
  /** Answer `init` with this error code. */
  initError?: string;
  /** The first N connections get `rate_limit` in answer to `text`. */
  rateLimitFirst?: number;
  /** Audio chunks per text, and the delay between them (ms; 0 sends all at once). */
  chunks?: number;
  chunkDelayMs?: number;
  /** Bytes per chunk (PCM). */
  chunkBytes?: number;
  /** `unified` (the bridge, default) or `native` (a provider-native per-model endpoint). */
  protocol?: 'unified' | 'native';
  /** Misbehave: never answer init with ready; never answer the text; close 1000 after the audio instead of flushed. */
  fault?: 'no-ready' | 'silent' | 'close-after-audio';
}

export interface SlngTtsConn {
  ws: WebSocket;
  init: Json | undefined;
  texts: Json[];
  clears: number;
  closeReceived: boolean;
  chunksSent: number;
}

export class FakeSlngTts {
  readonly conns: SlngTtsConn[] = [];
  url = '';
  #wss!: WebSocketServer;
  constructor(private readonly options: FakeSlngTtsOptions) {}

  async start(): Promise<this> {
    const { wss, port } = await listen((req) => (req.headers.authorization === `Bearer ${this.options.key}` ? undefined : 401));
    this.#wss = wss;
    this.url = this.options.protocol === 'native' ? `ws://127.0.0.1:${port}/v1/tts/deepgram/aura:2` : `ws://127.0.0.1:${port}/v1/bridges/unmute/tts/slng/deepgram/aura:2-en`;
    wss.on('connection', (ws) => this.#accept(ws));
    return this;
  }

  async close(): Promise<void> {
    await closeServer(this.#wss);
  }

  /** The bytes of chunk `i` of a reply: recognisable in assertions. */
  static chunk(i: number, bytes: number): Buffer {
    return Buffer.alloc(bytes, i + 1);
  }

  #accept(ws: WebSocket): void {
    const c: SlngTtsConn = { ws, init: undefined, texts: [], clears: 0, closeReceived: false, chunksSent: 0 };
    this.conns.push(c);
    const index = this.conns.length;
    let timer: NodeJS.Timeout | undefined;
    let sequence = 0;
    let buffered = '';
    const native = this.options.protocol === 'native';
    const synthesize = (): void => {
      if (!buffered || this.options.fault === 'silent') return;
      buffered = '';
      const n = this.options.chunks ?? 3;
      const bytes = this.options.chunkBytes ?? 640;
      if (!native) sendJson(ws, { type: 'segment_start', segment_id: `seg_${index}` });
      let i = 0;
      const step = (): void => {
        if (ws.readyState !== ws.OPEN) return;
        if (i < n) {
          const data = FakeSlngTts.chunk(i++, bytes);
          if (this.options.binary || native) ws.send(data, { binary: true });
          else sendJson(ws, { type: 'audio_chunk', data: data.toString('base64'), sequence: ++sequence });
          c.chunksSent++;
          if (this.options.chunkDelayMs) timer = setTimeout(step, this.options.chunkDelayMs);
          else step();
          return;
        }
        if (this.options.fault === 'close-after-audio') return void ws.close(1000);
        // flushed: every byte of audio for the flush has been sent.
        if (native) sendJson(ws, { type: 'Flushed', sequence_id: 0 });
        else {
          sendJson(ws, { type: 'segment_end', segment_id: `seg_${index}` });
          sendJson(ws, { type: 'flushed' });
        }
      };
      step();
    };
    ws.on('message', (data) => {
      const msg = JSON.parse((data as Buffer).toString()) as Json;
      if (!c.init) {
        if (msg.type !== 'init' || typeof msg.model !== 'string') {
          sendJson(ws, { type: 'error', code: 'config_error', message: 'init with a model is required first' });
          return;
        }
        c.init = msg;
        if (this.options.initError) {
          sendJson(ws, { type: 'error', code: this.options.initError, message: `fake ${this.options.initError}` });
          return;
        }
        // Only the unified bridge acknowledges init.
        if (!native && this.options.fault !== 'no-ready') sendJson(ws, { type: 'ready', session_id: `tts-${index}` });
        return;
      }
      switch (msg.type) {
        case 'text':
          c.texts.push(msg);
          if (index <= (this.options.rateLimitFirst ?? 0)) {
            sendJson(ws, { type: 'error', code: 'rate_limit', message: 'Too many requests' });
            return;
          }
          buffered += String(msg.text);
          if (msg.flush === true) synthesize();
          return;
        case 'flush':
          synthesize();
          return;
        case 'clear':
          c.clears++;
          clearTimeout(timer);
          buffered = '';
          sendJson(ws, { type: native ? 'Cleared' : 'cleared' });
          return;
        case 'close':
          c.closeReceived = true;
          clearTimeout(timer);
          sendJson(ws, { type: 'audio_end', duration: 0.12 });
          ws.close(1000);
          return;
      }
    });
  }
}
