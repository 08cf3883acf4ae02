/**
 * The conversation as one state union, its events and its effects. The pure transition function
 * lives in `transition.ts` (`transition(state, event, env) -> { state, effects }`); this file
 * holds the types and the small pure queries the session asks of a state (is reply audio for
 * this turn playing, is the wake word guarded, does the VAD watch for the end of speech).
 * No I/O here: the session executes the effects (send, play, start timers).
 */
import type { PromptValue, ReplyFormat, TurnId } from '../ports/backend.js';
import type { ConversationConfig } from '../config/schema.js';
import type { ButtonEvent } from '../ports/gpio.js';

export type TriggerSource = 'wake' | 'button' | 'control';

export type Phase =
  | { kind: 'idle' }
  | {
      kind: 'listening';
      turnId: string;
      /** Opened without a wake word because the previous reply asked for an answer. */
      followUp: boolean;
      /** Push-to-talk: listening lasts until the button is released. */
      ptt: boolean;
      /** The VAD has heard speech in this turn. */
      speech: boolean;
    }
  | { kind: 'thinking'; turnId: string; prompt: PromptValue }
  | {
      kind: 'speaking';
      /** Turn whose reply is playing; null for an unsolicited reply with no id. */
      turnId: TurnId;
      /** The backend said the whole reply has arrived (`replyEnd`). */
      replyDone: boolean;
      prompt: PromptValue;
    }
  | { kind: 'settling'; turnId: TurnId; prompt: PromptValue }
  /**
   * A timer (Home Assistant's) has finished: the ring sound plays again and again until the
   * button, a wake word, a command or the longest ring time stops it. Stopping it opens no turn.
   */
  | {
      kind: 'ringing';
      /** Id of this ring, so its timers never act on a later one. */
      turnId: string;
      /** Names of the timers that finished (`timer` when Home Assistant gave none), oldest first. */
      timers: string[];
    };

export interface State {
  phase: Phase;
  connected: boolean;
  muted: boolean;
  /** Turns abandoned by barge-in, stop or timeout: their late replies are dropped. Newest last. */
  stale: string[];
  /** Unsolicited replies that arrived while the speaker was busy, oldest first (absent when none). */
  held?: HeldReply[];
  /** A timer finished during a conversation: it rings once the conversation is over (absent when none). */
  ring?: PendingRing;
  /** Timers running at the backend (Home Assistant), shown on the LEDs while idle (absent: none). */
  timers?: number;
}

export interface PendingRing {
  timers: string[];
  /** Longest ring, ms (`esphome.timerMaxRingMs`). */
  maxRingMs: number;
}

export interface HeldReply {
  turnId: string;
  /** Its `replyEnd` has arrived. */
  complete: boolean;
  /** Some of its audio has arrived (a reply that is only an `audio_start` has nothing to play). */
  audio?: boolean;
  prompt: PromptValue;
}

/** `ring` is the longest ring time; `ringPause` the silence between two rings. */
export type TimerName = 'noSpeech' | 'expectSpeech' | 'maxUtterance' | 'thinking' | 'reply' | 'settle' | 'ring' | 'ringPause';

/** Silence between two plays of the ring sound, ms. */
export const RING_PAUSE_MS = 700;
/** The longest ring when the event names none, ms (15 minutes, as linux-voice-assistant's default). */
export const DEFAULT_MAX_RING_MS = 900_000;

/**
 * What a playback stream on the speaker is. The session's playback mux gives every stream its
 * own identity, so a `drained` always says which one ended: an earcon's end is never a reply's.
 */
export type PlaybackKind = 'reply' | 'earcon' | 'ring';

export type EarconName = 'wake' | 'done' | 'error' | 'disconnected';

