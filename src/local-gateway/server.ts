/**
 * The bundled local gateway: the gateway side of the protocol (docs/protocol.md "Audio
 * gateway"), for development, demos and tests. It accepts a session, ends listening with an
 * `stt_transcript` when the speaker stops (or on the client's `audio_end`), then replies with
 * `text` and audio (espeak-ng speech or a tone; PCM or MP3) and can ask for a follow-up
 * (`prompt: true`). Without a speech-to-text client its transcript is a clearly labelled
 * stand-in (duration and level of what it heard); with one (`stt`, the pipeline backend's
 * AssemblyAI or SLNG client) it is the real recognition, and with a text-to-speech client
 * (`tts`) replies are spoken by that service.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { bytesToInt16 } from '../audio/wav.js';
import type { SttClient } from '../backends/stt/types.js';
import type { TtsClient } from '../backends/tts/slng.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { Listening } from './listening.js';
import { defaultPlan, type FollowUpMode, type TurnPlan, type Utterance } from './plan.js';
import { Recognition } from './recognition.js';
import { replyAudio } from './reply-audio.js';
import { detectSpeechEngine, type SpeechEngine } from './speech.js';

export type ReplyFormatChoice = 'pcm' | 'mp3';
export type AudioDataForm = 'base64' | 'buffer' | 'binary';
export type { FollowUpMode, TurnPlan, Utterance } from './plan.js';

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
  /** Local reply voice (default: espeak-ng when installed, else a tone); also the fallback for `tts`. */
  speech?: SpeechEngine;
  /**
   * Speech-to-text service for real transcripts (the pipeline backend's client). Without it the
   * transcript is the stand-in. A failure becomes an `error` message for that turn.
   */
  stt?: SttClient;
  /**
   * Text-to-speech service for the reply audio, streamed in the service's own format (PCM at its
   * rate, or MP3) regardless of `replyFormat`. On failure the reply falls back to `speech`.
   */
  tts?: TtsClient;
  /** Longest wait for the final transcript after the end of the utterance, ms (default 10000). */
  sttTimeoutMs?: number;
  /** Longest wait for the complete synthesised reply before falling back, ms (default 20000). */
  ttsTimeoutMs?: number;
  /** Per-request plan; the default replies with what was heard. */
  plan?: (u: Utterance) => TurnPlan;
  /**
   * Keep every message, PCM and auth header received, for tests and benchmarks (default true).
   * The long-running `speaker-agent gateway` turns it off so its memory stays flat.
   */
  record?: boolean;
  log: Logger;
}

const CHUNK_MS = 100;

export class LocalGateway {
  readonly #o: Required<Omit<LocalGatewayOptions, 'token' | 'plan' | 'speech' | 'stt' | 'tts'>> & Pick<LocalGatewayOptions, 'token' | 'plan' | 'stt' | 'tts'>;
  readonly #log: Logger;
  #wss: WebSocketServer | undefined;
  #engine: SpeechEngine;
  #requests = 0;
  readonly #clients = new Set<WebSocket>();
  /** Open STT sessions, so none is left open (billed) when a client goes or the gateway stops. */
  readonly #recognitions = new Set<Recognition>();
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
      record: true,
      endSilenceMs: 700,
      maxUtteranceMs: 12_000,
      sttTimeoutMs: 10_000,
      ttsTimeoutMs: 20_000,
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

  /** What makes transcripts: the STT service's name, or `stand-in`. */
  get sttEngine(): string {
    return this.#o.stt?.name ?? 'stand-in';
  }

  /** What speaks replies: the TTS service's name, or the local engine. */
  get ttsEngine(): string {
    return this.#o.tts?.name ?? this.#engine;
  }

