/**
 * The conversation as one state union and a pure transition function:
 * `transition(state, event, env) -> { state, effects }`. No I/O here: the session executes the
 * effects (send, play, start timers). Every timer carries the turn it belongs to, and a timeout
 * only acts when the phase and turn still match, so a late timer can never disturb a newer turn.
 */
import type { PromptValue, TurnId } from '../ports/backend.js';

export type TriggerSource = 'wake' | 'button' | 'control';

export type Phase =
  | { kind: 'idle' }
  | {
      kind: 'listening';
      turnId: string;
      /** Opened without a wake word because the previous reply asked for an answer. */
      followUp: boolean;
      /** Push-to-talk: listening lasts until the button is released. */
      ptt: boolean;
      /** The VAD has heard speech in this turn. */
      speech: boolean;
    }
  | { kind: 'thinking'; turnId: string; prompt: PromptValue }
  | {
      kind: 'speaking';
      /** Turn whose reply is playing; null for an unsolicited reply with no id. */
      turnId: TurnId;
      /** The backend said the whole reply has arrived (`replyEnd`). */
      replyDone: boolean;
      prompt: PromptValue;
    }
  | { kind: 'settling'; turnId: TurnId; prompt: PromptValue };

export interface State {
  phase: Phase;
  connected: boolean;
  muted: boolean;
  /** Turns abandoned by barge-in, stop or timeout: their late replies are dropped. Newest last. */
  stale: string[];
}

export type TimerName = 'noSpeech' | 'expectSpeech' | 'maxUtterance' | 'thinking' | 'reply' | 'settle';

export type Event =
  | { type: 'trigger'; source: TriggerSource; ptt?: boolean }
  | { type: 'release' }
  | { type: 'say'; text: string }
  | { type: 'speechStart' }
  | { type: 'speechEnd' }
  | { type: 'transcript'; turnId: TurnId; final: boolean }
  | { type: 'replyText'; turnId: TurnId; prompt?: PromptValue }
  | { type: 'replyAudioStart'; turnId: TurnId }
  | { type: 'replyEnd'; turnId: TurnId; prompt: PromptValue }
  | { type: 'drained' }
  | { type: 'backendError'; turnId: TurnId; message: string }
  | { type: 'barge'; turnId: TurnId }
  | { type: 'timeout'; timer: TimerName; turnId: TurnId }
  | { type: 'connected' }
  | { type: 'disconnected'; reason: string }
  | { type: 'mute' }
  | { type: 'unmute' }
  | { type: 'toggleMute' }
  | { type: 'stop' };

export type RefuseReason = 'disconnected' | 'muted';

export type Effect =
  /** Open a turn at the backend and start streaming the mic (with pre-roll unless follow-up). */
  | { type: 'openTurn'; turnId: string; followUp: boolean; stt?: Record<string, unknown> }
  /** Send typed text as the request of a turn. */
  | { type: 'sendText'; turnId: string; text: string }
  /** The user finished: stop streaming, tell the backend (gateway `audio_end`). */
  | { type: 'endTurn'; turnId: string }
  /** Abandon the turn: stop streaming, tell the backend; its replies are stale. */
  | { type: 'cancelTurn'; turnId: string }
  /** Cut playback now (barge-in, stop). */
  | { type: 'stopPlayback' }
  /** The whole reply has arrived: let the player end the output so it drains. */
  | { type: 'finishPlayback' }
  | { type: 'setTimer'; timer: TimerName; turnId: TurnId }
  | { type: 'clearTimers' }
  /** Something went wrong that the user should see (LED, earcon, control event). */
  | { type: 'error'; code: string; message: string }
  /** A request was not carried out; say why. */
  | { type: 'refused'; reason: RefuseReason }
  /** Not an error, but worth telling (no speech heard, turn canceled). */
  | { type: 'notice'; code: string; message: string };

export interface Env {
  /** Fresh transaction id for a new turn. */
  newId(): string;
}

export interface Result {
  state: State;
  effects: Effect[];
}

const STALE_KEEP = 32;

export function initialState(): State {
  return { phase: { kind: 'idle' }, connected: false, muted: false, stale: [] };
}

/** The turn id of the current phase, if any. */
export function currentTurn(phase: Phase): TurnId {
  return phase.kind === 'idle' ? null : phase.turnId;
}

export function isStale(state: State, turnId: TurnId): boolean {
  return turnId !== null && state.stale.includes(turnId);
}

/** True when reply audio for `turnId` should go to the speaker now. */
export function acceptsReplyAudio(state: State, turnId: TurnId): boolean {
  return state.phase.kind === 'speaking' && state.phase.turnId === turnId;
}

/** An id "matches" the current turn when equal, or when the backend named no turn. */
function matches(phase: Phase, turnId: TurnId): boolean {
  const cur = currentTurn(phase);
  return cur !== null && (turnId === null || turnId === cur);
}

