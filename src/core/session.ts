/**
 * The session: runs the conversation state machine (state.ts, transition.ts) against the ports.
 * It wires the ports, turns what they report into state events, executes the transition's
 * effects and tells observers (control socket, logs) what happens. It decides nothing itself:
 * frames are routed by the uplink, playback streams by the mux, LEDs by the presenter.
 */
import { randomUUID } from 'node:crypto';
import { createVad } from '../audio/vad-factory.js';
import { errorMessage } from '../errors.js';
import { LedPresenter } from '../leds/presenter.js';
import type { Logger } from '../log/logger.js';
import { systemScheduler, TimerSlot, type Scheduler } from '../util/clock.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { HeldAudio } from './held-audio.js';
import { JitterBuffer, type JitterOptions } from './jitter.js';
import { PlaybackMux } from './playback.js';
import { ReplyPlayer } from './player.js';
import type { RequestResult, SessionDeps, SessionEvents, SessionStatus } from './session-types.js';
import {
  buttonEvent,
  currentTurn,
  initialState,
  refusalOf,
  refuseMessage,
  timerMs,
  transition,
  wakeGuarded,
  watchesEndOfSpeech,
  type EarconName,
  type Effect,
  type Env,
  type ErrorCode,
  type Event,
  type State,
  type TimerName,
  type TriggerSource,
} from './state.js';
import { playRing } from './ringer.js';
import { wireBackend } from './session-wiring.js';
import { Timeline } from './timeline.js';
import { Uplink } from './uplink.js';

export type { EarconPlayer, RequestResult, SessionDeps, SessionEvents, SessionStatus } from './session-types.js';
export type { TimelineMark } from './timeline.js';

/** The jitter buffer when the agent gives none (see `audio.jitterBuffer`). */
const DEFAULT_JITTER: JitterOptions = { startMs: 200, maxMs: 1000, stepMs: 100 };

export class Session extends TypedEmitter<SessionEvents> {
  #state: State = initialState();
  readonly #d: SessionDeps & { clock: Scheduler };
  readonly #env: Env;
  readonly #log: Logger;
  readonly #uplink: Uplink;
  readonly #mux: PlaybackMux;
  readonly #jitter: JitterBuffer;
  readonly #player: ReplyPlayer;
  /** When the first reply byte of the reply playing arrived, for its first-sample latency. */
  #replyFirstByteAt: number | undefined;
  /** The audio of held unsolicited replies (the state machine says which). */
  readonly #held: HeldAudio;
  readonly #leds: LedPresenter;
  readonly #timeline: Timeline;
  readonly #timers = new Map<TimerName, TimerSlot>();
  #lastError: SessionStatus['lastError'];
  #guarded = false;
  #volume: number;
  #started = false;