  async start(): Promise<void> {
    const wss = new WebSocketServer({
      port: this.#o.port,
      host: this.#o.host,
      verifyClient: (info: { req: IncomingMessage }, cb: (ok: boolean, code?: number, msg?: string) => void) => {
        const auth = info.req.headers.authorization;
        if (this.#o.record) this.authHeaders.push(auth);
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
    this.#log.info('listening', { url: this.url, stt: this.sttEngine, tts: this.ttsEngine, speech: this.#engine, replyFormat: this.#o.replyFormat });
  }

  async stop(): Promise<void> {
    for (const ws of this.#clients) ws.terminate();
    this.#clients.clear();
    await Promise.all([...this.#recognitions].map((r) => r.close()));
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
    const pending = new Map<string, Listening>();
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        if (this.#o.record) this.received.push({ action: '(binary)', bytes: data.length });
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
      if (this.#o.record) this.received.push({ action, id });
      switch (action) {
        case 'audio_start': {
          pending.get(id)?.recognition?.close().catch(() => undefined); // a restarted id replaces its old turn
          const p = this.#newListening(ws, id, () => {
            if (pending.get(id) === p) pending.delete(id);
          });
          pending.set(id, p);
          if (this.#o.record) this.audio.set(id, []);
          return;
        }
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
          if (!p.transcribed) this.#endListening(ws, p);
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
      for (const p of pending.values()) void p.recognition?.close();
      pending.clear();
      this.#clients.delete(ws);
      this.#log.info('client-disconnected', { clients: this.#clients.size });
    });
    ws.on('error', (err) => this.#log.debug('client-error', { error: err.message }));
  }

  #newListening(ws: WebSocket, id: string, forget: () => void): Listening {
    const p = new Listening(id, this.#o.endSilenceMs, this.#o.maxUtteranceMs);
    const stt = this.#o.stt;
    if (stt) {
      const r = new Recognition(stt, this.#o.sttTimeoutMs);
      p.recognition = r;
      this.#recognitions.add(r);
      // A client that stops sending audio without `audio_end` would keep the (billed) session
      // open: listening ends anyway after twice the longest utterance, in wall-clock time.
      const guard = setTimeout(() => {
        if (!p.transcribed) this.#endListening(ws, p);
      }, 2 * this.#o.maxUtteranceMs);
      r.result.then(
        (result) => {
          clearTimeout(guard);
          this.#recognitions.delete(r);
          // The service's own end-pointing may come first: it ends listening as well.
          p.transcribed = true;
          p.speechMs = p.measureSpeech();
          p.transcript = result.text;
          this.#send(ws, {
            id,
            action: 'stt_transcript',
            transcript: result.text,
            ...(result.confidence !== undefined ? { confidence: result.confidence } : {}),
            transactionId: id.slice(0, 8),
          });
          p.markHeard(true);
        },
        (err: unknown) => {
          clearTimeout(guard);
          this.#recognitions.delete(r);
          p.transcribed = true;
          forget();
          p.markHeard(false);
          // Abandoned on purpose (client gone, gateway stopping, id reused): nobody to tell.
          if (r.abandoned || ws.readyState !== ws.OPEN) return;
          const message = errorMessage(err);
          this.#log.warn('stt-failed', { service: stt.name, turn: id, error: message });
          this.#send(ws, { id, action: 'error', error: { message, service: stt.name, code: 'stt_failed' } });
        },
      );
    }
    return p;
  }

  #onAudio(ws: WebSocket, p: Listening, pcm: Int16Array): void {
    if (!p.transcribed) p.recognition?.send(pcm);
    if (p.push(pcm)) this.#endListening(ws, p);
  }

  /**
   * Ends listening (end-pointing, the length limit, or the client's `audio_end`). With an STT
   * service, asks it for the final transcript (sent when it arrives); otherwise sends the
   * stand-in transcript, which says what was heard, not what was said.
   */
  #endListening(ws: WebSocket, p: Listening): void {
    p.transcribed = true;
    if (p.recognition) {
      p.recognition.finish();
      return;
    }
    p.speechMs = p.measureSpeech();
    p.transcript = p.standInTranscript();
    this.#send(ws, { id: p.id, action: 'stt_transcript', transcript: p.transcript, confidence: 0, transactionId: p.id.slice(0, 8) });
    p.markHeard(true);
  }

  async #answer(ws: WebSocket, p: Listening): Promise<void> {
    // With an STT service the transcript may still be on its way; a failed turn got its error already.
    if (!(await p.heard)) return;
    const u: Utterance = { index: this.#requests++, id: p.id, transcript: p.transcript, speechMs: p.speechMs, typed: false, recognized: !!p.recognition };
    await this.#reply(ws, p.id, this.#planFor(u));
  }

  async #answerText(ws: WebSocket, id: string, text: string): Promise<void> {
    const u: Utterance = { index: this.#requests++, id, transcript: text, speechMs: 0, typed: true, recognized: false };
    await this.#reply(ws, id, this.#planFor(u));
  }

  #planFor(u: Utterance): TurnPlan {
    return this.#o.plan ? this.#o.plan(u) : defaultPlan(u, this.#o.followUp);
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
      const audio = await replyAudio(text, {
        tts: this.#o.tts,
        engine: this.#engine,
        replyFormat: this.#o.replyFormat,
        ttsTimeoutMs: this.#o.ttsTimeoutMs,
        log: this.#log,
      });
      this.#send(ws, { id, action: 'audio_start', options: { tts: { content_type: audio.contentType } } });
      // 100 ms per chunk, in whole 4-byte units so no PCM frame (mono or stereo) is split.
      const chunkBytes = Math.max(256, Math.round((audio.bytesPerSecond * CHUNK_MS) / 1000 / 4) * 4);
      await this.#stream(ws, id, audio.bytes, chunkBytes);
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
      if (off === 0 && this.#o.record) this.firstAudioSentAt.set(id, performance.now());
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
