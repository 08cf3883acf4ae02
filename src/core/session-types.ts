/** The session's public shapes: its dependencies, status, events and request results. */
import type { Vad } from '../audio/vad.js';
import type { ConversationConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { AudioInput } from '../ports/audio-input.js';
import type { AudioOutput } from '../ports/audio-output.js';
import type { Backend, TurnId } from '../ports/backend.js';
import type { Gpio, LedState } from '../ports/gpio.js';
import type { WakeStatus, WakeWord } from '../ports/wake-word.js';
import type { Scheduler } from '../util/clock.js';
import type { JitterOptions } from './jitter.js';
import type { PcmSink } from './playback.js';
import type { DecoderFactory } from './player.js';
import type { EarconName, ErrorCode, NoticeCode, Phase, RefuseReason } from './state.js';
import type { TimelineEntry } from './timeline.js';

export interface SessionStatus {
  phase: Phase['kind'];
  turnId: TurnId;
  followUp: boolean;
  connected: boolean;
  muted: boolean;
  led: LedState;
  backend: string;
  /** Speaker volume, 0-100, however it was last set. */
  volume?: number;
  /** Reply playback: underruns (the speaker ran dry inside a reply) since start. */
  playback?: { underruns: number };
  wake: WakeStatus;
  /** The timers ringing now (phase `ringing`), by name. */
  ringing?: string[];
  /** Timers running at the backend (Home Assistant), when any. */
  timers?: number;
  lastError?: { code: ErrorCode; message: string; at: string };
}

export type SessionEvents = {
  state: [SessionStatus];
  led: [LedState];
  timeline: [TimelineEntry];
  transcript: [{ turnId: TurnId; text: string; final: boolean; confidence?: number }];
  replyText: [{ turnId: TurnId; text: string }];
  response: [{ turnId: TurnId; data: unknown }];
  error: [{ code: ErrorCode; message: string }];
  notice: [{ code: NoticeCode; message: string }];
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
  /** Time and timers; default the system clock. Tests pass a manual one. */
  clock?: Scheduler;
  /** The speaker volume the agent started with (`audio.volume`; default 100). */
  volume?: number;
  /** The jitter buffer in front of the speaker (`audio.jitterBuffer`). */
  jitter?: JitterOptions;
}

/** The part of `Earcons` the session uses. */
export interface EarconPlayer {
  play(name: EarconName, out: PcmSink): void;
  has(name: EarconName): boolean;
}

export type RequestResult = { ok: true } | { ok: false; reason: RefuseReason | 'invalid'; message: string };
