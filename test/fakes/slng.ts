/**
 * Fake SLNG streaming STT and TTS servers (seed 003) on loopback. Both check
 * `Authorization: Bearer <key>` (401 otherwise) and require `init` first, answering `ready`.
 * STT: binary PCM frames (or `audio` base64 JSON), `partial_transcript` while audio flows,
 * `final_transcript` on `finalize` (or by itself after `endAfterMs`), counts `keepalive`, and on
 * `close` sends what is left and closes. TTS: `text` (+ `flush`) or `flush` produce
 * `segment_start`, audio (base64 `audio_chunk` with `sequence`, or binary frames),
 * `segment_end`, `flushed`; `clear` stops pending audio and answers `cleared`; `close` answers
 * `audio_end` and closes. Errors by code on demand.
 */
import type { WebSocket, WebSocketServer } from 'ws';
import { closeServer, listen, sendJson } from './ws-server.js';

type Json = Record<string, unknown>;

export interface FakeSlngSttOptions {
  key: string;
  transcript: string;
  /** End the utterance by itself (server VAD) after this much audio (ms). */
  endAfterMs?: number;
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
    let finalSent = false;
    const final = (): void => {
      if (finalSent) return;
      finalSent = true;
      sendJson(ws, { type: 'final_transcript', transcript: this.options.transcript, confidence: 0.97, language: 'en', duration: c.audioBytes / 32000 });
    };
    const audio = (bytes: number): void => {
      c.audioBytes += bytes;
      if (!partialSent && c.audioBytes >= 3200) {
        partialSent = true;
        sendJson(ws, { type: 'partial_transcript', transcript: this.options.transcript.split(' ')[0], confidence: 0.91 });
      }
      if (this.options.endAfterMs !== undefined && c.audioBytes >= this.options.endAfterMs * 32) final();
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
          final();
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
  /** Acknowledge the flush with `flushed` before the audio instead of after it. */
  flushedFirst?: boolean;
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
    this.url = `ws://127.0.0.1:${port}/v1/tts/fake/voice:1`;
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
    const synthesize = (): void => {
      if (!buffered) return;
      buffered = '';
      const n = this.options.chunks ?? 3;
      const bytes = this.options.chunkBytes ?? 640;
      if (this.options.flushedFirst) sendJson(ws, { type: 'flushed' });
      sendJson(ws, { type: 'segment_start', segment_id: `seg_${index}` });
      let i = 0;
      const step = (): void => {
        if (ws.readyState !== ws.OPEN) return;
        if (i < n) {
          const data = FakeSlngTts.chunk(i++, bytes);
          if (this.options.binary) ws.send(data, { binary: true });
          else sendJson(ws, { type: 'audio_chunk', data: data.toString('base64'), sequence: ++sequence });
          c.chunksSent++;
          if (this.options.chunkDelayMs) timer = setTimeout(step, this.options.chunkDelayMs);
          else step();
          return;
        }
        sendJson(ws, { type: 'segment_end', segment_id: `seg_${index}` });
        if (!this.options.flushedFirst) sendJson(ws, { type: 'flushed' });
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
        sendJson(ws, { type: 'ready', session_id: `tts-${index}` });
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
          sendJson(ws, { type: 'cleared' });
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
