/**
 * A fake Soca voice stream server (docs/protocol.md "Soca") on loopback: checks the `start`
 * message and the binary 16 kHz PCM frames (at most 50 ms, never base64), answers `ready` then
 * `stt.ready`, and lets a test script transcripts, chunked sentence MP3 (seq, sentenceId,
 * chunkIndex, isLastChunk, closing chunk with audioBase64 null), `final_answer`, server `barge`,
 * errors and a normal close. A sentence's `audioBase64` pieces are slices of one base64 text,
 * cut anywhere (Soca's client joins them before decoding). With `auto`, it answers at once when
 * the client's end-of-speech silence starts (for benches).
 */
import { sendJson, listen, closeServer } from './ws-server.js';
import type { WebSocket, WebSocketServer } from 'ws';

export interface FakeSocaOptions {
  /** The private key the server accepts. */
  key: string;
  /** When set, the server transcribes and answers by itself at the first silent frame after speech. */
  auto?: { transcript: string; sentences: Buffer[][]; /** false: keep the answer open (no final_answer). */ finish?: boolean };
  /** Do not send `stt.ready` (for the ready-timeout test). */
  withholdSttReady?: boolean;
  /** Never answer pings (a peer that died silently). */
  deaf?: boolean;
  /** Answer a valid `start` with this protocol error instead of `ready`. */
  rejectStart?: string;
}

export interface SocaConnection {
  ws: WebSocket;
  start: Record<string, unknown> | undefined;
  /** Every binary frame's length in bytes. */
  frames: number[];
  /** Total PCM received, bytes. */
  audioBytes: number;
  /** Text frames other than `start`, parsed. */
  control: Record<string, unknown>[];
  /** Text frames that were not valid JSON or had unknown types. */
  invalid: string[];
}

export class FakeSoca {
  readonly connections: SocaConnection[] = [];
  /** Set by each auto answer: when the first non-silent frame was followed by silence. */
  autoAnswers = 0;
  #seq = 0;
  #wss!: WebSocketServer;
  url = '';

  constructor(private readonly options: FakeSocaOptions) {}

