/** What the local gateway answers with for one request; tests script it with a `plan` function. */

/**
 * When replies ask for a follow-up (prompt=true): `skills` when a skill asks a question (the
 * default); `never`, `always` and `alternate` (every other request) override that, for tests.
 */
export type FollowUpMode = 'skills' | 'never' | 'always' | 'alternate';

/** What the gateway does with one request. */
export interface TurnPlan {
  /** Reply text (spoken too unless `audio` is false). */
  text?: string;
  /** Send reply audio (default true). */
  audio?: boolean;
  /** `prompt` on `audio_end`. */
  prompt?: boolean | Record<string, unknown>;
  /** Skill payload sent first, as a `response` message (e.g. a volume command). */
  data?: unknown;
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
  /** For typed requests, the text; for speech, the recognised words (empty when none were understood). */
  transcript: string;
  /** Speech heard (energy end-pointing), ms; 0 for typed requests. */
  speechMs: number;
  typed: boolean;
  /** True when the gateway has a recogniser (so an empty transcript means nothing was understood). */
  recognized: boolean;
  /** The recogniser heard speech that is none of its sentences. */
  rejected: boolean;
  /** The recogniser's confidence, 0-1, when it gave one. */
  confidence?: number;
}