  constructor(deps: SessionDeps) {
    super();
    const clock = deps.clock ?? systemScheduler();
    this.#d = { ...deps, clock };
    this.#env = { newId: deps.newId ?? randomUUID, backend: deps.backend.name, endOnSilence: deps.config.endOnSilence };
    this.#log = deps.log.child('session');
    this.#volume = deps.volume ?? 100;
    this.#held = new HeldAudio(this.#log);
    this.#timeline = new Timeline(clock, () => currentTurn(this.#state.phase), (e) => this.emit('timeline', e));
    this.#uplink = new Uplink({
      backend: deps.backend,
      wake: deps.wake,
      vad: deps.vad ?? createVad(deps.config.vad, deps.mic.format.sampleRate),
      log: this.#log,
      preRollSamples: Math.round(((deps.preRollMs ?? 500) * deps.mic.format.sampleRate) / 1000),
      onSent: () => this.#timeline.frameSent(),
    });
    this.#leds = new LedPresenter(deps.gpio, clock, () => this.#publish());
    this.#mux = new PlaybackMux(deps.speaker);
    this.#jitter = new JitterBuffer(this.#mux.channel('reply'), clock, deps.jitter ?? DEFAULT_JITTER, {
      started: () => {
        const at = this.#replyFirstByteAt;
        this.#replyFirstByteAt = undefined;
        this.#timeline.mark('first_sample', at === undefined ? {} : { latencyMs: Math.round((clock.now() - at) * 100) / 100 });
      },
      underrun: (count, targetMs) => this.#log.warn('playback-underrun', { underruns: count, bufferMs: targetMs }),
    });
    this.#player = new ReplyPlayer(this.#jitter, deps.decoderFactory, deps.log.child('player'), {
      onPcm: (pcm) => this.#leds.level(pcm),
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
      led: this.#leds.led,
      backend: this.#d.backend.name,
      volume: this.#volume,
      playback: { underruns: this.#jitter.underruns },
      wake: this.#d.wake.status(),
      ...(p.kind === 'ringing' ? { ringing: p.timers } : {}),
      ...(this.#state.timers ? { timers: this.#state.timers } : {}),
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
    };
  }

  /** Wires every port and starts them: speaker, GPIO, wake, backend, then the microphone. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { backend, mic, speaker, wake, gpio } = this.#d;

    this.#mux.on('ended', (e) => {
      if (e.kind === 'reply') this.#timeline.mark('drained');
      this.dispatch({ type: 'drained', stream: e.kind });
    });
    speaker.on('error', (e) => this.#log.warn('speaker-error', { error: e.message }));

    wireBackend(backend, {
      dispatch: (e) => this.dispatch(e),
      mark: (m, detail) => this.#timeline.mark(m, detail),
      emit: (e, ...args) => this.emit(e, ...args),
      phase: () => this.#state.phase.kind,
      log: this.#log,
    });

    wake.on('detected', (d) => {
      this.#log.info('wake-word', { keyword: d.keyword });
      this.trigger('wake');
    });
    // The adapter logs its own availability changes; the session only republishes status.
    wake.on('status', () => this.#publish());
    gpio.on('button', (b) => {
      this.#log.debug('button', { event: b });
      const e = buttonEvent(b, this.#d.config.pushToTalk);
      if (e?.type === 'trigger') this.trigger(e.source, e.ptt);
      else if (e) this.dispatch(e);
    });
    gpio.on('error', (e) => this.#log.warn('gpio-error', { error: e.message }));

    mic.on('frame', (f) => {
      if (this.#state.muted) return; // a muted mic hears nothing: no wake word, no pre-roll
      const v = this.#uplink.frame(f, watchesEndOfSpeech(this.#state));
      if (v === 'speech-start') this.dispatch({ type: 'speechStart' });
      else if (v === 'speech-end') this.dispatch({ type: 'speechEnd' });
    });
    mic.on('error', (e) => {
      this.#log.error('mic-error', { error: e.message, recoverable: e.recoverable });
      this.#raise('mic', e.message);
    });
    mic.on('recovered', () => this.#log.info('mic-recovered'));

    // The session owns the volume (control socket, MQTT, Home Assistant and commands set it here).
    speaker.setVolume(this.#volume);
    await speaker.start();
    await gpio.start();
    await wake.start();
    await backend.start();
    await mic.start();
    this.#publish();
  }

  /** Stops everything in reverse order; an open turn is ended first (see the `shutdown` event). */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.dispatch({ type: 'shutdown' });
    this.#leds.dispose();
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
    if (source !== 'wake' || this.#state.phase.kind !== 'listening') this.#timeline.mark('trigger', { source });
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
    this.#volume = percent;
    this.#log.info('volume', { percent });
    this.#publish();
    return { ok: true };
  }

  #request(event: Event): RequestResult {
    const reason = refusalOf(this.dispatch(event));
    return reason ? { ok: false, reason, message: refuseMessage(reason, this.#d.backend.name) } : { ok: true };
  }

  /** Feeds one event through the transition function and runs its effects; returns the result. */
  dispatch(event: Event): ReturnType<typeof transition> {
    const before = this.#state;
    const result = transition(before, event, this.#env);
    const state = (this.#state = result.state);
    if (state !== before) this.#log.debug('transition', () => ({ event: event.type, from: before.phase.kind, to: state.phase.kind }));
    for (const effect of result.effects) this.#run(effect);
    if (state.phase !== before.phase || state.muted !== before.muted || state.connected !== before.connected || state.timers !== before.timers) {
      this.#onChange(before, state);
    }
    return result;
  }

  #onChange(before: State, after: State): void {
    const p = after.phase;
    if (p.kind !== before.phase.kind || currentTurn(p) !== currentTurn(before.phase)) {
      this.#log.info('state', { phase: p.kind, turnId: currentTurn(p), ...(p.kind === 'listening' && p.followUp ? { followUp: true } : {}) });
      if (p.kind === 'listening' && p.followUp) this.#timeline.mark('follow_up');
      if (p.kind === 'idle') this.#timeline.mark('idle');
    }
    if (after.connected !== before.connected) {
      if (after.connected) this.#log.info('connected', { backend: this.#d.backend.name });
      else this.#log.warn('disconnected', { backend: this.#d.backend.name });
    }
    const guard = wakeGuarded(after, this.#echoFree());
    if (guard !== this.#guarded) {
      this.#guarded = guard;
      this.#d.wake.setGuard(guard);
    }
    this.#publish();
  }

  /** The microphone cannot hear our own reply: cancellation works, or it is a file. */
  #echoFree(): boolean {
    const mic = this.#d.mic;
    return mic.hearsSpeaker === false || mic.echoStatus?.().available === true;
  }

  #publish(): void {
    const s = this.#state;
    const p = s.phase;
    const led = this.#leds.show({ phase: p.kind, followUp: p.kind === 'listening' && p.followUp, connected: s.connected, muted: s.muted, timers: s.timers ?? 0 });
    if (led) this.emit('led', led);
    this.emit('state', this.status());
  }

  #run(effect: Effect): void {
    const { backend } = this.#d;
    switch (effect.type) {
      case 'openTurn':
        try {
          backend.beginTurn(effect.turnId, { followUp: effect.followUp, ...(effect.stt ? { stt: effect.stt } : {}) });
        } catch (err) {
          this.#log.warn('turn-open-failed', { error: errorMessage(err) });
          return;
        }
        this.#timeline.uplinkOpened(effect.followUp);
        // The cue plays while capture goes on: the pre-roll and the user's first word are kept.
        this.#chime('wake');
        // The pre-roll opens the utterance so the first word is never lost; a follow-up starts clean.
        this.#uplink.open(effect.turnId, !effect.followUp);
        return;
      case 'sendText':
        this.#call('send-text-failed', () => backend.sendText(effect.turnId, effect.text), 'warn');
        return;
      case 'endTurn':
        this.#uplink.close(effect.turnId);
        if (this.#call('end-turn-failed', () => backend.endTurn(effect.turnId))) this.#timeline.mark('audio_end');
        return;
      case 'cancelTurn':
        this.#uplink.close(effect.turnId);
        this.#call('cancel-turn-failed', () => backend.cancelTurn(effect.turnId));
        return;
      case 'beginStream':
        this.#player.beginStream(effect.format);
        return;
      case 'playAudio':
        this.#timeline.replyAudio(effect.turnId);
        this.#replyFirstByteAt ??= this.#d.clock.now();
        this.#player.write(effect.data);
        return;
      case 'endStream':
        this.#player.endStream();
        return;
      case 'stopPlayback':
        this.#replyFirstByteAt = undefined;
        this.#player.stop();
        return;
      case 'holdAudio':
        this.#held.hold(effect.turnId, effect.part);
        return;
      case 'playHeld':
        this.#replyFirstByteAt = this.#d.clock.now();
        this.#held.play(effect.turnId, {
          begin: (format) => this.#player.beginStream(format),
          data: (data) => {
            this.#timeline.replyAudio(effect.turnId);
            this.#player.write(data);
          },
          end: () => this.#player.endStream(),
        });
        return;
      case 'dropHeld':
        this.#held.drop(effect.turnId);
        return;
      case 'ring':
        playRing(this.#mux.channel('ring'));
        return;
      case 'stopRing':
        if (this.#mux.busy('ring')) this.#mux.channel('ring').stop();
        return;
      case 'silenceCues':
        if (this.#mux.busy('earcon') && !this.#mux.busy('reply')) this.#mux.channel('earcon').stop();
        return;
      case 'finishPlayback':
        this.#player.finish();
        return;
      case 'setTimer':
        this.#timer(effect.timer).set(() => {
          // The reply timer follows the playhead: the reducer is told what is still queued.
          const queued = effect.timer === 'reply' ? { queuedMs: Math.round(this.#jitter.queuedMs) } : {};
          this.dispatch({ type: 'timeout', timer: effect.timer, turnId: effect.turnId, ...queued });
        }, effect.ms ?? timerMs(effect.timer, this.#d.config));
        return;
      case 'clearTimers':
        for (const t of this.#timers.values()) t.clear();
        return;
      case 'earcon':
        this.#chime(effect.name);
        return;
      case 'error':
        this.#log.warn('turn-error', { code: effect.code, message: effect.message });
        this.#raise(effect.code, effect.message);
        return;
      case 'refused':
        this.#log.info('refused', { reason: effect.reason });
        this.emit('refused', { reason: effect.reason, message: refuseMessage(effect.reason, this.#d.backend.name) });
        return;
      case 'notice':
        this.#log.info('notice', { code: effect.code, message: effect.message });
        this.emit('notice', { code: effect.code, message: effect.message });
        return;
    }
  }

  /** Calls the backend; a failure is logged, never thrown. Returns whether it succeeded. */
  #call(event: string, fn: () => void, level: 'debug' | 'warn' = 'debug'): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      this.#log[level](event, { error: errorMessage(err) });
      return false;
    }
  }

  /** Plays a cue unless a reply is using the speaker; a new cue replaces one still sounding. */
  #chime(name: EarconName): void {
    const e = this.#d.earcons;
    if (!e?.has(name) || this.#player.active || this.#mux.busy('reply')) return;
    const cues = this.#mux.channel('earcon');
    if (this.#mux.busy('earcon')) cues.stop();
    e.play(name, cues);
  }

  #raise(code: ErrorCode, message: string): void {
    this.#lastError = { code, message, at: new Date().toISOString() };
    this.emit('error', { code, message });
    this.#leds.error();
    this.#publish();
  }

  #timer(name: TimerName): TimerSlot {
    let t = this.#timers.get(name);
    if (!t) this.#timers.set(name, (t = new TimerSlot(this.#d.clock)));
    return t;
  }
}
