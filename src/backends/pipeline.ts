/**
 * The `pipeline` backend: streaming speech-to-text, then a text skill, then streaming
 * text-to-speech, so a Pi is a complete assistant with no audio gateway.
 *
 * Per turn: an STT session opens at `beginTurn` (audio is held until the service is ready);
 * partials become `transcript` final:false; local end of speech (`endTurn`) asks for the final
 * transcript at once and opens the TTS session (its handshake overlaps the final transcript and
 * the skill call); the first final transcript ends listening, closes the STT session
 * (AssemblyAI: `Terminate`) and asks the skill; the reply text is spoken and streamed back as it is synthesized;
 * `replyEnd.prompt` is the skill's `followUp`. `sessionId` (sent to the skill) is kept across
 * follow-up turns. A grammar-constrained recogniser (pocketsphinx) that heard speech outside its
 * sentences gives a `rejected` final: the skill is not asked, and `notUnderstood` is spoken. There is no long-lived connection: the backend is `connected` while started,
 * except for `authRetryMs` after a service refused its key.
 */
import { randomUUID } from 'node:crypto';
import { CanceledError, DisconnectedError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Backend, BackendEvents, TurnOptions } from '../ports/backend.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { ServiceError } from './service-error.js';
import type { Skill } from './skill.js';
import type { SttClient, SttSession } from './stt/types.js';
import type { TtsClient, TtsSession } from './tts/slng.js';

export interface PipelineBackendOptions {
  stt: SttClient;
  skill: Skill;
  tts: TtsClient;
  log: Logger;
  /** How long the backend reports itself disconnected after a key was refused (ms). */
  authRetryMs: number;
  /** Spoken for speech the recogniser rejected (default "Sorry, I did not understand that."). */
  notUnderstood?: string;
  newSessionId?: () => string;
}

type Phase = 'listening' | 'thinking' | 'speaking';

interface Turn {
  id: string;
  phase: Phase;
  stt: SttSession | undefined;
  tts: TtsSession | undefined;
  abort: AbortController;
  sessionId: string;
}

export class PipelineBackend extends TypedEmitter<BackendEvents> implements Backend {
  readonly name = 'pipeline';
  readonly #opt: PipelineBackendOptions;
  readonly #log: Logger;
  readonly #turns = new Map<string, Turn>();
  readonly #newSessionId: () => string;
  #started = false;
  #authBlocked = false;
  #authTimer: NodeJS.Timeout | undefined;
  #sessionId: string;

  constructor(options: PipelineBackendOptions) {
    super();
    this.#opt = options;
    this.#log = options.log.child('pipeline');
    this.#newSessionId = options.newSessionId ?? randomUUID;
    this.#sessionId = this.#newSessionId();
  }

