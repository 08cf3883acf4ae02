/**
 * The pure transition function of the conversation: `transition(state, event, env) -> { state,
 * effects }`. Every decision of a turn is made here, with its building blocks in phases.ts and
 * held.ts, and nowhere else: when listening starts and ends, which reply audio plays, when a
 * timer is (re)armed, which cue sounds, what is refused.
 * Every timer carries the turn it belongs to, and a timeout only acts when the phase and turn
 * still match, so a late timer can never disturb a newer turn.
 */
import type { TurnId } from '../ports/backend.js';
import {
  acceptsReplyAudio,
  backendLabel,
  currentTurn,
  isStale,
  type Effect,
  type Env,
  type Event,
  type Phase,
  type Result,
  type State,
} from './state.js';
import { completeHeld, dropHeld, heldAudio, heldReply, hold, playNextHeld } from './held.js';
import { ringDue, startRinging, timerFinished, whileRinging } from './ring.js';
import {
  PLAYHEAD_GRACE_MS,
  abandon,
  afterReply,
  dropTurn,
  fail,
  finishListening,
  idle,
  matches,
  mergePrompt,
  replyActivity,
  replyBegins,
  startListening,
  unchanged,
  withStale,
} from './phases.js';

export { PLAYHEAD_GRACE_MS } from './phases.js';

/**
 * True when reply audio for `id` is someone else's: an unsolicited reply arriving while the
 * user's own turn is under way or another reply plays. It is held and played afterwards.
 */
function isForeign(state: State, id: TurnId): id is string {
  const p = state.phase;
  if (id === null || isStale(state, id)) return false;
  // While a timer rings, every reply waits for the ring to stop.
  if (p.kind === 'ringing') return true;
  if (p.kind === 'listening' || p.kind === 'thinking') return id !== p.turnId;
  return p.kind === 'speaking' && id !== p.turnId;
}

export function transition(state: State, event: Event, env: Env): Result {
  let r = step(state, event, env);
  if (ringDue(r.state)) {
    // A timer finished during the conversation, which is over now: it rings (before any held
    // reply, and instead of a follow-up).
    const cleared = abandon(r.state);
    const ring = startRinging(cleared.state, env);
    // Timers the step armed (a settle delay) belong to what the ring replaces.
    const kept = r.effects.filter((e) => e.type !== 'setTimer');
    r = { state: ring.state, effects: [...kept, ...cleared.effects, ...ring.effects] };
  } else if (r.state.phase.kind === 'idle' && state.phase.kind !== 'idle') {
    // The speaker became free: a held unsolicited reply plays now.
    const next = playNextHeld(r.state);
    if (next) r = { state: next.state, effects: [...r.effects, ...next.effects] };
  }
  // A cue never plays over our own reply, nor over a ring.
  const busy = r.state.phase.kind === 'speaking' || r.state.phase.kind === 'ringing';
  if (busy && r.effects.some((e) => e.type === 'earcon')) {
    return { state: r.state, effects: r.effects.filter((e) => e.type !== 'earcon') };
  }
  return r;
}

