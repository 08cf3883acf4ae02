/**
 * The local gateway's skills: each a small module that declares the sentences it understands
 * (phrase templates, ../../speech/phrases.ts: the recogniser's grammar is made from them) and
 * answers the ones that are its own. Skills answer normalised text, so typed requests and a
 * cloud recogniser's transcripts reach them as well.
 */
import type { GrammarSpec } from '../../speech/phrases.js';

export interface SkillContext {
  now(): Date;
  /**
   * Says `text` to this device later, unsolicited (an action that completed, a timer that went
   * off): after `delayMs`, and never over a turn in progress or a reply still playing.
   */
  announce(text: string, delayMs: number): { cancel(): void };
}

/** A question the skill asked; the next utterance is tried as its answer first. */
export interface FollowUp {
  /** Name of one of the skill's `followUps` grammars: what the answer may sound like. */
  grammar: string;
  /** The answer's reply, or undefined when `text` is not an answer (then it is a new request). */
  answer(text: string, ctx: SkillContext): SkillReply | undefined;
}

export interface SkillReply {
  /** Spoken (and sent as `text`). */
  text: string;
  /** The skill asks back: the reply carries prompt=true and the answer goes to `expect`. */
  expect?: FollowUp;
  /** Skill payload for a `response` message sent before the reply (e.g. a command for the device). */
  data?: unknown;
}

export interface GatewaySkill {
  readonly name: string;
  /** The sentences that start a request for this skill. */
  readonly grammar: GrammarSpec;
  /** What the answers to its questions sound like, by name (the grammar merges every skill's sentences in). */
  readonly followUps?: Record<string, GrammarSpec>;
  /** What to tell a user who was not understood ("ask me the time"). */
  readonly help: string;
  /** The reply to `text` (normalised words) when it is this skill's request, else undefined. */
  handle(text: string, ctx: SkillContext): SkillReply | undefined;
  /** Cancels pending work (timers). */
  close?(): void;
}
