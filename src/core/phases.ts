/**
 * The building blocks of the transition function (transition.ts): how a turn starts, ends, is
 * abandoned or dropped, and how reply audio leads into speaking. Pure functions over `State`.
 */
import type { PromptValue, TurnId } from '../ports/backend.js';
import { currentTurn, isStale, type Effect, type Env, type ErrorCode, type Phase, type Result, type State } from './state.js';

export const STALE_KEEP = 32;
export const idle: Phase = { kind: 'idle' };

/** An id "matches" the current turn when equal, or when the backend named no turn. */
export function matches(phase: Phase, turnId: TurnId): boolean {
  const cur = currentTurn(phase);
  return cur !== null && (turnId === null || turnId === cur);
}

export function withStale(state: State, turnId: TurnId): string[] {
  if (turnId === null || state.stale.includes(turnId)) return state.stale;
  const next = [...state.stale, turnId];
  return next.length > STALE_KEEP ? next.slice(next.length - STALE_KEEP) : next;
}

export function mergePrompt(a: PromptValue, b: PromptValue | undefined): PromptValue {
  if (b === undefined || b === false) return a;
  return b;
}

export function unchanged(state: State): Result {
  return { state, effects: [] };
}

/**
 * The one way a turn is abandoned: back to idle with the turn marked stale (its late replies are
 * dropped), its timers cleared and the backend told; `more` effects follow.
 */
export function dropTurn(state: State, turnId: string, ...more: Effect[]): Result {
  return {
    state: { ...state, phase: idle, stale: withStale(state, turnId) },
    effects: [{ type: 'clearTimers' }, { type: 'cancelTurn', turnId }, ...more],
  };
}

/** An error the user sees, with its cue (a lost connection has its own cue). */
export function fail(code: ErrorCode, message: string): Effect[] {
  const effects: Effect[] = [{ type: 'error', code, message }];
  if (code !== 'disconnected') effects.push({ type: 'earcon', name: 'error' });
  return effects;
}


/** Ends whatever the current phase is doing so a new turn can start (barge-in). */
export function abandon(state: State): Result {
  const p = state.phase;
  switch (p.kind) {
    case 'idle':
      return { state, effects: [{ type: 'clearTimers' }] };
    case 'listening':
    case 'thinking':
      return dropTurn(state, p.turnId);
    case 'speaking': {
      const effects: Effect[] = [{ type: 'clearTimers' }, { type: 'stopPlayback' }];
      if (p.turnId !== null && !p.replyDone) effects.push({ type: 'cancelTurn', turnId: p.turnId });
      return { state: { ...state, phase: idle, stale: withStale(state, p.turnId) }, effects };
    }
    case 'settling':
      return { state: { ...state, phase: idle, stale: withStale(state, p.turnId) }, effects: [{ type: 'clearTimers' }] };
    case 'ringing':
      return { state: { ...state, phase: idle }, effects: [{ type: 'clearTimers' }, { type: 'stopRing' }] };
  }
}

export function startListening(state: State, env: Env, opts: { followUp: boolean; ptt: boolean; stt?: Record<string, unknown> }): Result {
  const turnId = env.newId();
  const effects: Effect[] = [
    { type: 'clearTimers' },
    { type: 'openTurn', turnId, followUp: opts.followUp, ...(opts.stt ? { stt: opts.stt } : {}) },
    { type: 'setTimer', timer: 'maxUtterance', turnId },
  ];
  if (!opts.ptt) effects.push({ type: 'setTimer', timer: opts.followUp ? 'expectSpeech' : 'noSpeech', turnId });
  return {
    state: { ...state, phase: { kind: 'listening', turnId, followUp: opts.followUp, ptt: opts.ptt, speech: false } },
    effects,
  };
}

/** Listening ends normally: the utterance goes to the backend and we wait for the reply. */
export function finishListening(state: State, turnId: string): Result {
  return {
    state: { ...state, phase: { kind: 'thinking', turnId, prompt: false } },
    effects: [
      { type: 'clearTimers' },
      { type: 'endTurn', turnId },
      { type: 'earcon', name: 'done' },
      { type: 'setTimer', timer: 'thinking', turnId },
    ],
  };
}

/**
 * After a reply: a follow-up (after the settle delay) or idle. A finished turn is done: its
 * reply sent again later is dropped, never played as an announcement.
 */
export function afterReply(state: State, turnId: TurnId, prompt: PromptValue): Result {
  if (prompt !== false && state.connected && !state.muted) {
    return {
      state: { ...state, phase: { kind: 'settling', turnId, prompt } },
      effects: [{ type: 'clearTimers' }, { type: 'setTimer', timer: 'settle', turnId }],
    };
  }
  return { state: { ...state, phase: idle, stale: withStale(state, turnId) }, effects: [{ type: 'clearTimers' }] };
}

/** Slack after the playhead's end before a reply timer acts: the output drains its last period. */
export const PLAYHEAD_GRACE_MS = 1000;

/** Reply audio begins for `id`: the phase it leads to (the audio itself is routed by the caller). */
export function replyBegins(state: State, id: TurnId): Result {
  const p = state.phase;
  if (isStale(state, id)) return unchanged(state);
  const speaking = (turnId: TurnId, prompt: PromptValue): Result => ({
    state: { ...state, phase: { kind: 'speaking', turnId, replyDone: false, prompt } },
    effects: [{ type: 'clearTimers' }, { type: 'setTimer', timer: 'reply', turnId }],
  });
  switch (p.kind) {
    case 'idle':
      // Unsolicited reply (e.g. "the blinds are now open"): play it.
      return speaking(id, false);
    case 'settling':
      return speaking(id, id === p.turnId ? p.prompt : false);
    case 'listening': {
      if (!matches(p, id)) return unchanged(state);
      const r = speaking(p.turnId, false);
      return { state: r.state, effects: [{ type: 'clearTimers' }, { type: 'endTurn', turnId: p.turnId }, { type: 'setTimer', timer: 'reply', turnId: p.turnId }] };
    }
    case 'thinking':
      if (!matches(p, id)) return unchanged(state);
      return speaking(p.turnId, p.prompt);
    case 'speaking':
    case 'ringing':
      return unchanged(state);
  }
}

/** The reply timer is an inactivity timer: every accepted piece of reply audio re-arms it. */
export const replyActivity = (turnId: TurnId): Effect => ({ type: 'setTimer', timer: 'reply', turnId });