  async start(): Promise<this> {
    const { wss, port } = await listen(undefined, { autoPong: !this.options.deaf });
    this.#wss = wss;
    this.url = `ws://127.0.0.1:${port}/voice-ws`;
    wss.on('connection', (ws) => this.#accept(ws));
    return this;
  }

  async close(): Promise<void> {
    await closeServer(this.#wss);
  }

  get last(): SocaConnection {
    const c = this.connections[this.connections.length - 1];
    if (!c) throw new Error('no connection yet');
    return c;
  }

  #accept(ws: WebSocket): void {
    const conn: SocaConnection = { ws, start: undefined, frames: [], audioBytes: 0, control: [], invalid: [] };
    this.connections.push(conn);
    let heardSpeech = false;
    ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      if (isBinary) {
        if (!conn.start) return;
        conn.frames.push(buf.length);
        conn.audioBytes += buf.length;
        const pcm = new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2);
        const silent = pcm.every((s) => s === 0);
        if (!silent) heardSpeech = true;
        if (this.options.auto && silent && heardSpeech) {
          heardSpeech = false;
          this.#autoAnswer(conn);
        }
        return;
      }
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(buf.toString()) as Record<string, unknown>;
      } catch {
        conn.invalid.push(buf.toString());
        return;
      }
      if (!conn.start) {
        if (msg.type !== 'start') {
          sendJson(ws, { type: 'error', message: 'must start with type=start' });
          ws.close(1008);
          return;
        }
        if (msg.private_key !== this.options.key) {
          sendJson(ws, { type: 'error', message: 'Invalid or expired token' });
          ws.close(1008);
          return;
        }
        if (msg.sr !== 16000 || typeof msg.session_id !== 'string' || typeof msg.agent_id !== 'string') {
          sendJson(ws, { type: 'error', message: 'invalid start message' });
          ws.close(1008);
          return;
        }
        if (this.options.rejectStart) {
          sendJson(ws, { type: 'error', message: this.options.rejectStart });
          ws.close(1008);
          return;
        }
        conn.start = msg;
        sendJson(ws, { type: 'ready', session_id: msg.session_id });
        if (!this.options.withholdSttReady) sendJson(ws, { type: 'stt.ready' });
        return;
      }
      if (msg.type === 'stop' || msg.type === 'barge') conn.control.push(msg);
      else conn.invalid.push(buf.toString());
    });
  }

  #autoAnswer(conn: SocaConnection): void {
    const auto = this.options.auto!;
    this.autoAnswers++;
    this.partial(auto.transcript, conn);
    this.final(auto.transcript, conn);
    const seq = this.nextSeq();
    auto.sentences.forEach((chunks, i) => this.sentenceBase64(seq, 1000 + i, Buffer.concat(chunks), chunks.length, conn));
    if (auto.finish !== false) this.finalAnswer(seq, 'auto answer', conn);
  }

  /** A fresh `seq`, higher than every one sent so far. */
  nextSeq(): number {
    return ++this.#seq;
  }

  partial(text: string, conn = this.last): void {
    sendJson(conn.ws, { type: 'stt.partial', text });
  }

  final(text: string, conn = this.last): void {
    sendJson(conn.ws, { type: 'stt.final', text });
  }

  /** One sentence as chunks (the closing chunk carries audioBase64 null, as in docs/protocol.md "Soca"). */
  sentence(seq: number, sentenceId: number, chunks: Buffer[], conn = this.last, options: { close?: boolean } = {}): void {
    chunks.forEach((c, i) => this.chunk(seq, sentenceId, i, c, false, conn));
    if (options.close !== false) this.chunk(seq, sentenceId, chunks.length, null, true, conn);
  }

  /**
   * One sentence as `pieces` slices of its base64 text, cut 1 character past a 4-character
   * boundary so each slice ends inside a quantum, then the closing chunk.
   */
  sentenceBase64(seq: number, sentenceId: number, mp3: Buffer, pieces: number, conn = this.last): void {
    const b64 = mp3.toString('base64');
    const size = Math.max(1, Math.floor(b64.length / pieces / 4) * 4 + 1);
    let i = 0;
    for (let off = 0; off < b64.length; off += size, i++) this.rawChunk(seq, sentenceId, i, b64.slice(off, off + size), false, conn);
    this.rawChunk(seq, sentenceId, i, null, true, conn);
  }

  chunk(seq: number, sentenceId: number, chunkIndex: number, audio: Buffer | null, isLastChunk: boolean, conn = this.last): void {
    this.rawChunk(seq, sentenceId, chunkIndex, audio ? audio.toString('base64') : null, isLastChunk, conn);
  }

  rawChunk(seq: number, sentenceId: number, chunkIndex: number, audioBase64: string | null, isLastChunk: boolean, conn = this.last): void {
    sendJson(conn.ws, {
      stepType: 'sentence',
      chatId: 'chat-1',
      sentenceId,
      contentStep: 'Halo.',
      audioBase64,
      audioMime: 'audio/mp3',
      chunkIndex,
      isLastChunk,
      seq,
    });
  }

  finalAnswer(seq: number, output: string, conn = this.last): void {
    sendJson(conn.ws, {
      stepType: 'final_answer',
      stepTitle: 'Final Answer',
      fullResponse: { answers: [{ output }] },
      audioBase64: null,
      audioMime: 'audio/mp3',
      isFinal: true,
      seq,
      stepDuration: 12.5,
    });
  }

  barge(seq: number, conn = this.last): void {
    sendJson(conn.ws, { type: 'barge', seq, reason: 'content_partial' });
  }

  error(message: string, conn = this.last): void {
    sendJson(conn.ws, { type: 'error', message });
  }

  /** Ends the session normally (close code 1000), as a server does when it is done. */
  endSession(conn = this.last): void {
    conn.ws.close(1000, 'session ended');
  }
}