function withStale(state: State, turnId: TurnId): string[] {
  if (turnId === null || state.stale.includes(turnId)) return state.stale;
  const next = [...state.stale, turnId];
  return next.length > STALE_KEEP ? next.slice(next.length - STALE_KEEP) : next;
}

function mergePrompt(a: PromptValue, b: PromptValue | undefined): PromptValue {
  if (b === undefined || b === false) return a;
  return b;
}

const idle: Phase = { kind: 'idle' };

/** Ends whatever the current phase is doing so a new turn can start (barge-in). */
function abandon(state: State): { state: State; effects: Effect[] } {
  const p = state.phase;
  const effects: Effect[] = [{ type: 'clearTimers' }];
  switch (p.kind) {
    case 'idle':
      return { state, effects };
    case 'listening':
    case 'thinking':
      effects.push({ type: 'cancelTurn', turnId: p.turnId });
      return { state: { ...state, phase: idle, stale: withStale(state, p.turnId) }, effects };
    case 'speaking':
      effects.push({ type: 'stopPlayback' });
      if (p.turnId !== null && !p.replyDone) effects.push({ type: 'cancelTurn', turnId: p.turnId });
      return { state: { ...state, phase: idle, stale: withStale(state, p.turnId) }, effects };
    case 'settling':
      return { state: { ...state, phase: idle }, effects };
  }
}

