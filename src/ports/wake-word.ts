import type { TypedEmitter } from '../util/typed-emitter.js';

export interface WakeStatus {
  /** True when detections can happen. */
  available: boolean;
  /** Why the wake word is unavailable (actionable), when it is not. */
  reason?: string;
  /** Keywords being listened for. */
  keywords: string[];
  /** The engine behind the port (`openwakeword`, ...), when it reports one. */
  engine?: string;
  /** Something the user must know while this engine is active (e.g. the models' licence). */
  notice?: string;
}

export type WakeWordEvents = {
  /**
   * A keyword was heard. `sampleIndex` is the input sample at which the detection happened;
   * `score` (0-1) is the engine's confidence, for engines that have one.
   */
  detected: [{ keyword: string; sampleIndex: number; score?: number }];
  /** Availability changed (e.g. activation failed, retry succeeded). */
  status: [WakeStatus];
};

/**
 * Wake-word port. Fed from the one shared capture stream; it re-chunks to its engine's own
 * frame length internally.
 */
export interface WakeWord extends TypedEmitter<WakeWordEvents> {
  /** Builds the engine. Idempotent. An engine that cannot run says why in `status()`. */
  start(): Promise<void>;
  /** Releases the engine; nothing is detected after it. Idempotent; safe before start. */
  stop(): Promise<void>;
  /** Feeds 16 kHz mono PCM. Cheap: must not allocate per call on the hot path. */
  feed(pcm: Int16Array, sampleIndex: number): void;
  /**
   * Self-trigger guard: `guarded` while the device speaks and for the settle delay after;
   * the adapter then ignores or desensitises detections per its config.
   */
  setGuard(guarded: boolean): void;
  status(): WakeStatus;
  /**
   * The keywords `setKeyword` accepts, and the active ones. Optional: an engine without it
   * listens for its configured keywords only (`status().keywords`) and cannot switch.
   */
  keywordChoices?(): KeywordChoices;
  /**
   * Listens for `id` (one of `keywordChoices().available`) instead of the active keyword, at
   * run time, without a restart. Resolves once it listens for it (or at once when not started:
   * it listens for it from `start()`); rejects with the reason, keeping the keyword it had,
   * when the keyword is unknown or its model cannot load. Optional, with `keywordChoices`.
   */
  setKeyword?(id: string): Promise<void>;
}

export interface KeywordChoices {
  /** Every keyword the engine can detect here: its id (`hey_jarvis`) and its spoken label (`hey jarvis`). */
  available: { id: string; label: string }[];
  /** Ids of the keywords listened for now. */
  active: string[];
  /** How many keywords can be active at once. */
  maxActive: number;
}
