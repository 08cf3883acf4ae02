/**
 * The bundled local gateway: the gateway side of the audio gateway protocol (docs/protocol.md),
 * for development, demos and tests, and a small offline assistant. It accepts a session, feeds
 * the utterance to its recogniser as it arrives (`stt`: the local pocketsphinx recogniser, or
 * a cloud service), ends listening with an `stt_transcript` when the speaker stops (or on the
 * client's `audio_end`), routes the words to its skills (./assistant.ts) and replies with
 * `text`, a `response` payload when a skill has one, and audio (flite, festival or espeak-ng
 * speech, or a tone; PCM or MP3; or a TTS service). A skill may ask back (`prompt: true`) and
 * may speak later unsolicited (a timer, a light reporting back). Without a recogniser it says
 * that recognition is off; it never passes a guess off as understanding.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from '../util/ws-lib.js';
import { bytesToInt16 } from '../audio/wav.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { Announcer } from './announcer.js';
import { Assistant, builtinSkills, type Heard } from './assistant.js';
import { Client } from './connection.js';
import { Listening } from './listening.js';
import type { LocalGatewayOptions } from './options.js';
import type { TurnPlan, Utterance } from './plan.js';
import { Recognition } from './recognition.js';
import { replyAudio } from './reply-audio.js';
import { detectSpeechEngine, type SpeechEngine } from './speech.js';

export type { AudioDataForm, FollowUpMode, LocalGatewayOptions, ReplyFormatChoice, TurnPlan, Utterance } from './options.js';

const CHUNK_MS = 100;

/** The largest message a client may send (a 20 ms frame is about 1 KB of JSON). */
const MAX_CLIENT_MESSAGE_BYTES = 256 * 1024;
/** The longest typed request answered (the voices take their text as an argument). */
const MAX_TEXT_CHARS = 2000;