function startListening(state: State, env: Env, opts: { followUp: boolean; ptt: boolean; stt?: Record<string, unknown> }): Result {
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
function finishListening(state: State, turnId: string): Result {
  return {
    state: { ...state, phase: { kind: 'thinking', turnId, prompt: false } },
    effects: [{ type: 'clearTimers' }, { type: 'endTurn', turnId }, { type: 'setTimer', timer: 'thinking', turnId }],
  };
}

/** After a reply: a follow-up (after the settle delay) or idle. */
function afterReply(state: State, turnId: TurnId, prompt: PromptValue): Result {
  if (prompt !== false && state.connected && !state.muted) {
    return {
      state: { ...state, phase: { kind: 'settling', turnId, prompt } },
      effects: [{ type: 'clearTimers' }, { type: 'setTimer', timer: 'settle', turnId }],
    };
  }
  return { state: { ...state, phase: idle }, effects: [{ type: 'clearTimers' }] };
}

function unchanged(state: State): Result {
  return { state, effects: [] };
}

export function transition(state: State, event: Event, env: Env): Result {
  const p = state.phase;
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
        effects: [
          ...cleared.effects,
          { type: 'sendText', turnId, text: event.text },
          { type: 'setTimer', timer: 'thinking', turnId },
        ],
      };
    }

    case 'speechStart':
      if (p.kind === 'listening' && !p.speech) return { state: { ...state, phase: { ...p, speech: true } }, effects: [] };
      return unchanged(state);

    case 'speechEnd':
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
      const id = event.turnId;
      if (isStale(state, id)) return unchanged(state);
      switch (p.kind) {
        case 'idle':
        case 'settling':
          // Unsolicited reply (e.g. "the blinds are now open"): play it.
          if (p.kind === 'settling' && id === p.turnId) {
            return { state: { ...state, phase: { kind: 'speaking', turnId: id, replyDone: false, prompt: p.prompt } }, effects: [{ type: 'clearTimers' }, { type: 'setTimer', timer: 'reply', turnId: id }] };
          }
          return {
            state: { ...state, phase: { kind: 'speaking', turnId: id, replyDone: false, prompt: false } },
            effects: [{ type: 'clearTimers' }, { type: 'setTimer', timer: 'reply', turnId: id }],
          };
        case 'listening': {
          if (!matches(p, id)) return unchanged(state);
          const r = finishListening(state, p.turnId);
          return {
            state: { ...r.state, phase: { kind: 'speaking', turnId: p.turnId, replyDone: false, prompt: false } },
            effects: [{ type: 'clearTimers' }, { type: 'endTurn', turnId: p.turnId }, { type: 'setTimer', timer: 'reply', turnId: p.turnId }],
          };
        }
        case 'thinking':
          if (!matches(p, id)) return unchanged(state);
          return {
            state: { ...state, phase: { kind: 'speaking', turnId: p.turnId, replyDone: false, prompt: p.prompt } },
            effects: [{ type: 'clearTimers' }, { type: 'setTimer', timer: 'reply', turnId: p.turnId }],
          };
        case 'speaking':
          return unchanged(state);
      }
      return unchanged(state);
    }

    case 'replyEnd': {
      const id = event.turnId;
      if (isStale(state, id)) return unchanged(state);
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
      if (p.kind === 'speaking' && p.replyDone) return afterReply(state, p.turnId, p.prompt);
      return unchanged(state);

    case 'backendError': {
      const effects: Effect[] = [{ type: 'error', code: 'backend', message: event.message }];
      if ((p.kind === 'listening' || p.kind === 'thinking') && matches(p, event.turnId)) {
        return {
          state: { ...state, phase: idle, stale: withStale(state, p.turnId) },
          effects: [{ type: 'clearTimers' }, { type: 'cancelTurn', turnId: p.turnId }, ...effects],
        };
      }
      return { state, effects };
    }

    case 'barge':
      if (p.kind === 'speaking') {
        return { state: { ...state, phase: idle, stale: withStale(state, p.turnId) }, effects: [{ type: 'clearTimers' }, { type: 'stopPlayback' }] };
      }
      return unchanged(state);

    case 'timeout': {
      if (currentTurn(p) !== event.turnId && !(p.kind === 'speaking' && p.turnId === event.turnId)) return unchanged(state);
      switch (event.timer) {
        case 'noSpeech':
        case 'expectSpeech':
          if (p.kind !== 'listening' || p.speech) return unchanged(state);
          return {
            state: { ...state, phase: idle, stale: withStale(state, p.turnId) },
            effects: [
              { type: 'clearTimers' },
              { type: 'cancelTurn', turnId: p.turnId },
              { type: 'notice', code: 'no-speech', message: p.followUp ? 'no answer heard; back to waiting for the wake word' : 'no speech heard' },
            ],
          };
        case 'maxUtterance':
          if (p.kind !== 'listening') return unchanged(state);
          return finishListening(state, p.turnId);
        case 'thinking':
          if (p.kind !== 'thinking') return unchanged(state);
          return {
            state: { ...state, phase: idle, stale: withStale(state, p.turnId) },
            effects: [{ type: 'clearTimers' }, { type: 'cancelTurn', turnId: p.turnId }, { type: 'error', code: 'thinking-timeout', message: 'no reply from the gateway in time' }],
          };
        case 'reply':
          if (p.kind !== 'speaking') return unchanged(state);
          if (!p.replyDone) {
            // The reply stalled: play what arrived, then stop waiting for the rest.
            return {
              state: { ...state, phase: { ...p, replyDone: true, prompt: false }, stale: withStale(state, p.turnId) },
              effects: [{ type: 'finishPlayback' }, { type: 'setTimer', timer: 'reply', turnId: p.turnId }, { type: 'error', code: 'reply-timeout', message: 'the reply stopped arriving' }],
            };
          }
          // Playback never drained: the output is stuck; give up on it.
          return { state: { ...state, phase: idle }, effects: [{ type: 'clearTimers' }, { type: 'stopPlayback' }, { type: 'error', code: 'playback-timeout', message: 'playback did not finish' }] };
        case 'settle': {
          if (p.kind !== 'settling') return unchanged(state);
          const stt = typeof p.prompt === 'object' ? p.prompt : undefined;
          return startListening(state, env, { followUp: true, ptt: false, ...(stt ? { stt } : {}) });
        }
      }
      return unchanged(state);
    }

    case 'connected':
      return { state: { ...state, connected: true }, effects: [] };

    case 'disconnected': {
      const next: State = { ...state, connected: false };
      const msg = `gateway disconnected: ${event.reason}`;
      switch (p.kind) {
        case 'listening':
        case 'thinking':
          return {
            state: { ...next, phase: idle, stale: withStale(state, p.turnId) },
            effects: [{ type: 'clearTimers' }, { type: 'cancelTurn', turnId: p.turnId }, { type: 'error', code: 'disconnected', message: msg }],
          };
        case 'speaking':
          // Play what has arrived; nothing more will come on this connection.
          if (p.replyDone) return { state: { ...next, phase: { ...p, prompt: false } }, effects: [] };
          return { state: { ...next, phase: { ...p, replyDone: true, prompt: false } }, effects: [{ type: 'finishPlayback' }] };
        case 'settling':
          return { state: { ...next, phase: idle }, effects: [{ type: 'clearTimers' }] };
        case 'idle':
          return { state: next, effects: [] };
      }
      return { state: next, effects: [] };
    }

    case 'mute':
    case 'unmute':
    case 'toggleMute': {
      const muted = event.type === 'toggleMute' ? !state.muted : event.type === 'mute';
      if (muted === state.muted) return unchanged(state);
      if (!muted) return { state: { ...state, muted }, effects: [] };
      // Muting the mic ends any listening at once; a reply that is playing goes on.
      if (p.kind === 'listening') {
        return {
          state: { ...state, muted, phase: idle, stale: withStale(state, p.turnId) },
          effects: [{ type: 'clearTimers' }, { type: 'cancelTurn', turnId: p.turnId }],
        };
      }
      if (p.kind === 'settling') return { state: { ...state, muted, phase: idle }, effects: [{ type: 'clearTimers' }] };
      if (p.kind === 'speaking') return { state: { ...state, muted, phase: { ...p, prompt: false } }, effects: [] };
      return { state: { ...state, muted }, effects: [] };
    }

    case 'stop': {
      if (p.kind === 'idle') return unchanged(state);
      const r = abandon(state);
      return { state: r.state, effects: [...r.effects, { type: 'notice', code: 'stopped', message: 'stopped' }] };
    }
  }
}
