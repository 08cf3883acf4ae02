import type { TypedEmitter } from '../util/typed-emitter.js';

/**
 * How reply audio is encoded. `unknown` means the backend did not say: the player sniffs
 * (ID3 tag or MPEG frame sync means MP3, anything else is taken as 16 kHz mono L16).
 */
export type ReplyFormat =
  | { codec: 'pcm'; sampleRate: number; channels: number }
  | { codec: 'mp3' }
  | { codec: 'unknown' };

/**
 * Whether the backend expects an answer without a wake word: `true`, or an object of STT
 * options for the follow-up turn (seen from the deployed gateway), or false.
 */
export type PromptValue = boolean | Record<string, unknown>;

/** Turn ids are the transaction ids of the protocol. `null` means the message named no turn. */
export type TurnId = string | null;

export type BackendEvents = {
  connected: [];
  /** The connection dropped or could not be made; `retryInMs` says when the next attempt is. */
  disconnected: [{ reason: string; auth: boolean; retryInMs: number }];
  /** Speech-to-text result. `final` ends listening for `turnId`. */
  transcript: [{ turnId: TurnId; text: string; confidence?: number; final: boolean }];
  /** Textual reply. `prompt` when the message itself asks for a follow-up. */
  replyText: [{ turnId: TurnId; text: string; prompt?: PromptValue }];
  /** A reply audio stream begins (a turn may carry several, e.g. one per sentence). */
  replyAudioStart: [{ turnId: TurnId; format: ReplyFormat }];
  /** Encoded reply audio, in the format of the latest `replyAudioStart` for the turn. */
  replyAudio: [{ turnId: TurnId; data: Buffer }];
  /** The current reply audio stream is complete. */
  replyAudioEnd: [{ turnId: TurnId }];
  /** The whole reply to a turn is complete. */
  replyEnd: [{ turnId: TurnId; prompt: PromptValue }];
  /** Skill payload (`response` action), passed on to control-socket listeners. */
  response: [{ turnId: TurnId; data: unknown }];
  /** The backend reported an error for a turn (or for none). */
  turnError: [{ turnId: TurnId; message: string; detail?: unknown }];
  /** Backend-initiated barge-in (Soca): stop playback of everything older. */
  barge: [{ turnId: TurnId }];
  /**
   * A timer kept by the backend finished (Home Assistant's timers): the speaker rings until
   * stopped, for at most `maxRingMs`. `name` is the timer's name ('' when it has none).
   */
  timerFinished: [{ name: string; maxRingMs: number }];
  /** The timers running at the backend changed (started, updated, cancelled or finished). */
  timers: [{ running: BackendTimer[] }];
};

/** A timer kept by the backend, as it last reported it. */
export interface BackendTimer {
  id: string;
  name: string;
  totalSeconds: number;
  /** Seconds left when the backend last reported it. */
  secondsLeft: number;
}

export interface TurnOptions {
  /** Speech-to-text option overrides for this turn (gateway `audio_start.options.stt`). */
  stt?: Record<string, unknown>;
  /** True for a follow-up turn opened without a wake word. */
  followUp?: boolean;
}

/**
 * The conversation backend: the audio gateway, or a direct speech service.
 * Methods that send throw `DisconnectedError` when not connected; the session checks
 * `connected` first and refuses triggers with a clear signal. `sendAudio`, `endTurn` and
 * `cancelTurn` of a turn that is not open (never begun, ended, or lost with the connection)
 * do nothing.
 */
export interface Backend extends TypedEmitter<BackendEvents> {
  /** Short name for logs and status: `gateway`, `soca`, `pipeline`. */
  readonly name: string;
  readonly connected: boolean;
  /** Starts connecting (and reconnecting) in the background. Resolves at once. Idempotent. */
  start(): Promise<void>;
  /** Closes the connection and stops reconnecting. Idempotent. */
  stop(): Promise<void>;
  /** Opens a turn (gateway: `audio_start`). */
  beginTurn(turnId: string, options?: TurnOptions): void;
  /** Streams 16 kHz mono PCM for an open turn (gateway: `audio_data`). */
  sendAudio(turnId: string, pcm: Int16Array): void;
  /** The user finished speaking (gateway: `audio_end`). */
  endTurn(turnId: string): void;
  /** The turn is abandoned (barge-in, stop, no speech): the backend should stop working on it. */
  cancelTurn(turnId: string): void;
  /** A typed request instead of speech (gateway: `text`). */
  sendText(turnId: string, text: string): void;
  /**
   * Mic audio (16 kHz mono PCM) while no turn is open, for a backend that listens beyond turns
   * (soca with `streamWhileSpeaking`: so the service hears a barge-in while its answer plays).
   * Optional; the backend decides whether to forward it. Never throws.
   */
  ambientAudio?(pcm: Int16Array): void;
}