function step(state: State, event: Event, env: Env): Result {
  const p = state.phase;
  if (p.kind === 'ringing') {
    const r = whileRinging(state, p, event);
    if (r) return r;
  }
  switch (event.type) {
    case 'trigger': {
      if (!state.connected) return { state, effects: [{ type: 'refused', reason: 'disconnected' }] };
      if (state.muted) return { state, effects: [{ type: 'refused', reason: 'muted' }] };
      if (p.kind === 'listening') {
        // A button press while listening means "I'm done"; wake word and control are no-ops.
        if (event.source === 'button' && !p.ptt) return finishListening(state, p.turnId);
        return unchanged(state);
      }
      const cleared = abandon(state);
      const next = startListening(cleared.state, env, { followUp: false, ptt: !!event.ptt });
      return { state: next.state, effects: [...cleared.effects, ...next.effects] };
    }

    case 'release':
      if (p.kind === 'listening' && p.ptt) return finishListening(state, p.turnId);
      return unchanged(state);

    case 'say': {
      if (!state.connected) return { state, effects: [{ type: 'refused', reason: 'disconnected' }] };
      const cleared = abandon(state);
      const turnId = env.newId();
      return {
        state: { ...cleared.state, phase: { kind: 'thinking', turnId, prompt: false } },
        effects: [...cleared.effects, { type: 'sendText', turnId, text: event.text }, { type: 'setTimer', timer: 'thinking', turnId }],
      };
    }

    case 'speechStart':
      if (p.kind === 'listening' && !p.speech) return { state: { ...state, phase: { ...p, speech: true } }, effects: [] };
      return unchanged(state);

    case 'speechEnd':
      if (env.endOnSilence === false) return unchanged(state);
      if (p.kind === 'listening' && p.speech && !p.ptt) return finishListening(state, p.turnId);
      return unchanged(state);

    case 'transcript':
      if (event.final && p.kind === 'listening' && matches(p, event.turnId)) return finishListening(state, p.turnId);
      return unchanged(state);

    case 'replyText': {
      if (isStale(state, event.turnId)) return unchanged(state);
      if (p.kind === 'listening' && matches(p, event.turnId)) {
        // The backend answered before listening ended locally: stop listening now.
        const r = finishListening(state, p.turnId);
        const t = r.state.phase as Extract<Phase, { kind: 'thinking' }>;
        return { state: { ...r.state, phase: { ...t, prompt: mergePrompt(t.prompt, event.prompt) } }, effects: r.effects };
      }
      if ((p.kind === 'thinking' || p.kind === 'speaking') && matches(p, event.turnId)) {
        return { state: { ...state, phase: { ...p, prompt: mergePrompt(p.prompt, event.prompt) } }, effects: [] };
      }
      return unchanged(state);
    }

    case 'replyAudioStart': {
      if (isForeign(state, event.turnId)) {
        const h = hold(state, event.turnId);
        return { state: h.state, effects: [...h.effects, { type: 'holdAudio', turnId: event.turnId, part: { begin: event.format ?? { codec: 'unknown' } } }] };
      }
      const r = replyBegins(state, event.turnId);
      if (!acceptsReplyAudio(r.state, event.turnId)) return r;
      return { state: r.state, effects: [...r.effects, { type: 'beginStream', format: event.format ?? { codec: 'unknown' } }, replyActivity(event.turnId)] };
    }

    case 'replyAudio': {
      const id = event.turnId;
      const play: Effect[] = [{ type: 'playAudio', turnId: id, data: event.data }, replyActivity(id)];
      if (acceptsReplyAudio(state, id)) return { state, effects: play };
      if (id !== null && heldReply(state, id)) return { state: heldAudio(state, id), effects: [{ type: 'holdAudio', turnId: id, part: { data: event.data } }] };
      // Audio that no `audio_start` announced (binary frames): an unsolicited reply while idle.
      if (p.kind !== 'idle' && p.kind !== 'settling') return unchanged(state);
      const r = replyBegins(state, id);
      if (!acceptsReplyAudio(r.state, id)) return r;
      return { state: r.state, effects: [...r.effects, ...play] };
    }

    case 'replyAudioEnd':
      if (acceptsReplyAudio(state, event.turnId)) return { state, effects: [{ type: 'endStream' }] };
      if (event.turnId !== null && heldReply(state, event.turnId)) return { state, effects: [{ type: 'holdAudio', turnId: event.turnId, part: { end: true } }] };
      return unchanged(state);

    case 'replyEnd': {
      const id = event.turnId;
      if (isStale(state, id)) return unchanged(state);
      if (id !== null && heldReply(state, id)) return { state: completeHeld(state, id, event.prompt), effects: [] };
      if (p.kind === 'listening' && matches(p, id)) {
        // The whole (text-only) reply came before listening ended locally.
        const after = afterReply(state, p.turnId, event.prompt);
        return { state: after.state, effects: [{ type: 'endTurn', turnId: p.turnId }, ...after.effects] };
      }
      if (p.kind === 'thinking' && matches(p, id)) return afterReply(state, p.turnId, mergePrompt(p.prompt, event.prompt));
      if (p.kind === 'speaking' && (id === p.turnId || id === null)) {
        return {
          state: { ...state, phase: { ...p, replyDone: true, prompt: mergePrompt(p.prompt, event.prompt) } },
          effects: [{ type: 'finishPlayback' }],
        };
      }
      return unchanged(state);
    }

    case 'drained':
      // Only the reply's own end moves the turn on; an earcon ending means nothing here.
      if (event.stream === 'reply' && p.kind === 'speaking' && p.replyDone) return afterReply(state, p.turnId, p.prompt);
      return unchanged(state);

    case 'backendError': {
      const effects = fail('backend', event.message);
      if ((p.kind === 'listening' || p.kind === 'thinking') && matches(p, event.turnId)) return dropTurn(state, p.turnId, ...effects);
      return { state, effects };
    }

    case 'barge':
      if (p.kind === 'speaking') {
        // The user spoke over the speaker: what was held back is not wanted either.
        const d = dropHeld(state);
        return { state: { ...d.state, phase: idle, stale: withStale(state, p.turnId) }, effects: [{ type: 'clearTimers' }, { type: 'stopPlayback' }, ...d.effects] };
      }
      return unchanged(state);

    case 'timeout':
      return timeout(state, event, env);

    case 'connected':
      return { state: { ...state, connected: true }, effects: [] };

    case 'disconnected': {
      // A held reply that had not all arrived never will.
      const d = dropHeld(state, (h) => h.complete);
      if (d.effects.length > 0) {
        const r = step(d.state, event, env);
        return { state: r.state, effects: [...d.effects, ...r.effects] };
      }
      const next: State = { ...state, connected: false };
      const lost: Effect[] = state.connected ? [{ type: 'earcon', name: 'disconnected' }] : [];
      const msg = `${env.backend ?? 'gateway'} disconnected: ${event.reason}`;
      switch (p.kind) {
        case 'listening':
        case 'thinking':
          return dropTurn(next, p.turnId, ...fail('disconnected', msg), ...lost);
        case 'speaking':
          // Play what has arrived; nothing more will come on this connection.
          if (p.replyDone) return { state: { ...next, phase: { ...p, prompt: false } }, effects: lost };
          return { state: { ...next, phase: { ...p, replyDone: true, prompt: false } }, effects: [{ type: 'finishPlayback' }, ...lost] };
        case 'settling':
          return { state: { ...next, phase: idle }, effects: [{ type: 'clearTimers' }, ...lost] };
        case 'idle':
        case 'ringing':
          // A ring goes on: the timer has finished whatever happens to the connection.
          return { state: next, effects: lost };
      }
      return { state: next, effects: lost };
    }

    case 'mute':
    case 'unmute':
    case 'toggleMute': {
      const muted = event.type === 'toggleMute' ? !state.muted : event.type === 'mute';
      if (muted === state.muted) return unchanged(state);
      if (!muted) return { state: { ...state, muted }, effects: [] };
      // Muting the mic ends any listening at once; a reply that is playing goes on.
      if (p.kind === 'listening') return dropTurn({ ...state, muted }, p.turnId);
      if (p.kind === 'settling') return { state: { ...state, muted, phase: idle }, effects: [{ type: 'clearTimers' }] };
      if (p.kind === 'speaking') return { state: { ...state, muted, phase: { ...p, prompt: false } }, effects: [] };
      return { state: { ...state, muted }, effects: [] };
    }

    case 'stop': {
      if (p.kind === 'idle') return unchanged(state);
      // Stop means silence: held replies go too.
      const d = dropHeld(state);
      const r = abandon(d.state);
      return { state: r.state, effects: [...r.effects, ...d.effects, { type: 'silenceCues' }, { type: 'notice', code: 'stopped', message: 'stopped' }] };
    }

    case 'timerFinished':
      return timerFinished(state, event, env);

    case 'timersRunning': {
      const count = Math.max(0, Math.floor(event.count));
      if ((state.timers ?? 0) === count) return unchanged(state);
      const { timers: _old, ...rest } = state;
      return { state: count > 0 ? { ...rest, timers: count } : rest, effects: [] };
    }

    case 'shutdown':
      // The agent is going away: the phase is left as it is, but no timer may fire and an open
      // utterance is closed properly.
      if (p.kind === 'listening') return { state, effects: [{ type: 'clearTimers' }, { type: 'endTurn', turnId: p.turnId }] };
      return { state, effects: [{ type: 'clearTimers' }] };
  }
}

