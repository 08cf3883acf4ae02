/**
 * The session: runs the conversation state machine against the ports. It owns the one
 * long-lived microphone stream (pre-roll ring, VAD, wake word feed, uplink while listening),
 * turns backend events into state events, executes the transition's effects, and tells
 * observers (control socket, LEDs, logs) what happens.
 */
import { randomUUID } from 'node:crypto';
import { SampleRing } from '../audio/ring-buffer.js';
import { rmsDb } from '../audio/pcm.js';
import type { Vad } from '../audio/vad.js';
import { bytesToInt16 } from '../audio/wav.js';
import { createVad } from '../audio/vad-factory.js';
import type { ConversationConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { AudioFrame, AudioInput } from '../ports/audio-input.js';
import type { AudioOutput } from '../ports/audio-output.js';
import type { Backend, TurnId } from '../ports/backend.js';
import type { ButtonEvent, Gpio, LedState } from '../ports/gpio.js';
import type { WakeStatus, WakeWord } from '../ports/wake-word.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { DecoderFactory } from './player.js';
import { ReplyPlayer } from './player.js';
import {
  acceptsReplyAudio,
  currentTurn,
  initialState,
  transition,
  type Effect,
  type Event,
  type Phase,
  type RefuseReason,
  type State,
  type TimerName,
  type TriggerSource,
} from './state.js';

/** Points of a turn, for the demo timeline, benchmarks and the control socket. */
export type TimelineMark =
  | 'trigger'
  | 'audio_start'
  | 'first_audio_data'
  | 'transcript'
  | 'audio_end'
  | 'reply_text'
  | 'reply_audio'
  | 'first_sample'
  | 'reply_end'
  | 'drained'
  | 'follow_up'
  | 'idle';

export interface SessionStatus {
  phase: Phase['kind'];
  turnId: TurnId;
  followUp: boolean;
  connected: boolean;
  muted: boolean;
  led: LedState;
  backend: string;
  wake: WakeStatus;
  lastError?: { code: string; message: string; at: string };
}

export type SessionEvents = {
  state: [SessionStatus];
  led: [LedState];
  timeline: [{ mark: TimelineMark; turnId: TurnId; t: number; detail?: Record<string, unknown> }];
  transcript: [{ turnId: TurnId; text: string; final: boolean; confidence?: number }];
  replyText: [{ turnId: TurnId; text: string }];
  response: [{ turnId: TurnId; data: unknown }];
  error: [{ code: string; message: string }];
  notice: [{ code: string; message: string }];
  refused: [{ reason: RefuseReason; message: string }];
};

export interface SessionDeps {
  backend: Backend;
  mic: AudioInput;
  speaker: AudioOutput;
  wake: WakeWord;
  gpio: Gpio;
  config: ConversationConfig;
  log: Logger;
  /** Milliseconds of pre-roll kept before a trigger (default 500). */
  preRollMs?: number;
  decoderFactory: DecoderFactory;
  /** Short cue sounds (wake, done, error, disconnected) played on the same speaker; optional. */
  earcons?: EarconPlayer;
  /** End-of-speech detector; default: the one `conversation.vad` configures. */
  vad?: Vad;
  newId?: () => string;
  now?: () => number;
}

/** The part of `Earcons` the session uses. */
export interface EarconPlayer {
  play(name: 'wake' | 'done' | 'error' | 'disconnected', out: AudioOutput): void;
  has(name: 'wake' | 'done' | 'error' | 'disconnected'): boolean;
}

export type RequestResult = { ok: true } | { ok: false; reason: RefuseReason | 'invalid'; message: string };

const REFUSE_MESSAGES: Record<RefuseReason, string> = {
  disconnected: 'not connected to the gateway: the request was not sent (check the network and `speaker-agent status`)',
  muted: 'the microphone is muted: unmute first (`speaker-agent unmute` or a long press)',
};

const ERROR_LED_MS = 2000;

export class Session extends TypedEmitter<SessionEvents> {
  #state: State = initialState();
  readonly #d: Required<Omit<SessionDeps, 'vad' | 'preRollMs' | 'earcons'>> & { vad: Vad; earcons?: EarconPlayer };
  readonly #ring: SampleRing;
  readonly #player: ReplyPlayer;
  readonly #timers = new Map<TimerName, NodeJS.Timeout>();
  readonly #log: Logger;
  #streamingTurn: string | null = null;
  #firstDataSent = false;
  #lastReplyActivity = 0;
  #guarded = false;
  #errorUntil = 0;
  #errorTimer: NodeJS.Timeout | undefined;
  #led: LedState = 'off';
  #lastError: SessionStatus['lastError'];
  #replyMarked: TurnId | undefined;
  #started = false;
  #lastRefusal: RefuseReason | undefined;
  #levelAt = 0;
  /** An earcon ended the output last: its `drained` is not the reply's. */
  #earconPending = false;

  constructor(deps: SessionDeps) {
    super();
    const c = deps.config;
    this.#d = {
      ...deps,
      vad: deps.vad ?? createVad(c.vad, deps.mic.format.sampleRate),
      newId: deps.newId ?? randomUUID,
      now: deps.now ?? (() => performance.now()),
    };
    this.#log = deps.log.child('session');
    this.#ring = new SampleRing(Math.round(((deps.preRollMs ?? 500) * deps.mic.format.sampleRate) / 1000));
    this.#player = new ReplyPlayer(deps.speaker, deps.decoderFactory, deps.log.child('player'), {
      onFirstSample: (latencyMs) => {
        // The reply now owns the output stream: the next drained is the reply's.
        this.#earconPending = false;
        this.#mark('first_sample', { latencyMs: Math.round(latencyMs * 100) / 100 });
      },
      onPcm: (pcm) => this.#speakingLevel(pcm),
    });
  }

  get state(): State {
    return this.#state;
  }

  status(): SessionStatus {
    const p = this.#state.phase;
    return {
      phase: p.kind,
      turnId: currentTurn(p),
      followUp: p.kind === 'listening' && p.followUp,
      connected: this.#state.connected,
      muted: this.#state.muted,
      led: this.#led,
      backend: this.#d.backend.name,
      wake: this.#d.wake.status(),
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  /** Wires every port and starts them: speaker, backend, wake, GPIO, then the microphone. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { backend, mic, speaker, wake, gpio } = this.#d;

    speaker.on('drained', () => {
      if (this.#earconPending) {
        this.#earconPending = false;
        return;
      }
      this.#mark('drained');
      this.dispatch({ type: 'drained' });
    });
    speaker.on('error', (e) => {
      this.#log.warn('speaker-error', { error: e.message });
      if (this.#state.phase.kind === 'speaking') this.dispatch({ type: 'drained' });
    });

    backend.on('connected', () => this.dispatch({ type: 'connected' }));
    backend.on('disconnected', (e) => this.dispatch({ type: 'disconnected', reason: e.reason }));
    backend.on('transcript', (t) => {
      if (t.final) this.#mark('transcript', { text: t.text });
      this.emit('transcript', t);
      this.dispatch({ type: 'transcript', turnId: t.turnId, final: t.final });
    });
    backend.on('replyText', (r) => {
      this.#mark('reply_text', { text: r.text });
      this.emit('replyText', { turnId: r.turnId, text: r.text });
      this.dispatch({ type: 'replyText', turnId: r.turnId, ...(r.prompt !== undefined ? { prompt: r.prompt } : {}) });
    });
    backend.on('replyAudioStart', (r) => {
      this.dispatch({ type: 'replyAudioStart', turnId: r.turnId });
      if (acceptsReplyAudio(this.#state, r.turnId)) {
        this.#replyActivity(r.turnId);
        this.#player.beginStream(r.format);
      } else {
        this.#log.debug('reply-audio-dropped', { turnId: r.turnId, phase: this.#state.phase.kind });
      }
    });
    backend.on('replyAudio', (r) => {
      if (!acceptsReplyAudio(this.#state, r.turnId)) {
        // Binary frames or audio with no audio_start: an unsolicited reply while idle.
        if (this.#state.phase.kind !== 'idle' && this.#state.phase.kind !== 'settling') {
          this.#log.debug('reply-audio-dropped', () => ({ turnId: r.turnId, bytes: r.data.length, phase: this.#state.phase.kind }));
          return;
        }
        this.dispatch({ type: 'replyAudioStart', turnId: r.turnId });
        if (!acceptsReplyAudio(this.#state, r.turnId)) return;
      }
      this.#replyActivity(r.turnId);
      this.#player.write(r.data);
    });
    backend.on('replyAudioEnd', (r) => {
      if (acceptsReplyAudio(this.#state, r.turnId)) this.#player.endStream();
    });
    backend.on('replyEnd', (r) => {
      this.#mark('reply_end', { prompt: r.prompt !== false });
      this.dispatch({ type: 'replyEnd', turnId: r.turnId, prompt: r.prompt });
    });
    backend.on('response', (r) => this.emit('response', r));
    backend.on('turnError', (e) => this.dispatch({ type: 'backendError', turnId: e.turnId, message: e.message }));
    backend.on('barge', (e) => this.dispatch({ type: 'barge', turnId: e.turnId }));

    wake.on('detected', (d) => {
      this.#log.info('wake-word', { keyword: d.keyword });
      this.trigger('wake');
    });
    // The adapter logs its own availability changes; the session only republishes status.
    wake.on('status', () => this.#publish());
    gpio.on('button', (b) => this.#onButton(b));
    gpio.on('error', (e) => this.#log.warn('gpio-error', { error: e.message }));

    mic.on('frame', (f) => this.#onFrame(f));
    mic.on('error', (e) => {
      this.#log.error('mic-error', { error: e.message, recoverable: e.recoverable });
      this.#raise('mic', e.message);
    });
    mic.on('recovered', () => this.#log.info('mic-recovered'));

    await speaker.start();
    await gpio.start();
    await wake.start();
    await backend.start();
    await mic.start();
    this.#publish();
  }

  /**
   * Stops everything in reverse order. An open turn is ended with `audio_end` first, so the
   * gateway is not left waiting.
   */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    const p = this.#state.phase;
    if (p.kind === 'listening') this.#run({ type: 'endTurn', turnId: p.turnId });
    this.#clearTimers();
    if (this.#errorTimer) clearTimeout(this.#errorTimer);
    const { backend, mic, speaker, wake, gpio } = this.#d;
    const steps: [string, () => Promise<void>][] = [
      ['mic', () => mic.stop()],
      ['backend', () => backend.stop()],
      ['wake', () => wake.stop()],
      ['gpio', () => gpio.stop()],
      ['speaker', () => speaker.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.#log.warn('stop-failed', { part: name, error: errorMessage(err) });
      }
    }
  }

  /** Starts a turn (or barges in). Returns why not when refused. */
  trigger(source: TriggerSource, ptt = false): RequestResult {
    if (source !== 'wake' || this.#state.phase.kind !== 'listening') this.#mark('trigger', { source });
    return this.#request({ type: 'trigger', source, ptt });
  }

  /** Sends typed text as a request; the reply is spoken. */
  say(text: string): RequestResult {
    if (!text.trim()) return { ok: false, reason: 'invalid', message: 'nothing to say: give the text to send' };
    return this.#request({ type: 'say', text });
  }

  stopAll(): RequestResult {
    return this.#request({ type: 'stop' });
  }

  setMuted(muted: boolean): RequestResult {
    return this.#request({ type: muted ? 'mute' : 'unmute' });
  }

  setVolume(percent: number): RequestResult {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
      return { ok: false, reason: 'invalid', message: 'volume must be a number from 0 to 100' };
    }
    this.#d.speaker.setVolume(percent);
    this.#log.info('volume', { percent });
    return { ok: true };
  }

  #request(event: Event): RequestResult {
    this.#lastRefusal = undefined;
    this.dispatch(event);
    const reason = this.#lastRefusal as RefuseReason | undefined;
    return reason ? { ok: false, reason, message: REFUSE_MESSAGES[reason] } : { ok: true };
  }

  /** Feeds one event through the transition function and runs its effects. */
  dispatch(event: Event): void {
    const before = this.#state;
    const { state, effects } = transition(before, event, { newId: this.#d.newId });
    this.#state = state;
    if (state !== before) this.#log.debug('transition', () => ({ event: event.type, from: before.phase.kind, to: state.phase.kind }));
    for (const effect of effects) this.#run(effect);
    if (state.phase !== before.phase || state.muted !== before.muted || state.connected !== before.connected) {
      this.#onPhaseChange(before, state);
    }
  }

  #onPhaseChange(before: State, after: State): void {
    const p = after.phase;
    if (p.kind !== before.phase.kind || currentTurn(p) !== currentTurn(before.phase)) {
      this.#log.info('state', { phase: p.kind, turnId: currentTurn(p), ...(p.kind === 'listening' && p.followUp ? { followUp: true } : {}) });
      if (p.kind === 'listening' && p.followUp) this.#mark('follow_up');
      if (p.kind === 'idle') this.#mark('idle');
    }
    if (after.connected !== before.connected) {
      if (after.connected) this.#log.info('connected', { backend: this.#d.backend.name });
      else {
        this.#log.warn('disconnected', { backend: this.#d.backend.name });
        this.#chime('disconnected');
      }
    }
    const guard = p.kind === 'speaking' || p.kind === 'settling';
    if (guard !== this.#guarded) {
      this.#guarded = guard;
      this.#d.wake.setGuard(guard);
    }
    this.#publish();
  }

  #publish(): void {
    const led = this.#ledFor(this.#state);
    if (led !== this.#led) {
      this.#led = led;
      this.#d.gpio.setLed(led);
      this.emit('led', led);
    }
    this.emit('state', this.status());
  }

  #ledFor(s: State): LedState {
    if (s.muted) return 'muted';
    if (this.#d.now() < this.#errorUntil) return 'error';
    if (!s.connected) return 'disconnected';
    switch (s.phase.kind) {
      case 'idle':
        return 'idle';
      case 'listening':
        return s.phase.followUp ? 'follow-up' : 'listening';
      case 'thinking':
        return 'thinking';
      case 'speaking':
      case 'settling':
        return 'speaking';
    }
  }

  #run(effect: Effect): void {
    const { backend } = this.#d;
    switch (effect.type) {
      case 'openTurn': {
        this.#d.vad.reset();
        try {
          backend.beginTurn(effect.turnId, { followUp: effect.followUp, ...(effect.stt ? { stt: effect.stt } : {}) });
        } catch (err) {
          this.#log.warn('turn-open-failed', { error: errorMessage(err) });
          return;
        }
        this.#streamingTurn = effect.turnId;
        this.#firstDataSent = false;
        this.#mark('audio_start', { followUp: effect.followUp });
        // The cue plays while capture goes on: the pre-roll and the user's first word are kept.
        this.#chime('wake');
        // The pre-roll opens the utterance so the first word is never lost. A follow-up starts
        // clean: its ring holds the tail of our own reply.
        const pre = this.#ring.drain();
        if (!effect.followUp && pre.length > 0) this.#send(effect.turnId, pre);
        return;
      }
      case 'sendText':
        try {
          backend.sendText(effect.turnId, effect.text);
        } catch (err) {
          this.#log.warn('send-text-failed', { error: errorMessage(err) });
        }
        return;
      case 'endTurn':
        if (this.#streamingTurn === effect.turnId) this.#streamingTurn = null;
        try {
          backend.endTurn(effect.turnId);
          this.#mark('audio_end');
          if (this.#state.phase.kind === 'thinking') this.#chime('done');
        } catch (err) {
          this.#log.debug('end-turn-failed', { error: errorMessage(err) });
        }
        return;
      case 'cancelTurn':
        if (this.#streamingTurn === effect.turnId) this.#streamingTurn = null;
        try {
          backend.cancelTurn(effect.turnId);
        } catch (err) {
          this.#log.debug('cancel-turn-failed', { error: errorMessage(err) });
        }
        return;
      case 'stopPlayback':
        this.#player.stop();
        this.#earconPending = false;
        return;
      case 'finishPlayback':
        this.#player.finish();
        return;
      case 'setTimer':
        this.#setTimer(effect.timer, effect.turnId);
        return;
      case 'clearTimers':
        this.#clearTimers();
        return;
      case 'error':
        this.#log.warn('turn-error', { code: effect.code, message: effect.message });
        this.#raise(effect.code, effect.message);
        if (effect.code !== 'disconnected') this.#chime('error');
        return;
      case 'refused':
        this.#lastRefusal = effect.reason;
        this.#log.info('refused', { reason: effect.reason });
        this.emit('refused', { reason: effect.reason, message: REFUSE_MESSAGES[effect.reason] });
        return;
      case 'notice':
        this.#log.info('notice', { code: effect.code, message: effect.message });
        this.emit('notice', { code: effect.code, message: effect.message });
        return;
    }
  }

  /**
   * Lets the speaking LEDs follow the reply's loudness: the level of the audio handed to the
   * speaker, -50..0 dBFS mapped to 0..1, at most every 50 ms.
   */
  #speakingLevel(pcm: Buffer): void {
    if (this.#led !== 'speaking') return;
    const now = this.#d.now();
    if (now - this.#levelAt < 50) return;
    this.#levelAt = now;
    const level = Math.max(0, Math.min(1, (rmsDb(bytesToInt16(pcm)) + 50) / 50));
    this.#d.gpio.setLed('speaking', Math.round(level * 100) / 100);
  }

  /** Plays a cue unless a reply is using the speaker. */
  #chime(name: 'wake' | 'done' | 'error' | 'disconnected'): void {
    const e = this.#d.earcons;
    if (!e?.has(name) || this.#player.active || this.#state.phase.kind === 'speaking') return;
    e.play(name, this.#d.speaker);
    this.#earconPending = true;
  }

  #raise(code: string, message: string): void {
    this.#lastError = { code, message, at: new Date().toISOString() };
    this.emit('error', { code, message });
    this.#errorUntil = this.#d.now() + ERROR_LED_MS;
    if (this.#errorTimer) clearTimeout(this.#errorTimer);
    this.#errorTimer = setTimeout(() => this.#publish(), ERROR_LED_MS + 5);
    this.#errorTimer.unref?.();
    this.#publish();
  }

  #timerMs(timer: TimerName): number {
    const c = this.#d.config;
    switch (timer) {
      case 'noSpeech':
        return c.noSpeechTimeoutMs;
      case 'expectSpeech':
        return c.expectSpeechTimeoutMs;
      case 'maxUtterance':
        return c.maxUtteranceMs;
      case 'thinking':
      case 'reply':
        return c.thinkingTimeoutMs;
      case 'settle':
        return c.settleMs;
    }
  }

  #setTimer(timer: TimerName, turnId: TurnId, ms = this.#timerMs(timer)): void {
    const old = this.#timers.get(timer);
    if (old) clearTimeout(old);
    this.#timers.set(
      timer,
      setTimeout(() => {
        this.#timers.delete(timer);
        if (timer === 'reply') {
          // The reply timer is an inactivity timer: audio arriving keeps it alive.
          const idleFor = this.#d.now() - this.#lastReplyActivity;
          const limit = this.#timerMs('reply');
          if (idleFor < limit) {
            this.#setTimer('reply', turnId, limit - idleFor);
            return;
          }
        }
        this.dispatch({ type: 'timeout', timer, turnId });
      }, ms),
    );
  }

  #clearTimers(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  #replyActivity(turnId: TurnId): void {
    this.#lastReplyActivity = this.#d.now();
    if (this.#replyMarked !== turnId) {
      this.#replyMarked = turnId;
      this.#mark('reply_audio');
    }
  }

  #onButton(b: ButtonEvent): void {
    this.#log.debug('button', { event: b });
    if (this.#d.config.pushToTalk) {
      if (b === 'down') this.trigger('button', true);
      else if (b === 'up') this.dispatch({ type: 'release' });
      else if (b === 'double-press') this.dispatch({ type: 'toggleMute' });
      return;
    }
    if (b === 'press') this.trigger('button');
    else if (b === 'long-press') this.dispatch({ type: 'toggleMute' });
    else if (b === 'double-press') this.stopAll();
  }

  #onFrame(frame: AudioFrame): void {
    if (this.#state.muted) return; // a muted mic hears nothing: no wake word, no pre-roll
    const pcm = frame.pcm;
    const turn = this.#streamingTurn;
    if (turn === null) {
      this.#ring.push(pcm);
      this.#d.wake.feed(pcm, frame.sampleIndex);
      // The VAD keeps learning the room between turns, so its noise floor is right the moment
      // listening starts (a fan that was already running is not taken for speech).
      this.#d.vad.process(pcm);
      return;
    }
    // Listening: the frame goes up, and the VAD watches for the end of speech.
    this.#send(turn, pcm);
    const p = this.#state.phase;
    if (p.kind === 'listening' && !p.ptt) {
      const v = this.#d.vad.process(pcm);
      if (v === 'speech-start') this.dispatch({ type: 'speechStart' });
      else if (v === 'speech-end' && this.#d.config.endOnSilence) this.dispatch({ type: 'speechEnd' });
    }
  }

  #send(turnId: string, pcm: Int16Array): void {
    try {
      this.#d.backend.sendAudio(turnId, pcm);
    } catch (err) {
      this.#log.debug('send-audio-failed', { error: errorMessage(err) });
      return;
    }
    if (!this.#firstDataSent) {
      this.#firstDataSent = true;
      this.#mark('first_audio_data');
    }
  }

  #mark(mark: TimelineMark, detail?: Record<string, unknown>): void {
    this.emit('timeline', { mark, turnId: currentTurn(this.#state.phase), t: this.#d.now(), ...(detail ? { detail } : {}) });
  }
}
