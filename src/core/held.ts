/**
 * Unsolicited replies held back: a reply that arrives for another transaction while the user's
 * own turn is under way (or another reply plays) is kept and played once the speaker is free,
 * as the gateway's unsolicited flow expects (docs/protocol.md). Pure helpers over `State`.
 */
import type { PromptValue, TurnId } from '../ports/backend.js';
import type { Effect, HeldReply, State } from './state.js';

/** How many held replies are kept; the oldest is dropped beyond this. */
export const HELD_KEEP = 4;

export function heldReply(state: State, turnId: TurnId): HeldReply | undefined {
  return turnId === null ? undefined : state.held?.find((h) => h.turnId === turnId);
}

function withHeld(state: State, held: HeldReply[]): State {
  const { held: _old, ...rest } = state;
  return held.length > 0 ? { ...rest, held } : rest;
}

/** Starts holding `turnId`'s reply; returns the state and the effects (an eviction, if any). */
export function hold(state: State, turnId: string): { state: State; effects: Effect[] } {
  if (heldReply(state, turnId)) return { state, effects: [] };
  const held = [...(state.held ?? []), { turnId, complete: false, prompt: false as PromptValue }];
  const dropped = held.length > HELD_KEEP ? held.splice(0, held.length - HELD_KEEP) : [];
  return { state: withHeld(state, held), effects: dropped.map((d) => ({ type: 'dropHeld', turnId: d.turnId }) as const) };
}

/** Some of the held reply's audio has arrived. */
export function heldAudio(state: State, turnId: string): State {
  const h = heldReply(state, turnId);
  if (!h || h.audio) return state;
  return withHeld(state, state.held!.map((x) => (x.turnId === turnId ? { ...x, audio: true } : x)));
}

/** The held reply has all arrived. */
export function completeHeld(state: State, turnId: string, prompt: PromptValue): State {
  return withHeld(
    state,
    (state.held ?? []).map((h) => (h.turnId === turnId ? { ...h, complete: true, prompt } : h)),
  );
}

/** Forgets held replies: all of them, or those `keep` rejects. */
export function dropHeld(state: State, keep: (h: HeldReply) => boolean = () => false): { state: State; effects: Effect[] } {
  const all = state.held ?? [];
  const kept = all.filter(keep);
  if (kept.length === all.length) return { state, effects: [] };
  const effects: Effect[] = all.filter((h) => !kept.includes(h)).map((h) => ({ type: 'dropHeld', turnId: h.turnId }));
  return { state: withHeld(state, kept), effects };
}

/**
 * The speaker is free (the phase became idle): the oldest held reply plays now. A reply that had
 * all arrived is finished at once, so it drains and moves on like any other.
 */
export function playNextHeld(state: State): { state: State; effects: Effect[] } | undefined {
  if (!state.held?.length || state.phase.kind !== 'idle') return undefined;
  // A reply that is still only its announcement (no audio, no end) has nothing to play: waiting
  // for it would hold the speaker in "speaking" with nothing playing.
  const empty = dropHeld(state, (h) => h.complete || h.audio === true);
  const next = empty.state.held?.[0];
  if (!next) return empty.effects.length ? { state: empty.state, effects: empty.effects } : undefined;
  const rest = withHeld(empty.state, empty.state.held!.slice(1));
  const turnId = next.turnId;
  const effects: Effect[] = [...empty.effects, { type: 'clearTimers' }, { type: 'playHeld', turnId }, { type: 'setTimer', timer: 'reply', turnId }];
  if (next.complete) effects.push({ type: 'finishPlayback' });
  return {
    state: { ...rest, phase: { kind: 'speaking', turnId, replyDone: next.complete, prompt: next.complete ? next.prompt : false } },
    effects,
  };
}
