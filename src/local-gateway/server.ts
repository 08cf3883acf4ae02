/**
 * The bundled local gateway: the gateway side of the seed protocol, for development, demos and
 * tests. It accepts a session, ends listening with an `stt_transcript` when the speaker stops
 * (or on the client's `audio_end`), then replies with `text` and audio (espeak-ng speech or a
 * tone; PCM or MP3) and can ask for a follow-up (`prompt: true`). Its transcript is a clearly
 * labelled stand-in (duration and level of what it heard), not a recognition.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { CORE_FORMAT } from '../audio/format.js';
import { peakDb, rmsDb } from '../audio/pcm.js';
import { EnergyVad } from '../audio/vad.js';
import { bytesToInt16, int16ToBytes } from '../audio/wav.js';
import type { Logger } from '../log/logger.js';
import { detectSpeechEngine, encodeMp3, synthesize, type SpeechEngine } from './speech.js';

export type ReplyFormatChoice = 'pcm' | 'mp3';
export type AudioDataForm = 'base64' | 'buffer' | 'binary';
export type FollowUpMode = 'never' | 'always' | 'alternate';

/** What the gateway does with one request; tests script it per turn. */
export interface TurnPlan {
  /** Reply text (spoken too unless `audio` is false). */
  text?: string;
  /** Send reply audio (default true). */
  audio?: boolean;
  /** `prompt` on `audio_end`. */
  prompt?: boolean | Record<string, unknown>;
  /** Send an `error` for the turn instead of a reply. */
  error?: unknown;
  /** Send nothing at all (for thinking-timeout tests). */
  silent?: boolean;
  /** Delay before replying, ms. */
  delayMs?: number;
}

export interface Utterance {
  /** 0-based index of the request on this gateway. */
  index: number;
  id: string;
  /** For typed requests, the text; for speech, the stand-in transcript. */
  transcript: string;
  speechMs: number;
  typed: boolean;
}

export interface LocalGatewayOptions {
  port?: number;
  host?: string;
  /** Require `Authorization: Bearer <token>`; others get HTTP 401. */
  token?: string;
  replyFormat?: ReplyFormatChoice;
  audioDataForm?: AudioDataForm;
  followUp?: FollowUpMode;
  /** Reply audio pacing relative to real time (2 = twice as fast as it plays; 0 = all at once). */
  pace?: number;
  /** Silence after speech that ends listening, ms (default 700). */
  endSilenceMs?: number;
  /** Longest utterance before the gateway ends listening itself, ms (default 12000). */
  maxUtteranceMs?: number;
  speech?: SpeechEngine;
  /** Per-request plan; the default replies with the stand-in transcript. */
  plan?: (u: Utterance) => TurnPlan;
  log: Logger;
}

interface Pending {
  id: string;
  samples: Int16Array[];
  count: number;
  vad: EnergyVad;
  speechSamples: number;
  transcribed: boolean;
  ended: boolean;
  transcript: string;
  speechMs: number;
}

const CHUNK_MS = 100;

export class LocalGateway {
  readonly #o: Required<Omit<LocalGatewayOptions, 'token' | 'plan' | 'speech'>> & Pick<LocalGatewayOptions, 'token' | 'plan'>;
  readonly #log: Logger;
  #wss: WebSocketServer | undefined;
  #engine: SpeechEngine;
  #requests = 0;
  readonly #clients = new Set<WebSocket>();
  /** Every message received, for tests: [action, id]. */
  readonly received: { action: string; id?: string; bytes?: number }[] = [];
  /** PCM received per turn id, for tests. */
  readonly audio = new Map<string, Int16Array[]>();
  /** Authorization headers seen, for tests (never logged). */
  readonly authHeaders: (string | undefined)[] = [];
  /** performance.now() when the first reply audio chunk of each turn was sent, for benchmarks. */
  readonly firstAudioSentAt = new Map<string, number>();