export class LocalGateway {
  readonly #o: Required<Omit<LocalGatewayOptions, 'token' | 'plan' | 'speech' | 'voice' | 'stt' | 'tts' | 'skills' | 'recognitionOff'>> &
    Pick<LocalGatewayOptions, 'token' | 'plan' | 'stt' | 'tts' | 'voice'>;
  readonly #log: Logger;
  #wss: WebSocketServer | undefined;
  #engine: SpeechEngine;
  #requests = 0;
  readonly #clients = new Set<Client>();
  readonly #assistant: Assistant;
  readonly #announcer: Announcer<Client>;
  readonly #offReason: string;
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
      followUp: 'skills',
      pace: 2,
      record: true,
      endSilenceMs: 700,
      maxUtteranceMs: 12_000,
      sttTimeoutMs: 10_000,
      ttsTimeoutMs: 20_000,
      announceGapMs: 600,
      now: () => new Date(),
      ...options,
    };
    this.#log = options.log.child('local-gateway');
    this.#engine = options.speech ?? detectSpeechEngine();
    this.#assistant = new Assistant(options.skills ?? builtinSkills());
    this.#offReason = options.recognitionOff ?? 'no speech recogniser is configured';
    this.#announcer = new Announcer<Client>({
      send: (c, text) => this.#reply(c, randomUUID(), { text, prompt: false }),
      targets: () => [...this.#clients],
      log: this.#log,
    });
  }

  /** The recogniser's grammars for this gateway's skills (`default`, and one per follow-up question). */
  grammars(): ReturnType<Assistant['grammars']> {
    return this.#assistant.grammars();
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

  /** What makes transcripts: the recogniser's name (`pocketsphinx`, a service), or `off`. */
  get sttEngine(): string {
    return this.#o.stt?.name ?? 'off';
  }

  /** What speaks replies: the TTS service's name, or the local engine. */
  get ttsEngine(): string {
    return this.#o.tts?.name ?? this.#engine;
  }

  async start(): Promise<void> {
    const wss = new WebSocketServer({
      port: this.#o.port,
      host: this.#o.host,
      // Audio frames and typed requests are small; a larger message closes that client (1009).
      maxPayload: MAX_CLIENT_MESSAGE_BYTES,
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
    this.#log.info('listening', {
      url: this.url,
      stt: this.sttEngine,
      ...(this.#o.stt ? {} : { recognition: `off: ${this.#offReason}` }),
      tts: this.ttsEngine,
      speech: this.#engine,
      ...(this.#o.voice ? { voice: this.#o.voice } : {}),
      skills: this.#assistant.skills.map((k) => k.name),
      replyFormat: this.#o.replyFormat,
    });
  }

  async stop(): Promise<void> {
    this.#announcer.cancelAll();
    this.#assistant.close();
    for (const c of this.#clients) c.ws.terminate();
    this.#clients.clear();
    await Promise.all([...this.#recognitions].map((r) => r.close()));
    const wss = this.#wss;
    this.#wss = undefined;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  /** Drops every client connection abruptly (a gateway crash). */
  dropClients(): void {
    for (const c of this.#clients) c.ws.terminate();
  }

  /** Sends a raw frame to every client (tests: junk, oversized, binary). */
  broadcastRaw(data: string | Buffer, binary = false): void {
    for (const c of this.#clients) c.ws.send(data, { binary });
  }

  /** Pushes an unsolicited reply (an IoT action that finished later) to every client now. */
  async pushUnsolicited(text: string): Promise<void> {
    const id = randomUUID();
    for (const c of this.#clients) await this.#reply(c, id, { text, prompt: false });
  }

  #onConnection(ws: WebSocket): void {
    const client = new Client(ws, this.#o.announceGapMs);
    this.#clients.add(client);
    this.#log.info('client-connected', { clients: this.#clients.size });
    const pending = client.pending;
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
          const p = this.#newListening(client, id, () => {
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
          this.#onAudio(client, p, pcm);
          return;
        }
        case 'audio_end': {
          const p = pending.get(id);
          if (!p) return;
          if (!p.transcribed) this.#endListening(client, p);
          pending.delete(id);
          void this.#answer(client, p);
          return;
        }
        case 'text':
          if (typeof msg.text !== 'string') return;
          if (msg.text.length > MAX_TEXT_CHARS) {
            this.#log.warn('bad-message', { reason: 'text too long', chars: msg.text.length, limit: MAX_TEXT_CHARS });
            this.#send(client.ws, { id, action: 'error', error: { message: `the text is ${msg.text.length} characters; at most ${MAX_TEXT_CHARS} are answered` } });
            return;
          }
          this.#answerText(client, id, msg.text).catch((err: unknown) => this.#log.warn('answer-failed', { error: err instanceof Error ? err.message : String(err) }));
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
      this.#clients.delete(client);
      this.#log.info('client-disconnected', { clients: this.#clients.size });
    });
    ws.on('error', (err) => this.#log.debug('client-error', { error: err.message }));
  }

  #newListening(client: Client, id: string, forget: () => void): Listening {
    const p = new Listening(id, this.#o.endSilenceMs, this.#o.maxUtteranceMs);
    const stt = this.#o.stt;
    if (stt) {
      // A question asked on this connection: its answer is recognised with that question's grammar.
      const grammar = this.#o.plan ? 'default' : this.#assistant.grammarFor(client.conv);
      const r = new Recognition(stt, this.#o.sttTimeoutMs, { grammar });
      p.recognition = r;
      this.#recognitions.add(r);
      // A client that stops sending audio without `audio_end` would keep the (billed) session
      // open: listening ends anyway after twice the longest utterance, in wall-clock time.
      const guard = setTimeout(() => {
        if (!p.transcribed) this.#endListening(client, p);
      }, 2 * this.#o.maxUtteranceMs);
      r.result.then(
        (result) => {
          clearTimeout(guard);
          this.#recognitions.delete(r);
          // The recogniser's own end-pointing may come first: it ends listening as well.
          p.transcribed = true;
          p.speechMs = p.measureSpeech();
          p.transcript = result.text;
          p.rejected = result.rejected === true;
          p.confidence = result.confidence;
          if (p.rejected) this.#log.info('not-understood', { turn: id, confidence: result.confidence, ...(result.guess ? { closest: result.guess } : {}) });
          else this.#log.info('recognized', { turn: id, transcript: result.text, confidence: result.confidence, grammar });
          this.#send(client.ws, {
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
          if (r.abandoned || !client.open) return;
          const message = errorMessage(err);
          this.#log.warn('stt-failed', { service: stt.name, turn: id, error: message });
          this.#send(client.ws, { id, action: 'error', error: { message, service: stt.name, code: 'stt_failed' } });
        },
      );
    }
    return p;
  }

  #onAudio(client: Client, p: Listening, pcm: Int16Array): void {
    if (!p.transcribed) p.recognition?.send(pcm);
    if (p.push(pcm)) this.#endListening(client, p);
  }

  /**
   * Ends listening (end-pointing, the length limit, or the client's `audio_end`). With a
   * recogniser, asks it for the final transcript (sent when it arrives); without one, the
   * transcript is empty: nothing was understood.
   */
  #endListening(client: Client, p: Listening): void {
    p.transcribed = true;
    if (p.recognition) {
      p.recognition.finish();
      return;
    }
    p.speechMs = p.measureSpeech();
    this.#send(client.ws, { id: p.id, action: 'stt_transcript', transcript: '', confidence: 0, transactionId: p.id.slice(0, 8) });
    p.markHeard(true);
  }

  async #answer(client: Client, p: Listening): Promise<void> {
    client.busy++;
    try {
      // With a recogniser the transcript may still be on its way; a failed turn got its error already.
      if (!(await p.heard)) return;
      const u: Utterance = {
        index: this.#requests++,
        id: p.id,
        transcript: p.transcript,
        speechMs: p.speechMs,
        typed: false,
        recognized: !!p.recognition,
        rejected: p.rejected,
        ...(p.confidence !== undefined ? { confidence: p.confidence } : {}),
      };
      const heard: Heard = !p.recognition
        ? { kind: 'off', reason: this.#offReason }
        : p.rejected
          ? { kind: 'rejected' }
          : p.transcript.trim()
            ? { kind: 'recognized', text: p.transcript }
            : { kind: 'silence' };
      await this.#reply(client, p.id, this.#planFor(client, u, heard));
    } finally {
      client.busy--;
    }
  }

  async #answerText(client: Client, id: string, text: string): Promise<void> {
    client.busy++;
    try {
      const u: Utterance = { index: this.#requests++, id, transcript: text, speechMs: 0, typed: true, recognized: false, rejected: false };
      await this.#reply(client, id, this.#planFor(client, u, { kind: 'typed', text }));
    } finally {
      client.busy--;
    }
  }

  #planFor(client: Client, u: Utterance, heard: Heard): TurnPlan {
    if (this.#o.plan) return this.#o.plan(u);
    const a = this.#assistant.answer(heard, client.conv, {
      now: this.#o.now,
      announce: (text, delayMs) => this.#announcer.schedule(client, text, delayMs),
    });
    this.#log.info('answer', { turn: u.id, skill: a.skill, prompt: a.prompt, ...(a.data !== undefined ? { data: a.data } : {}) });
    const mode = this.#o.followUp;
    let prompt = a.prompt;
    let text = a.text;
    if (mode !== 'skills') {
      prompt = mode === 'always' || (mode === 'alternate' && u.index % 2 === 0);
      if (!prompt) client.conv.pending = undefined; // no follow-up turn will answer the question
      else if (!a.prompt) text += ' Anything else?';
    }
    return { text, prompt, ...(a.data !== undefined ? { data: a.data } : {}) };
  }

  async #reply(client: Client, id: string, plan: TurnPlan): Promise<void> {
    const ws = client.ws;
    client.busy++;
    try {
      if (plan.delayMs) await new Promise((r) => setTimeout(r, plan.delayMs));
      if (plan.silent || !client.open) return;
      if (plan.error !== undefined) {
        this.#send(ws, { id, action: 'error', error: plan.error });
        return;
      }
      if (plan.data !== undefined) this.#send(ws, { id, action: 'response', data: plan.data });
      const text = plan.text ?? 'OK.';
      this.#send(ws, { id, action: 'text', text });
      if (plan.audio !== false) {
        const audio = await replyAudio(text, {
          tts: this.#o.tts,
          engine: this.#engine,
          ...(this.#o.voice ? { voice: this.#o.voice } : {}),
          replyFormat: this.#o.replyFormat,
          ttsTimeoutMs: this.#o.ttsTimeoutMs,
          log: this.#log,
        });
        this.#send(ws, { id, action: 'audio_start', options: { tts: { content_type: audio.contentType } } });
        // The device plays from the first chunk, in real time: it is busy until then.
        client.playingUntil = performance.now() + (audio.bytes.length / audio.bytesPerSecond) * 1000;
        // 100 ms per chunk, in whole 4-byte units so no PCM frame (mono or stereo) is split.
        const chunkBytes = Math.max(256, Math.round((audio.bytesPerSecond * CHUNK_MS) / 1000 / 4) * 4);
        await this.#stream(ws, id, audio.bytes, chunkBytes);
      }
      if (!client.open) return;
      this.#send(ws, { id, action: 'audio_end', prompt: plan.prompt ?? false });
    } finally {
      client.busy--;
    }
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