function timeout(state: State, event: Extract<Event, { type: 'timeout' }>, env: Env): Result {
  const { timer, turnId } = event;
  const p = state.phase;
  if (currentTurn(p) !== turnId && !(p.kind === 'speaking' && p.turnId === turnId)) return unchanged(state);
  switch (timer) {
    case 'noSpeech':
    case 'expectSpeech':
      if (p.kind !== 'listening' || p.speech) return unchanged(state);
      return dropTurn(state, p.turnId, {
        type: 'notice',
        code: 'no-speech',
        message: p.followUp ? 'no answer heard; back to waiting for the wake word' : 'no speech heard',
      });
    case 'maxUtterance':
      if (p.kind !== 'listening') return unchanged(state);
      return finishListening(state, p.turnId);
    case 'thinking':
      if (p.kind !== 'thinking') return unchanged(state);
      return dropTurn(state, p.turnId, ...fail('thinking-timeout', `no reply from ${backendLabel(env.backend)} in time`));
    case 'reply':
      if (p.kind !== 'speaking') return unchanged(state);
      if ((event.queuedMs ?? 0) > 0) {
        // Audio is still queued to play (a reply faster than real time): the timer follows the
        // playhead, not the arrival of the last chunk.
        return { state, effects: [{ type: 'setTimer', timer: 'reply', turnId: p.turnId, ms: event.queuedMs! + PLAYHEAD_GRACE_MS }] };
      }
      if (!p.replyDone) {
        // The reply stalled: play what arrived, then stop waiting for the rest.
        return {
          state: { ...state, phase: { ...p, replyDone: true, prompt: false }, stale: withStale(state, p.turnId) },
          effects: [{ type: 'finishPlayback' }, { type: 'setTimer', timer: 'reply', turnId: p.turnId }, ...fail('reply-timeout', 'the reply stopped arriving')],
        };
      }
      // Playback never drained: the output is stuck; give up on it.
      return { state: { ...state, phase: idle }, effects: [{ type: 'clearTimers' }, { type: 'stopPlayback' }, ...fail('playback-timeout', 'playback did not finish')] };
    case 'ring':
    case 'ringPause':
      // Acted on while ringing (ring.ts); a late one after the ring stopped means nothing.
      return unchanged(state);
    case 'settle': {
      if (p.kind !== 'settling') return unchanged(state);
      const stt = typeof p.prompt === 'object' ? p.prompt : undefined;
      return startListening({ ...state, stale: withStale(state, p.turnId) }, env, { followUp: true, ptt: false, ...(stt ? { stt } : {}) });
    }
  }
}
