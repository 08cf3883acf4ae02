/**
 * A fake audio gateway that speaks the way the public reference client (IBM's
 * AudioClientSampleCodeJava, docs/protocol.md "Audio gateway") expects: it checks a bearer token,
 * ends listening with an `stt_transcript` carrying a `transactionId`, and after the client's
 * `audio_end` answers with a `text` message whose reply text is in `speech`, whose audio is a
 * `voice` URL (served by the fake's own HTTP server) and which may carry `prompt`, followed by
 * `audio_start` and `audio_end` with no `audio_data` (the reference client's URL mode). Optionally
 * it streams the audio too, as JSON-serialised Buffers, as the reference client also reads.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { closeServer, listen, sendJson } from './ws-server.js';

type Json = Record<string, unknown>;

export interface FakeReferenceGatewayOptions {
  /** Accepted bearer tokens; none means no check. A request with another token gets HTTP 401. */
  tokens?: () => string[];
  /** What the transcript says. */
  transcript?: string;
  /** Audio after which the gateway ends listening with stt_transcript (ms of PCM16 16 kHz). */
  endAfterMs?: number;
  /** The reply: its text (sent as `speech`), `prompt`, and the body served at the `voice` URL. */
  reply?: { speech: string; prompt?: unknown; voice?: { body: Buffer; contentType: string; delayMs?: number; status?: number } };
  /** Also stream the reply audio as `audio_data` Buffer objects (these bytes). */
  stream?: Buffer;
}

export class FakeReferenceGateway {
  url = '';
  voiceUrl = '';
  readonly messages: Json[] = [];
  readonly authHeaders: (string | undefined)[] = [];
  readonly voiceRequests: string[] = [];
  /** For each stt_transcript sent: how many client messages had arrived by then. */
  readonly transcriptsAfter: number[] = [];
  readonly sockets: WebSocket[] = [];
  #wss!: WebSocketServer;
  #http!: http.Server;

  constructor(private readonly o: FakeReferenceGatewayOptions = {}) {}

  async start(): Promise<this> {
    this.#http = http.createServer((req, res) => {
      this.voiceRequests.push(req.url ?? '');
      const v = this.o.reply?.voice;
      const send = (): void => {
        if (!v) return void res.writeHead(404).end();
        res.writeHead(v.status ?? 200, { 'content-type': v.contentType, 'content-length': String(v.body.length) }).end(v.body);
      };
      if (v?.delayMs) setTimeout(send, v.delayMs);
      else send();
    });
    await new Promise<void>((r) => this.#http.listen(0, '127.0.0.1', r));
    this.voiceUrl = `http://127.0.0.1:${(this.#http.address() as AddressInfo).port}/tts/reply?signature=SECRET-SIG`;
    const { wss, port } = await listen((req) => {
      this.authHeaders.push(req.headers.authorization);
      const tokens = this.o.tokens?.();
      if (!tokens) return undefined;
      return tokens.some((t) => req.headers.authorization === `Bearer ${t}`) ? undefined : 401;
    });
    this.#wss = wss;
    this.url = `ws://127.0.0.1:${port}/`;
    wss.on('connection', (ws) => this.#accept(ws));
    return this;
  }

  async close(): Promise<void> {
    await closeServer(this.#wss);
    this.#http.closeAllConnections();
    await new Promise((r) => this.#http.close(r));
  }

  /** Sends a message to every client. */
  push(msg: Json): void {
    for (const ws of this.sockets) sendJson(ws, msg);
  }

  actions(): string[] {
    return this.messages.map((m) => String(m.action));
  }

  #accept(ws: WebSocket): void {
    this.sockets.push(ws);
    const audioMs = new Map<string, number>();
    const transcribed = new Set<string>();
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(String(data)) as Json;
      this.messages.push(msg);
      const id = String(msg.id);
      if (msg.action === 'audio_start') audioMs.set(id, 0);
      if (msg.action === 'audio_data') {
        const ms = (audioMs.get(id) ?? 0) + Buffer.from(String(msg.data), 'base64').length / 32;
        audioMs.set(id, ms);
        if (ms >= (this.o.endAfterMs ?? 200) && !transcribed.has(id)) {
          transcribed.add(id);
          this.transcriptsAfter.push(this.messages.length);
          sendJson(ws, { id, action: 'stt_transcript', transcript: this.o.transcript ?? 'open the blinds', confidence: 0.93, transactionId: `tx-${id.slice(0, 6)}` });
        }
      }
      if (msg.action === 'audio_end' && this.o.reply) this.#reply(ws, id);
    });
  }

  #reply(ws: WebSocket, id: string): void {
    const r = this.o.reply!;
    sendJson(ws, { id, action: 'text', speech: r.speech, ...(r.voice ? { voice: this.voiceUrl } : {}), ...(r.prompt !== undefined ? { prompt: r.prompt } : {}) });
    sendJson(ws, { id, action: 'audio_start' });
    if (this.o.stream) sendJson(ws, { id, action: 'audio_data', data: this.o.stream.toJSON() });
    sendJson(ws, { id, action: 'audio_end' });
  }
}
