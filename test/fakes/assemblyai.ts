/**
 * A fake AssemblyAI Universal Streaming v3 server (docs/protocol.md "AssemblyAI") on loopback.
 * It checks the `Authorization` header (401 otherwise), refuses a connection without the required
 * `speech_model` (HTTP 400), checks the query (`sample_rate=16000`, `encoding=pcm_s16le`), sends
 * `Begin`, takes only binary audio of 50-1000 ms (anything else is recorded as a violation) and
 * closes with 4029 when audio arrives faster than real time, as the service does. It answers
 * `Turn` partials while audio flows, an end-of-turn `Turn` on `ForceEndpoint` (two with
 * `format_turns=true`: unformatted then formatted), each with per-word confidences that differ
 * from `end_of_turn_confidence`, and on `Terminate` sends `Termination` and closes with 1000. It
 * keeps every session so a test can prove none was left open without `Terminate`.
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket, WebSocketServer } from 'ws';
import { closeServer, listen, sendJson, until } from './ws-server.js';

export interface FakeAssemblyAiOptions {
  key: string;
  /** What the user "said". */
  transcript: string;
  /** Send a partial after this much audio (ms). */
  partialAfterMs?: number;
  /** End the turn by itself after this much audio (ms), like AssemblyAI's own end-pointing. */
  endOfTurnAfterMs?: number;
  /** Misbehave right after Begin. */
  fault?: 'not-json' | 'close-1011';
  /** Close with this code and reason right after the upgrade (e.g. 4002 insufficient funds). */
  closeWith?: [number, string];
  /** Send `Begin` this long after the upgrade (the client holds its audio meanwhile). */
  beginDelayMs?: number;
}

/** Per-word confidences of the fake's transcripts, and their mean. */
export const WORD_CONFIDENCES = [0.9, 0.8, 0.7, 0.6];
export const MEAN_WORD_CONFIDENCE = 0.75;
/** Audio may run ahead of real time by this much before the fake closes with 4029 (ms). */
const PACE_TOLERANCE_MS = 150;

export interface AaiSession {
  id: string;
  ws: WebSocket;
  query: URLSearchParams;
  /** Binary message durations in ms. */
  chunksMs: number[];
  audioMs: number;
  forceEndpoints: number;
  terminated: boolean;
  socketClosed: boolean;
  /** Protocol violations by the client. */
  violations: string[];
  /** Arrival time of each binary message (Date.now()). */
  arrivals: number[];
}

export class FakeAssemblyAi {
  readonly sessions: AaiSession[] = [];
  url = '';
  #wss!: WebSocketServer;

  constructor(private readonly options: FakeAssemblyAiOptions) {}