export type Event =
  | { type: 'trigger'; source: TriggerSource; ptt?: boolean }
  | { type: 'release' }
  | { type: 'say'; text: string }
  | { type: 'speechStart' }
  | { type: 'speechEnd' }
  | { type: 'transcript'; turnId: TurnId; final: boolean }
  | { type: 'replyText'; turnId: TurnId; prompt?: PromptValue }
  /** A reply audio stream is announced (gateway `audio_start`). */
  | { type: 'replyAudioStart'; turnId: TurnId; format?: ReplyFormat }
  /** A chunk of encoded reply audio arrived (announced or not). */
  | { type: 'replyAudio'; turnId: TurnId; data: Buffer }
  /** The current reply audio stream is complete. */
  | { type: 'replyAudioEnd'; turnId: TurnId }
  | { type: 'replyEnd'; turnId: TurnId; prompt: PromptValue }
  /** A playback stream has played to its end (or was lost to an output error). */
  | { type: 'drained'; stream: PlaybackKind }
  | { type: 'backendError'; turnId: TurnId; message: string }
  | { type: 'barge'; turnId: TurnId }
  /** A timer fired; for the reply timer, `queuedMs` is the reply audio still to play. */
  | { type: 'timeout'; timer: TimerName; turnId: TurnId; queuedMs?: number }
  | { type: 'connected' }
  | { type: 'disconnected'; reason: string }
  | { type: 'mute' }
  | { type: 'unmute' }
  | { type: 'toggleMute' }
  | { type: 'stop' }
  /** A timer finished at the backend (Home Assistant's timer FINISHED event): ring. */
  | { type: 'timerFinished'; name: string; maxRingMs: number }
  /** How many timers run at the backend now (for the LEDs). */
  | { type: 'timersRunning'; count: number }
  /** The agent is stopping: an open turn is ended with `audio_end` so the backend is not left waiting. */
  | { type: 'shutdown' };

export type RefuseReason = 'disconnected' | 'muted';

/** Every error the agent reports: the conversation's, and `mic`/`speaker` for device failures. */
export type ErrorCode = 'backend' | 'disconnected' | 'thinking-timeout' | 'reply-timeout' | 'playback-timeout' | 'mic' | 'speaker';

export type NoticeCode = 'no-speech' | 'stopped' | 'ring-stopped' | 'ring-ended';

export type Effect =
  /**
   * Open a turn at the backend and start streaming the mic, the pre-roll first unless it is a
   * follow-up (whose ring holds the tail of our own reply).
   */
  | { type: 'openTurn'; turnId: string; followUp: boolean; stt?: Record<string, unknown> }
  /** Send typed text as the request of a turn. */
  | { type: 'sendText'; turnId: string; text: string }
  /** The user finished: stop streaming, tell the backend (gateway `audio_end`). */
  | { type: 'endTurn'; turnId: string }
  /** Abandon the turn: stop streaming, tell the backend; its replies are stale. */
  | { type: 'cancelTurn'; turnId: string }
  /** A new reply audio stream begins in the player. */
  | { type: 'beginStream'; format: ReplyFormat }
  /** Hand a chunk of reply audio to the player. */
  | { type: 'playAudio'; turnId: TurnId; data: Buffer }
  /** The current reply audio stream has all its input. */
  | { type: 'endStream' }
  /** Cut playback now (barge-in, stop). */
  | { type: 'stopPlayback' }
  /** Play the ring sound once (its end comes back as `drained { stream: 'ring' }`). */
  | { type: 'ring' }
  /** Cut the ring sound now. */
  | { type: 'stopRing' }
  /** Silence any cue still sounding (a stop request). */
  | { type: 'silenceCues' }
  /** Keep a part of a held unsolicited reply (its stream start, a chunk, its stream end) for later. */
  | { type: 'holdAudio'; turnId: string; part: { begin: ReplyFormat } | { data: Buffer } | { end: true } }
  /** Play what was held of `turnId`'s reply now (the phase is speaking it). */
  | { type: 'playHeld'; turnId: string }
  /** Forget what was held of `turnId`'s reply. */
  | { type: 'dropHeld'; turnId: string }
  /** The whole reply has arrived: let the player end the output so it drains. */
  | { type: 'finishPlayback' }
  /** (Re)start a timer; an armed timer of the same name is replaced. `ms` overrides its setting. */
  | { type: 'setTimer'; timer: TimerName; turnId: TurnId; ms?: number }
  | { type: 'clearTimers' }
  /** A short cue sound, unless the speaker is busy with a reply. */
  | { type: 'earcon'; name: EarconName }
  /** Something went wrong that the user should see (LED, earcon, control event). */
  | { type: 'error'; code: ErrorCode; message: string }
  /** A request was not carried out; say why. */
  | { type: 'refused'; reason: RefuseReason }
  /** Not an error, but worth telling (no speech heard, turn canceled). */
  | { type: 'notice'; code: NoticeCode; message: string };

