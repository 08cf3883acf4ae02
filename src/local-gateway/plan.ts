/** What the local gateway answers: the per-request plan, and the default one (it says what it heard). */

export type FollowUpMode = 'never' | 'always' | 'alternate';

/** What the gateway does with one request; tests script it per turn. */
export interface TurnPlan {
  /** Reply text (spoken too unless `audio` is false). */
  text?: string;
  /** Send reply audio (default true). */
  audio?: boolean;
  /** `prompt` on `audio_end`. */
  prompt?: boolean | Record<string, unknown>;
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
  /** For typed requests, the text; for speech, the recognised or the stand-in transcript. */
  transcript: string;
  /** Speech heard (energy end-pointing), ms; 0 for typed requests. */
  speechMs: number;
  typed: boolean;
  /** True when `transcript` is a real recognition by the STT service (not the stand-in). */
  recognized: boolean;
}

/**
 * The default answer: what was heard (typed text, the recognised words, or for the stand-in the
 * seconds of speech), and whether to ask for a follow-up (`alternate`: every other request).
 */
export function defaultPlan(u: Utterance, followUp: FollowUpMode): TurnPlan {
  const prompt = followUp === 'always' || (followUp === 'alternate' && u.index % 2 === 0);
  let heard: string;
  if (u.typed) heard = `You typed: ${u.transcript}.`;
  else if (u.recognized) heard = u.transcript.trim() ? `You said: "${u.transcript.trim()}".` : 'I did not catch any words.';
  else heard = `I heard ${(u.speechMs / 1000).toFixed(1)} seconds of speech.`;
  return { text: `${heard} This is the local test gateway.${prompt ? ' Anything else?' : ' Goodbye.'}`, prompt };
}