  async start(): Promise<this> {
    const { wss, port } = await listen((req) => {
      if (req.headers.authorization !== this.options.key) return 401;
      // speech_model is required and has no default: the request fails without it.
      return new URL(req.url ?? '/', 'http://x').searchParams.get('speech_model') ? undefined : 400;
    });
    this.#wss = wss;
    this.url = `ws://127.0.0.1:${port}/v3/ws`;
    wss.on('connection', (ws, req) => this.#accept(ws, new URL(req.url ?? '/', 'http://x').searchParams));
    return this;
  }

  async close(): Promise<void> {
    await closeServer(this.#wss);
  }

  /**
   * Ids of sessions left open (billed): socket still open, or closed without the client ever
   * sending Terminate. Waits (up to 3 s) for the client to close every socket first.
   */
  async leaked(): Promise<string[]> {
    // A client that is closing properly gets there within the wait; a leak stays open and is reported.
    await until(() => this.sessions.every((s) => s.socketClosed), 'sockets to close', 3000).catch(() => {});
    return this.sessions.filter((s) => !s.terminated || !s.socketClosed).map((s) => `${s.id} terminated=${s.terminated} closed=${s.socketClosed}`);
  }

  #accept(ws: WebSocket, query: URLSearchParams): void {
    const s: AaiSession = {
      id: randomUUID(),
      ws,
      query,
      chunksMs: [],
      audioMs: 0,
      forceEndpoints: 0,
      terminated: false,
      socketClosed: false,
      violations: [],
      arrivals: [],
    };
    this.sessions.push(s);
    if (query.get('sample_rate') !== '16000') s.violations.push(`sample_rate=${query.get('sample_rate')}`);
    if (query.get('encoding') !== 'pcm_s16le') s.violations.push(`encoding=${query.get('encoding')}`);
    const formatTurns = query.get('format_turns') === 'true';
    ws.on('close', () => (s.socketClosed = true));
    if (this.options.closeWith) {
      ws.close(...this.options.closeWith);
      return;
    }
    const begin = (): void => sendJson(ws, { type: 'Begin', id: s.id, expires_at: Math.floor(Date.now() / 1000) + 3600 });
    if (this.options.beginDelayMs) setTimeout(begin, this.options.beginDelayMs);
    else begin();
    if (this.options.fault === 'not-json') ws.send('<html>oops</html>');
    if (this.options.fault === 'close-1011') {
      ws.close(1011, 'internal error');
      return;
    }
    let turnOrder = 0;
    let partialSent = false;
    let ended = false;
    const endTurn = (): void => {
      if (ended) return;
      ended = true;
      const plain = this.options.transcript.toLowerCase().replace(/[.,?!]/g, '');
      const words = plain.split(' ').map((text, i) => ({ text, confidence: WORD_CONFIDENCES[i % WORD_CONFIDENCES.length], word_is_final: true, start: i * 300, end: i * 300 + 250 }));
      const base = { type: 'Turn', turn_order: turnOrder, end_of_turn: true, end_of_turn_confidence: 0.99, words };
      sendJson(ws, { ...base, turn_is_formatted: false, transcript: plain });
      if (formatTurns) sendJson(ws, { ...base, turn_is_formatted: true, transcript: this.options.transcript });
      turnOrder++;
    };
    ws.on('message', (data, isBinary) => {
      if (s.terminated) {
        s.violations.push('message after Terminate');
        return;
      }
      if (isBinary) {
        const ms = (data as Buffer).length / 32;
        const now = Date.now();
        s.arrivals.push(now);
        s.chunksMs.push(ms);
        s.audioMs += ms;
        if (ms < 50 || ms > 1000) s.violations.push(`audio message of ${ms} ms`);
        // Audio before this message must not run ahead of the time since the first one.
        const ahead = s.audioMs - ms - (now - s.arrivals[0]!);
        if (ahead > PACE_TOLERANCE_MS) {
          s.violations.push(`audio ${Math.round(ahead)} ms ahead of real time`);
          ws.close(4029, 'Client sent audio too fast');
          return;
        }
        if (!partialSent && s.audioMs >= (this.options.partialAfterMs ?? 100)) {
          partialSent = true;
          const first = this.options.transcript.split(' ')[0]!.toLowerCase();
          sendJson(ws, { type: 'Turn', turn_order: turnOrder, turn_is_formatted: false, end_of_turn: false, transcript: first, end_of_turn_confidence: 0.1, words: [] });
        }
        if (this.options.endOfTurnAfterMs !== undefined && s.audioMs >= this.options.endOfTurnAfterMs) endTurn();
        return;
      }
      let msg: { type?: string };
      try {
        msg = JSON.parse((data as Buffer).toString()) as { type?: string };
      } catch {
        s.violations.push('text frame that is not JSON (audio must be binary)');
        return;
      }
      switch (msg.type) {
        case 'ForceEndpoint':
          s.forceEndpoints++;
          endTurn();
          return;
        case 'KeepAlive':
        case 'UpdateConfiguration':
          return;
        case 'Terminate':
          s.terminated = true;
          sendJson(ws, { type: 'Termination', audio_duration_seconds: s.audioMs / 1000, session_duration_seconds: 1 });
          ws.close(1000);
          return;
        default:
          s.violations.push(`unknown message ${JSON.stringify(msg)}`);
      }
    });
  }
}