  get connected(): boolean {
    return this.#started && !this.#authBlocked;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#log.info('started', { stt: this.#opt.stt.name, tts: this.#opt.tts.name });
    this.emit('connected');
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    clearTimeout(this.#authTimer);
    // Every STT session is ended properly (AssemblyAI bills open sessions).
    await Promise.all([...this.#turns.values()].map((t) => this.#abandon(t)));
    this.#opt.stt.close?.();
  }

  beginTurn(turnId: string, options: TurnOptions = {}): void {
    if (!this.connected) throw new DisconnectedError(this.#authBlocked ? 'a speech service refused its key' : 'the pipeline backend is stopped');
    const old = this.#turns.get(turnId);
    if (old) void this.#abandon(old);
    if (!options.followUp) this.#sessionId = this.#newSessionId();
    const turn: Turn = { id: turnId, phase: 'listening', stt: undefined, tts: undefined, abort: new AbortController(), sessionId: this.#sessionId };
    this.#turns.set(turnId, turn);
    const stt = this.#opt.stt.open();
    turn.stt = stt;
    stt.on('partial', (r) => {
      if (this.#live(turn) && turn.phase === 'listening') this.emit('transcript', { turnId, text: r.text, confidence: r.confidence, final: false });
    });
    stt.on('final', (r) => {
      if (!this.#live(turn) || turn.phase !== 'listening') return;
      turn.phase = 'thinking';
      this.emit('transcript', { turnId, text: r.text, confidence: r.confidence, final: true });
      void stt.close();
      void this.#answer(turn, r.text, r.rejected === true);
    });
    stt.on('error', (err) => {
      if (!this.#live(turn) || turn.phase !== 'listening') return;
      this.#fail(turn, err);
    });
  }

  sendAudio(turnId: string, pcm: Int16Array): void {
    const turn = this.#turns.get(turnId);
    if (turn?.phase === 'listening') turn.stt?.send(pcm);
  }

  endTurn(turnId: string): void {
    const turn = this.#turns.get(turnId);
    if (turn?.phase !== 'listening') return;
    turn.stt?.finalize();
    // The user stopped talking: connect to TTS now, while the final transcript and the skill
    // are on their way, so its handshake is off the critical path. (Not earlier: an idle TTS
    // session held through a long utterance could be dropped by the service.)
    this.#ttsFor(turn);
  }

  cancelTurn(turnId: string): void {
    const turn = this.#turns.get(turnId);
    if (turn) void this.#abandon(turn);
  }

  sendText(turnId: string, text: string): void {
    if (!this.connected) throw new DisconnectedError('the pipeline backend is not available');
    const turn: Turn = { id: turnId, phase: 'thinking', stt: undefined, tts: undefined, abort: new AbortController(), sessionId: this.#sessionId };
    this.#turns.set(turnId, turn);
    void this.#answer(turn, text);
  }

  #live(turn: Turn): boolean {
    return this.#turns.get(turn.id) === turn;
  }

  async #answer(turn: Turn, transcript: string, rejected = false): Promise<void> {
    const turnId = turn.id;
    if (!transcript.trim() && !rejected) {
      this.#log.info('no-speech', { turnId });
      void turn.tts?.cancel();
      this.#turns.delete(turnId);
      this.emit('replyEnd', { turnId, prompt: false });
      return;
    }
    // Connect to TTS (if endTurn has not already) while the skill thinks.
    const tts = this.#ttsFor(turn);
    let reply;
    try {
      // Words the recogniser did not understand are not a request: the skill never sees a guess.
      reply = rejected
        ? { text: this.#opt.notUnderstood ?? 'Sorry, I did not understand that.', followUp: false }
        : await this.#opt.skill.ask({ transcript, sessionId: turn.sessionId, turnId }, turn.abort.signal);
    } catch (err) {
      void tts.cancel();
      if (err instanceof CanceledError || !this.#live(turn)) return;
      this.#fail(turn, err instanceof ServiceError ? err : new ServiceError('skill', 'provider', errorMessage(err)));
      return;
    }
    if (!this.#live(turn)) {
      void tts.cancel();
      return;
    }
    this.emit('replyText', { turnId, text: reply.text, prompt: reply.followUp || undefined });
    if (!reply.text.trim()) {
      void tts.cancel();
      this.#turns.delete(turnId);
      this.emit('replyEnd', { turnId, prompt: reply.followUp });
      return;
    }
    turn.phase = 'speaking';
    let streaming = false;
    tts.on('start', (format) => {
      if (!this.#live(turn)) return;
      streaming = true;
      this.emit('replyAudioStart', { turnId, format });
    });
    tts.on('audio', (data) => {
      if (this.#live(turn)) this.emit('replyAudio', { turnId, data });
    });
    tts.on('end', () => {
      if (!this.#live(turn)) return;
      this.#turns.delete(turnId);
      if (streaming) this.emit('replyAudioEnd', { turnId });
      this.emit('replyEnd', { turnId, prompt: reply.followUp });
    });
    tts.on('error', (err) => {
      if (!this.#live(turn)) return;
      if (streaming) this.emit('replyAudioEnd', { turnId });
      this.#fail(turn, err);
    });
    tts.speak(reply.text);
  }

  #ttsFor(turn: Turn): TtsSession {
    turn.tts ??= this.#opt.tts.open();
    return turn.tts;
  }

  /** Ends the turn with an error; a refused key also blocks new turns for `authRetryMs`. */
  #fail(turn: Turn, err: ServiceError): void {
    this.#log.error('turn-failed', { turnId: turn.id, service: err.service, kind: err.kind, error: err.message });
    void this.#abandon(turn);
    this.emit('turnError', { turnId: turn.id, message: err.message, detail: { service: err.service, kind: err.kind } });
    if (err.auth && err.service !== 'skill' && this.#started && !this.#authBlocked) {
      this.#authBlocked = true;
      const retryInMs = this.#opt.authRetryMs;
      this.emit('disconnected', { reason: err.message, auth: true, retryInMs });
      this.#authTimer = setTimeout(() => {
        this.#authBlocked = false;
        if (this.#started) this.emit('connected');
      }, retryInMs);
    }
  }

  /** Forgets the turn and ends its sessions: STT closed (Terminate), skill aborted, TTS cleared. */
  async #abandon(turn: Turn): Promise<void> {
    if (this.#live(turn)) this.#turns.delete(turn.id);
    turn.abort.abort();
    await Promise.all([turn.stt?.close(), turn.tts?.cancel()]);
  }
}