  constructor(options: LocalGatewayOptions) {
    this.#o = {
      port: 0,
      host: '127.0.0.1',
      replyFormat: 'pcm',
      audioDataForm: 'base64',
      followUp: 'alternate',
      pace: 2,
      endSilenceMs: 700,
      maxUtteranceMs: 12_000,
      ...options,
    };
    this.#log = options.log.child('local-gateway');
    this.#engine = options.speech ?? detectSpeechEngine();
  }

  get port(): number {
    return (this.#wss?.address() as AddressInfo | undefined)?.port ?? 0;
  }

  get url(): string {
    return `ws://${this.#o.host}:${this.port}/`;
  }

  get speechEngine(): SpeechEngine {
    return this.#engine;
  }

  async start(): Promise<void> {
    const wss = new WebSocketServer({
      port: this.#o.port,
      host: this.#o.host,
      verifyClient: (info: { req: IncomingMessage }, cb: (ok: boolean, code?: number, msg?: string) => void) => {
        const auth = info.req.headers.authorization;
        this.authHeaders.push(auth);
        if (this.#o.token && auth !== `Bearer ${this.#o.token}`) {
          this.#log.warn('client-rejected', { reason: auth ? 'wrong token' : 'no token' });
          cb(false, 401, 'Unauthorized');
          return;
        }
        cb(true);
      },
    });
    this.#wss = wss;
    wss.on('connection', (ws) => this.#onConnection(ws));
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    this.#log.info('listening', { url: this.url, speech: this.#engine, replyFormat: this.#o.replyFormat });
  }

  async stop(): Promise<void> {
    for (const ws of this.#clients) ws.terminate();
    this.#clients.clear();
    const wss = this.#wss;
    this.#wss = undefined;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  /** Drops every client connection abruptly (a gateway crash). */
  dropClients(): void {
    for (const ws of this.#clients) ws.terminate();
  }

  /** Sends a raw frame to every client (tests: junk, oversized, binary). */
  broadcastRaw(data: string | Buffer, binary = false): void {
    for (const ws of this.#clients) ws.send(data, { binary });
  }

  /** Pushes an unsolicited reply (an IoT action that finished later) to every client. */
  async pushUnsolicited(text: string): Promise<void> {
    const id = randomUUID();
    for (const ws of this.#clients) await this.#reply(ws, id, { text, prompt: false });
  }

  #onConnection(ws: WebSocket): void {
    this.#clients.add(ws);
    this.#log.info('client-connected', { clients: this.#clients.size });
    const pending = new Map<string, Pending>();
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        this.received.push({ action: '(binary)', bytes: data.length });
        return;
      }
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      } catch {
        this.#log.warn('bad-message', { reason: 'not JSON' });
        return;
      }
      const id = typeof msg.id === 'string' ? msg.id : '';
      const action = String(msg.action);
      this.received.push({ action, id });
      switch (action) {
        case 'audio_start':
          pending.set(id, {
            id,
            samples: [],
            count: 0,
            vad: new EnergyVad({ hangoverMs: this.#o.endSilenceMs }),
            speechSamples: 0,
            transcribed: false,
            ended: false,
            transcript: '',
            speechMs: 0,
          });
          this.audio.set(id, []);
          return;
        case 'audio_data': {
          const p = pending.get(id);
          if (!p || typeof msg.data !== 'string') return;
          const pcm = bytesToInt16(Buffer.from(msg.data, 'base64'));
          this.audio.get(id)?.push(pcm);
          this.#onAudio(ws, p, pcm);
          return;
        }
        case 'audio_end': {
          const p = pending.get(id);
          if (!p) return;
          p.ended = true;
          if (!p.transcribed) this.#transcribe(ws, p);
          pending.delete(id);
          void this.#answer(ws, p);
          return;
        }
        case 'text':
          if (typeof msg.text === 'string') void this.#answerText(ws, id, msg.text);
          return;
        case 'stt_options':
        case 'tts_options':
        case 'location':
          this.#log.debug('option-message', { action });
          return;
        default:
          this.#log.warn('bad-message', { reason: `unknown action ${action}` });
      }
    });
    ws.on('close', () => {
      this.#clients.delete(ws);
      this.#log.info('client-disconnected', { clients: this.#clients.size });
    });
    ws.on('error', (err) => this.#log.debug('client-error', { error: err.message }));
  }

  #onAudio(ws: WebSocket, p: Pending, pcm: Int16Array): void {
    p.samples.push(pcm);
    p.count += pcm.length;
    if (p.transcribed) return;
    const v = p.vad.process(pcm);
    if (p.vad.inSpeech || v === 'speech-end') p.speechSamples += pcm.length;
    const ms = (p.count / CORE_FORMAT.sampleRate) * 1000;
    if (v === 'speech-end' || ms >= this.#o.maxUtteranceMs) this.#transcribe(ws, p);
  }

  /** Ends listening: the stand-in transcript says what was heard, not what was said. */
  #transcribe(ws: WebSocket, p: Pending): void {
    p.transcribed = true;
    const all = new Int16Array(p.count);
    let o = 0;
    for (const s of p.samples) {
      all.set(s, o);
      o += s.length;
    }
    const speechMs = Math.max(0, p.speechSamples - (this.#o.endSilenceMs * CORE_FORMAT.sampleRate) / 1000) / 16;
    const transcript = `[stand-in transcript: ${(speechMs / 1000).toFixed(1)} s of speech, level ${rmsDb(all).toFixed(0)} dBFS, peak ${peakDb(all).toFixed(0)} dBFS]`;
    p.transcript = transcript;
    p.speechMs = speechMs;
    this.#send(ws, { id: p.id, action: 'stt_transcript', transcript, confidence: 0, transactionId: p.id.slice(0, 8) });
  }

  async #answer(ws: WebSocket, p: Pending): Promise<void> {
    const u: Utterance = { index: this.#requests++, id: p.id, transcript: p.transcript, speechMs: p.speechMs, typed: false };
    await this.#reply(ws, p.id, this.#planFor(u));
  }

  async #answerText(ws: WebSocket, id: string, text: string): Promise<void> {
    const u: Utterance = { index: this.#requests++, id, transcript: text, speechMs: 0, typed: true };
    await this.#reply(ws, id, this.#planFor(u));
  }

  #planFor(u: Utterance): TurnPlan {
    if (this.#o.plan) return this.#o.plan(u);
    const prompt = this.#o.followUp === 'always' || (this.#o.followUp === 'alternate' && u.index % 2 === 0);
    const heard = u.typed ? `You typed: ${u.transcript}.` : `I heard ${(u.speechMs / 1000).toFixed(1)} seconds of speech.`;
    return { text: `${heard} This is the local test gateway.${prompt ? ' Anything else?' : ' Goodbye.'}`, prompt };
  }

  async #reply(ws: WebSocket, id: string, plan: TurnPlan): Promise<void> {
    if (plan.delayMs) await new Promise((r) => setTimeout(r, plan.delayMs));
    if (plan.silent || ws.readyState !== ws.OPEN) return;
    if (plan.error !== undefined) {
      this.#send(ws, { id, action: 'error', error: plan.error });
      return;
    }
    const text = plan.text ?? 'OK.';
    this.#send(ws, { id, action: 'text', text });
    if (plan.audio !== false) {
      const pcm = await synthesize(text, this.#engine);
      if (this.#o.replyFormat === 'mp3') {
        const mp3 = await encodeMp3(pcm);
        this.#send(ws, { id, action: 'audio_start', options: { tts: { content_type: 'audio/mpeg' } } });
        const seconds = pcm.length / CORE_FORMAT.sampleRate;
        const chunkBytes = Math.max(256, Math.round((mp3.length / seconds) * (CHUNK_MS / 1000)));
        await this.#stream(ws, id, mp3, chunkBytes);
      } else {
        this.#send(ws, { id, action: 'audio_start', options: { tts: { content_type: 'audio/l16; rate=16000; channels=1' } } });
        await this.#stream(ws, id, int16ToBytes(pcm), (CORE_FORMAT.sampleRate * 2 * CHUNK_MS) / 1000);
      }
    }
    if (ws.readyState !== ws.OPEN) return;
    this.#send(ws, { id, action: 'audio_end', prompt: plan.prompt ?? false });
  }

  async #stream(ws: WebSocket, id: string, bytes: Buffer, chunkBytes: number): Promise<void> {
    const started = performance.now();
    let sentMs = 0;
    for (let off = 0; off < bytes.length; off += chunkBytes) {
      if (ws.readyState !== ws.OPEN) return;
      const chunk = bytes.subarray(off, off + chunkBytes);
      if (off === 0) this.firstAudioSentAt.set(id, performance.now());
      if (this.#o.audioDataForm === 'binary') ws.send(chunk, { binary: true });
      else if (this.#o.audioDataForm === 'buffer') this.#send(ws, { id, action: 'audio_data', data: chunk.toJSON() });
      else this.#send(ws, { id, action: 'audio_data', data: chunk.toString('base64'), encoding: 'base64' });
      sentMs += CHUNK_MS;
      if (this.#o.pace > 0) {
        const due = started + sentMs / this.#o.pace;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  #send(ws: WebSocket, msg: Record<string, unknown>): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  }
}
