/**
 * The timer ring, as building blocks of the transition function (transition.ts): when a
 * finished timer starts ringing, what every event does while it rings, and how it stops.
 * Pure functions over `State`, like phases.ts.
 *
 * The rules, after ESPHome's voice satellites (Home Assistant Voice PE: a wake word or a press
 * while a timer rings turns the ring off and starts nothing):
 * - A timer that finishes while idle rings at once. One that finishes during a conversation
 *   waits for it (`State.ring`) and rings when the conversation is over; a follow-up that would
 *   have opened is not opened.
 * - The ring plays, pauses `RING_PAUSE_MS` after the sound has drained, plays again, until the
 *   button, the wake word, `listen`/`stop` from the control socket or MQTT, or the longest ring
 *   time stops it. Stopping goes back to idle and opens no turn; mute and connection do not matter.
 * - A timer finishing while one rings joins it, and the longest ring time starts again.
 * - Replies and announcements that arrive while it rings are held (as during any conversation)
 *   and play once the ring has stopped. A typed `say` stops the ring and is sent.
 */
import type { Effect, Env, Event, Phase, Result, State } from './state.js';
import { idle, unchanged } from './phases.js';

type Ringing = Extract<Phase, { kind: 'ringing' }>;

/** A timer finished: ring now if the speaker is free, else once the conversation is over. */
export function timerFinished(state: State, event: Extract<Event, { type: 'timerFinished' }>, env: Env): Result {
  const p = state.phase;
  const name = event.name || 'timer';
  if (p.kind === 'ringing') {
    return {
      state: { ...state, phase: { ...p, timers: [...p.timers, name] } },
      effects: [{ type: 'setTimer', timer: 'ring', turnId: p.turnId, ms: event.maxRingMs }],
    };
  }
  const next: State = { ...state, ring: { timers: [...(state.ring?.timers ?? []), name], maxRingMs: event.maxRingMs } };
  if (p.kind === 'idle') return startRinging(next, env);
  return unchanged(next);
}

/** True when a pending ring should start now: the conversation is over (idle or settling). */
export function ringDue(state: State): boolean {
  return state.ring !== undefined && (state.phase.kind === 'idle' || state.phase.kind === 'settling');
}

/** Starts the pending ring (`state.ring`); the phase must be free (idle). */
export function startRinging(state: State, env: Env): Result {
  const pending = state.ring;
  if (!pending) return unchanged(state);
  const { ring: _done, ...rest } = state;
  const turnId = `ring-${env.newId()}`;
  return {
    state: { ...rest, phase: { kind: 'ringing', turnId, timers: pending.timers } },
    effects: [{ type: 'clearTimers' }, { type: 'ring' }, { type: 'setTimer', timer: 'ring', turnId, ms: pending.maxRingMs }],
  };
}

/** The ring stops; `why` says by what, for the notice. Opens no turn. */
export function stopRinging(state: State, p: Ringing, why: 'button' | 'wake' | 'control' | 'timeout'): Result {
  const names = p.timers.join(', ');
  const notice: Effect =
    why === 'timeout'
      ? { type: 'notice', code: 'ring-ended', message: `the ${names} timer rang for the longest ring time and was stopped` }
      : { type: 'notice', code: 'ring-stopped', message: `the ${names} timer was stopped (${why === 'wake' ? 'wake word' : why})` };
  return { state: { ...state, phase: idle }, effects: [{ type: 'clearTimers' }, { type: 'stopRing' }, notice] };
}

/**
 * What an event does while the ring sounds; undefined when the ordinary rules of transition.ts
 * apply (they know the ringing phase: replies are held, `say` and `stop` abandon it).
 */
export function whileRinging(state: State, p: Ringing, event: Event): Result | undefined {
  switch (event.type) {
    case 'trigger':
      // The press or the wake word means "stop the ring", even when muted or disconnected.
      return stopRinging(state, p, event.source);
    case 'release':
    case 'speechStart':
    case 'speechEnd':
    case 'transcript':
      return unchanged(state);
    case 'drained':
      if (event.stream !== 'ring') return unchanged(state);
      return { state, effects: [{ type: 'setTimer', timer: 'ringPause', turnId: p.turnId }] };
    case 'timeout':
      if (event.turnId !== p.turnId) return unchanged(state);
      if (event.timer === 'ringPause') return { state, effects: [{ type: 'ring' }] };
      if (event.timer === 'ring') return stopRinging(state, p, 'timeout');
      return unchanged(state);
    case 'shutdown':
      return { state, effects: [{ type: 'clearTimers' }, { type: 'stopRing' }] };
    default:
      return undefined;
  }
}