export interface Env {
  /** Fresh transaction id for a new turn. */
  newId(): string;
  /** The backend's name for messages (`gateway`, `soca`, `pipeline`); default `gateway`. */
  backend?: string;
  /** Local end of speech (the VAD's `speechEnd`) ends listening; default true. */
  endOnSilence?: boolean;
}

export interface Result {
  state: State;
  effects: Effect[];
}

export function initialState(): State {
  return { phase: { kind: 'idle' }, connected: false, muted: false, stale: [] };
}

/** The turn id of the current phase, if any. */
export function currentTurn(phase: Phase): TurnId {
  return phase.kind === 'idle' ? null : phase.turnId;
}

export function isStale(state: State, turnId: TurnId): boolean {
  return turnId !== null && state.stale.includes(turnId);
}

/** True when reply audio for `turnId` should go to the speaker now. */
export function acceptsReplyAudio(state: State, turnId: TurnId): boolean {
  return state.phase.kind === 'speaking' && state.phase.turnId === turnId;
}

/**
 * The wake word is guarded while our own reply plays (and just after), against self-triggers,
 * unless the microphone is `echoFree`: its input cannot contain our voice (echo cancellation
 * works, or it is a file). Then the wake word heard over a reply barges in, as the button does.
 */
export function wakeGuarded(state: State, echoFree = false): boolean {
  return !echoFree && (state.phase.kind === 'speaking' || state.phase.kind === 'settling');
}

/** The VAD's speech start/end matter only while listening hands-free (not push-to-talk). */
export function watchesEndOfSpeech(state: State): boolean {
  return state.phase.kind === 'listening' && !state.phase.ptt;
}

/**
 * The button's meaning. Push-to-talk: hold to talk, double press toggles mute. Otherwise a press
 * talks (or ends listening), a long press toggles mute and a double press stops everything.
 */
export function buttonEvent(b: ButtonEvent, pushToTalk: boolean): Event | undefined {
  if (pushToTalk) {
    if (b === 'down') return { type: 'trigger', source: 'button', ptt: true };
    if (b === 'up') return { type: 'release' };
    if (b === 'double-press') return { type: 'toggleMute' };
    return undefined;
  }
  if (b === 'press') return { type: 'trigger', source: 'button' };
  if (b === 'long-press') return { type: 'toggleMute' };
  if (b === 'double-press') return { type: 'stop' };
  return undefined;
}

/** The refusal a result carries, if the request was not carried out. */
export function refusalOf(result: Result): RefuseReason | undefined {
  for (const e of result.effects) if (e.type === 'refused') return e.reason;
  return undefined;
}

export { transition } from './transition.js';

/** How long each timer runs, from the conversation settings. */
export function timerMs(timer: TimerName, c: Pick<ConversationConfig, 'noSpeechTimeoutMs' | 'expectSpeechTimeoutMs' | 'maxUtteranceMs' | 'thinkingTimeoutMs' | 'settleMs'>): number {
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
    case 'ring':
      return DEFAULT_MAX_RING_MS;
    case 'ringPause':
      return RING_PAUSE_MS;
  }
}

/** The backend as messages name it: "the gateway", "Home Assistant", or its name. */
export function backendLabel(backend: string | undefined): string {
  if (!backend || backend === 'gateway') return 'the gateway';
  if (backend === 'esphome') return 'Home Assistant';
  return backend;
}

/** Why a request was refused, and what to do, naming the backend in use. */
export function refuseMessage(reason: RefuseReason, backend: string): string {
  if (reason === 'muted') return 'the microphone is muted: unmute first (`speaker-agent unmute` or a long press)';
  const to = backendLabel(backend);
  return `not connected to ${to}: the request was not sent (check the network and \`speaker-agent status\`)`;
}
