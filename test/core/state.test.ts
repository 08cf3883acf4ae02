/**
 * The transition function, every state x every event. Each row names the phase (and flags)
 * expected after the event and the effects that must be present; the loop below also checks
 * invariants that must hold for every pair.
 */
import { describe, expect, it } from 'vitest';
import { buttonEvent, refusalOf, transition, wakeGuarded, watchesEndOfSpeech, type Effect, type Event, type Phase, type State } from '../../src/core/state.js';

const T = 'turn-1';
const OTHER = 'turn-other';
const STALE = 'turn-stale';
/** The id of the ring in the ringing rows. */
const R = 'ring-1';

function env() {
  let n = 0;
  return { newId: () => `new-${++n}` };
}

const base = (phase: Phase, over: Partial<State> = {}): State => ({ phase, connected: true, muted: false, stale: [STALE], ...over });

const STATES: Record<string, State> = {
  idle: base({ kind: 'idle' }),
  'idle-disconnected': base({ kind: 'idle' }, { connected: false }),
  'idle-muted': base({ kind: 'idle' }, { muted: true }),
  listening: base({ kind: 'listening', turnId: T, followUp: false, ptt: false, speech: false }),
  'listening-speech': base({ kind: 'listening', turnId: T, followUp: false, ptt: false, speech: true }),
  'listening-followup': base({ kind: 'listening', turnId: T, followUp: true, ptt: false, speech: false }),
  'listening-ptt': base({ kind: 'listening', turnId: T, followUp: false, ptt: true, speech: true }),
  thinking: base({ kind: 'thinking', turnId: T, prompt: false }),
  speaking: base({ kind: 'speaking', turnId: T, replyDone: false, prompt: false }),
  'speaking-done': base({ kind: 'speaking', turnId: T, replyDone: true, prompt: false }),
  'speaking-done-prompt': base({ kind: 'speaking', turnId: T, replyDone: true, prompt: true }),
  settling: base({ kind: 'settling', turnId: T, prompt: true }),
  ringing: base({ kind: 'ringing', turnId: R, timers: ['pasta'] }),
  'ringing-muted': base({ kind: 'ringing', turnId: R, timers: ['pasta'] }, { muted: true }),
  'ringing-disconnected': base({ kind: 'ringing', turnId: R, timers: ['pasta'] }, { connected: false }),
  /** A timer finished while the user waits for a reply: it rings once the conversation is over. */
  'thinking-ring': base({ kind: 'thinking', turnId: T, prompt: false }, { ring: { timers: ['tea'], maxRingMs: 60_000 } }),
};

const EVENTS: Record<string, Event> = {
  'trigger-wake': { type: 'trigger', source: 'wake' },
  'trigger-button': { type: 'trigger', source: 'button' },
  'trigger-ptt': { type: 'trigger', source: 'button', ptt: true },
  'trigger-control': { type: 'trigger', source: 'control' },
  release: { type: 'release' },
  say: { type: 'say', text: 'hi' },
  speechStart: { type: 'speechStart' },
  speechEnd: { type: 'speechEnd' },
  'transcript-final': { type: 'transcript', turnId: T, final: true },
  'transcript-partial': { type: 'transcript', turnId: T, final: false },
  'transcript-other': { type: 'transcript', turnId: OTHER, final: true },
  'replyText-prompt': { type: 'replyText', turnId: T, prompt: true },
  'replyAudioStart': { type: 'replyAudioStart', turnId: T },
  'replyAudioStart-stale': { type: 'replyAudioStart', turnId: STALE },
  'replyAudioStart-other': { type: 'replyAudioStart', turnId: OTHER },
  replyEnd: { type: 'replyEnd', turnId: T, prompt: false },
  'replyEnd-prompt': { type: 'replyEnd', turnId: T, prompt: true },
  drained: { type: 'drained', stream: 'reply' },
  backendError: { type: 'backendError', turnId: T, message: 'boom' },
  barge: { type: 'barge', turnId: null },
  'timeout-noSpeech': { type: 'timeout', timer: 'noSpeech', turnId: T },
  'timeout-expectSpeech': { type: 'timeout', timer: 'expectSpeech', turnId: T },
  'timeout-maxUtterance': { type: 'timeout', timer: 'maxUtterance', turnId: T },
  'timeout-thinking': { type: 'timeout', timer: 'thinking', turnId: T },
  'timeout-reply': { type: 'timeout', timer: 'reply', turnId: T },
  'timeout-settle': { type: 'timeout', timer: 'settle', turnId: T },
  'timeout-stale-turn': { type: 'timeout', timer: 'thinking', turnId: OTHER },
  connected: { type: 'connected' },
  disconnected: { type: 'disconnected', reason: 'net down' },
  mute: { type: 'mute' },
  unmute: { type: 'unmute' },
  toggleMute: { type: 'toggleMute' },
  stop: { type: 'stop' },
  timerFinished: { type: 'timerFinished', name: 'eggs', maxRingMs: 30_000 },
  timersRunning: { type: 'timersRunning', count: 2 },
  'drained-ring': { type: 'drained', stream: 'ring' },
  'timeout-ring': { type: 'timeout', timer: 'ring', turnId: R },
  'timeout-ringPause': { type: 'timeout', timer: 'ringPause', turnId: R },
};

/**
 * Expected outcome: "<phase>[+followUp][+ptt] [effect ...]". `=` means unchanged state and no
 * effects. Effects are listed by type (every listed effect must be present).
 */
type Row = Record<keyof typeof EVENTS, string>;
const L = 'listening openTurn';
type OldRow = Omit<Row, 'trigger-control' | 'timerFinished' | 'timersRunning' | 'drained-ring' | 'timeout-ring' | 'timeout-ringPause'>;
const CONVERSATION: Record<string, OldRow> = {
  idle: {
    'trigger-wake': L, 'trigger-button': L, 'trigger-ptt': 'listening+ptt openTurn', release: '=', say: 'thinking sendText',
    speechStart: '=', speechEnd: '=', 'transcript-final': '=', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': '=', replyAudioStart: 'speaking', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'speaking',
    replyEnd: '=', 'replyEnd-prompt': '=', drained: '=', backendError: 'idle error', barge: '=',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': '=', 'timeout-thinking': '=', 'timeout-reply': '=', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'idle', disconnected: 'idle', mute: 'idle muted', unmute: '=', toggleMute: 'idle muted', stop: '=',
  },
  'idle-disconnected': {
    'trigger-wake': 'idle refused', 'trigger-button': 'idle refused', 'trigger-ptt': 'idle refused', release: '=', say: 'idle refused',
    speechStart: '=', speechEnd: '=', 'transcript-final': '=', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': '=', replyAudioStart: 'speaking', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'speaking',
    replyEnd: '=', 'replyEnd-prompt': '=', drained: '=', backendError: 'idle error', barge: '=',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': '=', 'timeout-thinking': '=', 'timeout-reply': '=', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'idle', disconnected: 'idle', mute: 'idle muted', unmute: '=', toggleMute: 'idle muted', stop: '=',
  },
  'idle-muted': {
    'trigger-wake': 'idle refused', 'trigger-button': 'idle refused', 'trigger-ptt': 'idle refused', release: '=', say: 'thinking sendText',
    speechStart: '=', speechEnd: '=', 'transcript-final': '=', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': '=', replyAudioStart: 'speaking', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'speaking',
    replyEnd: '=', 'replyEnd-prompt': '=', drained: '=', backendError: 'idle error', barge: '=',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': '=', 'timeout-thinking': '=', 'timeout-reply': '=', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'idle', disconnected: 'idle', mute: '=', unmute: 'idle unmuted', toggleMute: 'idle unmuted', stop: '=',
  },
  listening: {
    'trigger-wake': '=', 'trigger-button': 'thinking endTurn', 'trigger-ptt': 'thinking endTurn', release: '=', say: 'thinking cancelTurn sendText',
    speechStart: 'listening', speechEnd: '=', 'transcript-final': 'thinking endTurn', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': 'thinking endTurn', replyAudioStart: 'speaking endTurn', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'listening holdAudio',
    replyEnd: 'idle endTurn', 'replyEnd-prompt': 'settling endTurn', drained: '=', backendError: 'idle cancelTurn error', barge: '=',
    'timeout-noSpeech': 'idle cancelTurn notice', 'timeout-expectSpeech': 'idle cancelTurn notice', 'timeout-maxUtterance': 'thinking endTurn', 'timeout-thinking': '=', 'timeout-reply': '=', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'listening', disconnected: 'idle cancelTurn error', mute: 'idle muted cancelTurn', unmute: '=', toggleMute: 'idle muted cancelTurn', stop: 'idle cancelTurn notice',
  },
  'listening-speech': {
    'trigger-wake': '=', 'trigger-button': 'thinking endTurn', 'trigger-ptt': 'thinking endTurn', release: '=', say: 'thinking cancelTurn sendText',
    speechStart: '=', speechEnd: 'thinking endTurn', 'transcript-final': 'thinking endTurn', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': 'thinking endTurn', replyAudioStart: 'speaking endTurn', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'listening holdAudio',
    replyEnd: 'idle endTurn', 'replyEnd-prompt': 'settling endTurn', drained: '=', backendError: 'idle cancelTurn error', barge: '=',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': 'thinking endTurn', 'timeout-thinking': '=', 'timeout-reply': '=', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'listening', disconnected: 'idle cancelTurn error', mute: 'idle muted cancelTurn', unmute: '=', toggleMute: 'idle muted cancelTurn', stop: 'idle cancelTurn notice',
  },
  'listening-followup': {
    'trigger-wake': '=', 'trigger-button': 'thinking endTurn', 'trigger-ptt': 'thinking endTurn', release: '=', say: 'thinking cancelTurn sendText',
    speechStart: 'listening+followUp', speechEnd: '=', 'transcript-final': 'thinking endTurn', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': 'thinking endTurn', replyAudioStart: 'speaking endTurn', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'listening+followUp holdAudio',
    replyEnd: 'idle endTurn', 'replyEnd-prompt': 'settling endTurn', drained: '=', backendError: 'idle cancelTurn error', barge: '=',
    'timeout-noSpeech': 'idle cancelTurn notice', 'timeout-expectSpeech': 'idle cancelTurn notice', 'timeout-maxUtterance': 'thinking endTurn', 'timeout-thinking': '=', 'timeout-reply': '=', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'listening+followUp', disconnected: 'idle cancelTurn error', mute: 'idle muted cancelTurn', unmute: '=', toggleMute: 'idle muted cancelTurn', stop: 'idle cancelTurn notice',
  },
  'listening-ptt': {
    'trigger-wake': '=', 'trigger-button': '=', 'trigger-ptt': '=', release: 'thinking endTurn', say: 'thinking cancelTurn sendText',
    speechStart: '=', speechEnd: '=', 'transcript-final': 'thinking endTurn', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': 'thinking endTurn', replyAudioStart: 'speaking endTurn', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'listening+ptt holdAudio',
    replyEnd: 'idle endTurn', 'replyEnd-prompt': 'settling endTurn', drained: '=', backendError: 'idle cancelTurn error', barge: '=',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': 'thinking endTurn', 'timeout-thinking': '=', 'timeout-reply': '=', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'listening+ptt', disconnected: 'idle cancelTurn error', mute: 'idle muted cancelTurn', unmute: '=', toggleMute: 'idle muted cancelTurn', stop: 'idle cancelTurn notice',
  },
  thinking: {
    'trigger-wake': 'listening cancelTurn openTurn', 'trigger-button': 'listening cancelTurn openTurn', 'trigger-ptt': 'listening+ptt cancelTurn openTurn', release: '=', say: 'thinking cancelTurn sendText',
    speechStart: '=', speechEnd: '=', 'transcript-final': '=', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': 'thinking', replyAudioStart: 'speaking', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'thinking holdAudio',
    replyEnd: 'idle', 'replyEnd-prompt': 'settling', drained: '=', backendError: 'idle cancelTurn error', barge: '=',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': '=', 'timeout-thinking': 'idle cancelTurn error', 'timeout-reply': '=', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'thinking', disconnected: 'idle cancelTurn error', mute: 'thinking muted', unmute: '=', toggleMute: 'thinking muted', stop: 'idle cancelTurn notice',
  },
  speaking: {
    'trigger-wake': 'listening stopPlayback cancelTurn openTurn', 'trigger-button': 'listening stopPlayback cancelTurn openTurn', 'trigger-ptt': 'listening+ptt stopPlayback cancelTurn openTurn', release: '=', say: 'thinking stopPlayback cancelTurn sendText',
    speechStart: '=', speechEnd: '=', 'transcript-final': '=', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': 'speaking', replyAudioStart: 'speaking beginStream', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'speaking holdAudio',
    replyEnd: 'speaking finishPlayback', 'replyEnd-prompt': 'speaking finishPlayback', drained: '=', backendError: 'speaking error', barge: 'idle stopPlayback',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': '=', 'timeout-thinking': '=', 'timeout-reply': 'speaking finishPlayback error', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'speaking', disconnected: 'speaking finishPlayback', mute: 'speaking muted', unmute: '=', toggleMute: 'speaking muted', stop: 'idle stopPlayback cancelTurn notice',
  },
  'speaking-done': {
    'trigger-wake': 'listening stopPlayback openTurn', 'trigger-button': 'listening stopPlayback openTurn', 'trigger-ptt': 'listening+ptt stopPlayback openTurn', release: '=', say: 'thinking stopPlayback sendText',
    speechStart: '=', speechEnd: '=', 'transcript-final': '=', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': 'speaking', replyAudioStart: 'speaking beginStream', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'speaking holdAudio',
    replyEnd: 'speaking finishPlayback', 'replyEnd-prompt': 'speaking finishPlayback', drained: 'idle', backendError: 'speaking error', barge: 'idle stopPlayback',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': '=', 'timeout-thinking': '=', 'timeout-reply': 'idle stopPlayback error', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'speaking', disconnected: 'speaking', mute: 'speaking muted', unmute: '=', toggleMute: 'speaking muted', stop: 'idle stopPlayback notice',
  },
  'speaking-done-prompt': {
    'trigger-wake': 'listening stopPlayback openTurn', 'trigger-button': 'listening stopPlayback openTurn', 'trigger-ptt': 'listening+ptt stopPlayback openTurn', release: '=', say: 'thinking stopPlayback sendText',
    speechStart: '=', speechEnd: '=', 'transcript-final': '=', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': 'speaking', replyAudioStart: 'speaking beginStream', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'speaking holdAudio',
    replyEnd: 'speaking finishPlayback', 'replyEnd-prompt': 'speaking finishPlayback', drained: 'settling', backendError: 'speaking error', barge: 'idle stopPlayback',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': '=', 'timeout-thinking': '=', 'timeout-reply': 'idle stopPlayback error', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'speaking', disconnected: 'speaking', mute: 'speaking muted', unmute: '=', toggleMute: 'speaking muted', stop: 'idle stopPlayback notice',
  },
  settling: {
    'trigger-wake': L, 'trigger-button': L, 'trigger-ptt': 'listening+ptt openTurn', release: '=', say: 'thinking sendText',
    speechStart: '=', speechEnd: '=', 'transcript-final': '=', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': '=', replyAudioStart: 'speaking', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'speaking',
    replyEnd: '=', 'replyEnd-prompt': '=', drained: '=', backendError: 'settling error', barge: '=',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': '=', 'timeout-thinking': '=', 'timeout-reply': '=', 'timeout-settle': 'listening+followUp openTurn', 'timeout-stale-turn': '=',
    connected: 'settling', disconnected: 'idle', mute: 'idle muted', unmute: '=', toggleMute: 'idle muted', stop: 'idle notice',
  },
};

/**
 * The ring columns for the conversation rows: `listen` from the control socket acts as the wake
 * word does; a finished timer rings at once when idle (or settling: no follow-up then), else it
 * waits (`+ring`); the timer count only changes the LEDs' input; ring timers of no ring are no-ops.
 */
function withRingColumns(name: string, row: OldRow): Row {
  const phase = describePhase(STATES[name]!);
  const rings = phase === 'idle' || phase === 'settling';
  return {
    ...row,
    'trigger-control': row['trigger-wake'],
    timerFinished: rings ? `ringing ring setTimer${STATES[name]!.muted ? ' muted' : ''}` : `${phase}+ring`,
    timersRunning: `${phase}+timers`,
    'drained-ring': '=',
    'timeout-ring': '=',
    'timeout-ringPause': '=',
  };
}

const STOP_RING = 'idle clearTimers stopRing notice';
const ringingRow = (over: Partial<Row> = {}): Row => ({
  'trigger-wake': STOP_RING, 'trigger-button': STOP_RING, 'trigger-ptt': STOP_RING, 'trigger-control': STOP_RING, release: '=', say: 'thinking stopRing sendText',
  speechStart: '=', speechEnd: '=', 'transcript-final': '=', 'transcript-partial': '=', 'transcript-other': '=',
  'replyText-prompt': '=', replyAudioStart: 'ringing holdAudio', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'ringing holdAudio',
  replyEnd: '=', 'replyEnd-prompt': '=', drained: '=', backendError: 'ringing error', barge: '=',
  'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': '=', 'timeout-thinking': '=', 'timeout-reply': '=', 'timeout-settle': '=', 'timeout-stale-turn': '=',
  connected: 'ringing', disconnected: 'ringing', mute: 'ringing muted', unmute: '=', toggleMute: 'ringing muted', stop: 'idle stopRing notice',
  timerFinished: 'ringing setTimer', timersRunning: 'ringing+timers', 'drained-ring': 'ringing setTimer', 'timeout-ring': 'idle stopRing notice', 'timeout-ringPause': 'ringing ring',
  ...over,
});

const EXPECT: Record<keyof typeof STATES, Row> = {
  ...Object.fromEntries(Object.entries(CONVERSATION).map(([name, row]) => [name, withRingColumns(name, row)])),
  ringing: ringingRow(),
  'ringing-muted': ringingRow({
    'trigger-wake': `${STOP_RING} muted`, 'trigger-button': `${STOP_RING} muted`, 'trigger-ptt': `${STOP_RING} muted`, 'trigger-control': `${STOP_RING} muted`,
    mute: '=', unmute: 'ringing unmuted', toggleMute: 'ringing unmuted', stop: 'idle stopRing notice muted', 'timeout-ring': 'idle stopRing notice muted',
  }),
  'ringing-disconnected': ringingRow({ say: 'ringing refused', connected: 'ringing', disconnected: 'ringing' }),
  'thinking-ring': {
    'trigger-wake': 'listening+ring cancelTurn openTurn', 'trigger-button': 'listening+ring cancelTurn openTurn', 'trigger-ptt': 'listening+ptt+ring cancelTurn openTurn', 'trigger-control': 'listening+ring cancelTurn openTurn', release: '=', say: 'thinking+ring cancelTurn sendText',
    speechStart: '=', speechEnd: '=', 'transcript-final': '=', 'transcript-partial': '=', 'transcript-other': '=',
    'replyText-prompt': 'thinking+ring', replyAudioStart: 'speaking+ring', 'replyAudioStart-stale': '=', 'replyAudioStart-other': 'thinking+ring holdAudio',
    // The conversation is over: the ring starts (not the follow-up the reply asked for).
    replyEnd: 'ringing ring setTimer', 'replyEnd-prompt': 'ringing ring setTimer', drained: '=', backendError: 'ringing cancelTurn error ring', barge: '=',
    'timeout-noSpeech': '=', 'timeout-expectSpeech': '=', 'timeout-maxUtterance': '=', 'timeout-thinking': 'ringing cancelTurn error ring', 'timeout-reply': '=', 'timeout-settle': '=', 'timeout-stale-turn': '=',
    connected: 'thinking+ring', disconnected: 'ringing cancelTurn error ring', mute: 'thinking+ring muted', unmute: '=', toggleMute: 'thinking+ring muted', stop: 'ringing cancelTurn notice ring',
    timerFinished: 'thinking+ring', timersRunning: 'thinking+ring+timers', 'drained-ring': '=', 'timeout-ring': '=', 'timeout-ringPause': '=',
  },
};

function describePhase(s: State): string {
  const p = s.phase;
  let d: string = p.kind;
  if (p.kind === 'listening' && p.followUp) d += '+followUp';
  if (p.kind === 'listening' && p.ptt) d += '+ptt';
  if (s.ring) d += '+ring';
  if (s.timers) d += '+timers';
  return d;
}

/** Checks one row: the phase and flags after the event, and the effects that must be present. */
function checkRow(state: State, event: Event, expected: string, strict = false): void {
  const { state: next, effects } = transition(state, event, env());
  if (expected === '=') {
    expect(next).toEqual(state);
    expect(effects).toEqual([]);
    return;
  }
  const [phase, ...rest] = expected.split(' ');
  expect(describePhase(next)).toBe(phase);
  const types = effects.map((e) => e.type);
  for (const r of rest) {
    if (r === 'muted') expect(next.muted).toBe(true);
    else if (r === 'unmuted') expect(next.muted).toBe(false);
    else expect(types).toContain(r);
  }
  // Effects not named must not be the dangerous ones.
  const dangerous = ['openTurn', 'cancelTurn', 'endTurn', 'stopPlayback', 'sendText', 'refused', 'ring', 'stopRing'];
  // The moved rows also name every audio-routing effect they expect.
  if (strict) dangerous.push('playAudio', 'beginStream', 'endStream');
  for (const d of dangerous) {
    if (!rest.includes(d)) expect(types, `unexpected ${d}`).not.toContain(d);
  }
}

describe('transition: every state x event', () => {
  for (const [stateName, state] of Object.entries(STATES)) {
    for (const [eventName, event] of Object.entries(EVENTS)) {
      const expected = EXPECT[stateName]![eventName]!;
      it(`${stateName} + ${eventName} -> ${expected}`, () => checkRow(state, event, expected));
    }
  }
});

/**
 * Decisions that moved into the state machine from the session: routing of reply audio
 * (announced or not), the end of a reply stream, which playback stream drained, and shutdown.
 */
const AUDIO = Buffer.from([1, 0, 2, 0]);
const MOVED_EVENTS: Record<string, Event> = {
  replyAudio: { type: 'replyAudio', turnId: T, data: AUDIO },
  'replyAudio-other': { type: 'replyAudio', turnId: OTHER, data: AUDIO },
  'replyAudio-stale': { type: 'replyAudio', turnId: STALE, data: AUDIO },
  replyAudioEnd: { type: 'replyAudioEnd', turnId: T },
  'replyAudioEnd-other': { type: 'replyAudioEnd', turnId: OTHER },
  'drained-earcon': { type: 'drained', stream: 'earcon' },
  shutdown: { type: 'shutdown' },
  'timeout-reply-queued': { type: 'timeout', timer: 'reply', turnId: T, queuedMs: 5000 },
  'replyAudio-null': { type: 'replyAudio', turnId: null, data: AUDIO },
};
type MovedRow = Record<keyof typeof MOVED_EVENTS, string>;
const idleMoved: MovedRow = {
  replyAudio: 'speaking playAudio setTimer', 'replyAudio-other': 'speaking playAudio setTimer', 'replyAudio-stale': '=',
  replyAudioEnd: '=', 'replyAudioEnd-other': '=', 'drained-earcon': '=', shutdown: 'idle clearTimers', 'timeout-reply-queued': '=',
  'replyAudio-null': 'speaking playAudio setTimer',
};
const listeningMoved = (phase: string): MovedRow => ({
  replyAudio: '=', 'replyAudio-other': '=', 'replyAudio-stale': '=',
  replyAudioEnd: '=', 'replyAudioEnd-other': '=', 'drained-earcon': '=', shutdown: `${phase} clearTimers endTurn`, 'timeout-reply-queued': '=',
  'replyAudio-null': '=',
});
const speakingMoved: MovedRow = {
  replyAudio: 'speaking playAudio setTimer', 'replyAudio-other': '=', 'replyAudio-stale': '=',
  replyAudioEnd: 'speaking endStream', 'replyAudioEnd-other': '=', 'drained-earcon': '=', shutdown: 'speaking clearTimers', 'timeout-reply-queued': 'speaking setTimer',
  'replyAudio-null': '=',
};
function ringingMoved(): MovedRow {
  return {
    replyAudio: '=', 'replyAudio-other': '=', 'replyAudio-stale': '=',
    replyAudioEnd: '=', 'replyAudioEnd-other': '=', 'drained-earcon': '=', shutdown: 'ringing clearTimers stopRing', 'timeout-reply-queued': '=',
    'replyAudio-null': '=',
  };
}
const EXPECT_MOVED: Record<keyof typeof STATES, MovedRow> = {
  idle: idleMoved,
  'idle-disconnected': idleMoved,
  'idle-muted': idleMoved,
  listening: listeningMoved('listening'),
  'listening-speech': listeningMoved('listening'),
  'listening-followup': listeningMoved('listening+followUp'),
  'listening-ptt': listeningMoved('listening+ptt'),
  thinking: {
    replyAudio: '=', 'replyAudio-other': '=', 'replyAudio-stale': '=',
    replyAudioEnd: '=', 'replyAudioEnd-other': '=', 'drained-earcon': '=', shutdown: 'thinking clearTimers', 'timeout-reply-queued': '=',
    'replyAudio-null': '=',
  },
  speaking: speakingMoved,
  'speaking-done': speakingMoved,
  'speaking-done-prompt': speakingMoved,
  settling: {
    replyAudio: 'speaking playAudio setTimer', 'replyAudio-other': 'speaking playAudio setTimer', 'replyAudio-stale': '=',
    replyAudioEnd: '=', 'replyAudioEnd-other': '=', 'drained-earcon': '=', shutdown: 'settling clearTimers', 'timeout-reply-queued': '=',
    'replyAudio-null': 'speaking playAudio setTimer',
  },
  // While a timer rings, reply audio is held (announced) or dropped (not announced); shutdown cuts the ring.
  ringing: ringingMoved(),
  'ringing-muted': ringingMoved(),
  'ringing-disconnected': ringingMoved(),
  'thinking-ring': {
    replyAudio: '=', 'replyAudio-other': '=', 'replyAudio-stale': '=',
    replyAudioEnd: '=', 'replyAudioEnd-other': '=', 'drained-earcon': '=', shutdown: 'thinking+ring clearTimers', 'timeout-reply-queued': '=',
    'replyAudio-null': '=',
  },
};

describe('transition: every state x moved event', () => {
  for (const [stateName, state] of Object.entries(STATES)) {
    for (const [eventName, event] of Object.entries(MOVED_EVENTS)) {
      const expected = EXPECT_MOVED[stateName]![eventName]!;
      it(`${stateName} + ${eventName} -> ${expected}`, () => checkRow(state, event, expected, true));
    }
  }
});

describe('transition invariants', () => {
  const all = Object.entries(STATES).flatMap(([sn, s]) => Object.entries(EVENTS).map(([en, e]) => ({ sn, s, en, e })));

  it.each(all)('$sn + $en: timers only for the new turn, openTurn only with listening', ({ s, e }) => {
    const { state: next, effects } = transition(s, e, env());
    const turn = next.phase.kind === 'idle' ? null : next.phase.turnId;
    for (const eff of effects) {
      if (eff.type === 'setTimer') expect(eff.turnId).toBe(turn);
      if (eff.type === 'openTurn') {
        expect(next.phase.kind).toBe('listening');
        expect(eff.turnId).toBe(turn);
      }
    }
    expect(next.stale.length).toBeLessThanOrEqual(32);
  });

  it.each(all)('$sn + $en: no cue over a ring, and a ring is cut whenever ringing ends', ({ s, e }) => {
    const { state: next, effects } = transition(s, e, env());
    const types = effects.map((x: Effect) => x.type);
    if (next.phase.kind === 'ringing') expect(types).not.toContain('earcon');
    if (s.phase.kind === 'ringing' && next.phase.kind !== 'ringing') expect(types).toContain('stopRing');
    if (types.includes('ring')) expect(next.phase.kind).toBe('ringing');
  });

  it.each(all)('$sn + $en: a refusal changes nothing', ({ s, e }) => {
    const { state: next, effects } = transition(s, e, env());
    if (effects.some((x: Effect) => x.type === 'refused')) expect(next).toEqual(s);
  });
});

describe('transition details', () => {
  it('barge-in marks the interrupted turn stale so its late audio is dropped', () => {
    const r = transition(STATES.speaking!, { type: 'trigger', source: 'button' }, env());
    expect(r.state.stale).toContain(T);
    const late = transition(r.state, { type: 'replyAudioStart', turnId: T }, env());
    expect(late.state.phase.kind).toBe('listening');
  });

  it('a follow-up turn carries the STT options the prompt object gave', () => {
    const s = base({ kind: 'settling', turnId: T, prompt: { model: 'yes-no' } });
    const r = transition(s, { type: 'timeout', timer: 'settle', turnId: T }, env());
    expect(r.effects).toContainEqual({ type: 'openTurn', turnId: 'new-1', followUp: true, stt: { model: 'yes-no' } });
    expect(r.effects).toContainEqual({ type: 'setTimer', timer: 'expectSpeech', turnId: 'new-1' });
  });

  it('prompt from the text message is kept until the reply has played', () => {
    let s = transition(STATES.thinking!, { type: 'replyText', turnId: T, prompt: true }, env()).state;
    s = transition(s, { type: 'replyAudioStart', turnId: T }, env()).state;
    s = transition(s, { type: 'replyEnd', turnId: T, prompt: false }, env()).state;
    s = transition(s, { type: 'drained', stream: 'reply' }, env()).state;
    expect(s.phase.kind).toBe('settling');
  });

  it('no follow-up while muted or disconnected', () => {
    const muted = transition({ ...STATES['speaking-done-prompt']!, muted: true }, { type: 'drained', stream: 'reply' }, env());
    expect(muted.state.phase.kind).toBe('idle');
    const off = transition({ ...STATES['speaking-done-prompt']!, connected: false }, { type: 'drained', stream: 'reply' }, env());
    expect(off.state.phase.kind).toBe('idle');
  });

  it('a ring plays, pauses after it drained, plays again, and its longest ring time ends it', () => {
    const e = env();
    let r = transition(STATES.idle!, { type: 'timerFinished', name: 'pasta', maxRingMs: 30_000 }, e);
    expect(r.state.phase).toEqual({ kind: 'ringing', turnId: 'ring-new-1', timers: ['pasta'] });
    expect(r.effects).toEqual([{ type: 'clearTimers' }, { type: 'ring' }, { type: 'setTimer', timer: 'ring', turnId: 'ring-new-1', ms: 30_000 }]);
    r = transition(r.state, { type: 'drained', stream: 'ring' }, e);
    expect(r.effects).toEqual([{ type: 'setTimer', timer: 'ringPause', turnId: 'ring-new-1' }]);
    r = transition(r.state, { type: 'timeout', timer: 'ringPause', turnId: 'ring-new-1' }, e);
    expect(r.effects).toEqual([{ type: 'ring' }]);
    // A second timer joins the ring, and its longest ring time starts again.
    r = transition(r.state, { type: 'timerFinished', name: '', maxRingMs: 30_000 }, e);
    expect(r.state.phase).toMatchObject({ kind: 'ringing', timers: ['pasta', 'timer'] });
    expect(r.effects).toEqual([{ type: 'setTimer', timer: 'ring', turnId: 'ring-new-1', ms: 30_000 }]);
    // A ring timer of an earlier ring does nothing.
    expect(transition(r.state, { type: 'timeout', timer: 'ring', turnId: 'ring-old' }, e).effects).toEqual([]);
    const end = transition(r.state, { type: 'timeout', timer: 'ring', turnId: 'ring-new-1' }, e);
    expect(end.state.phase.kind).toBe('idle');
    expect(end.effects).toContainEqual({ type: 'notice', code: 'ring-ended', message: 'the pasta, timer timer rang for the longest ring time and was stopped' });
  });

  it('a timer that finishes during a turn rings after the reply, instead of the follow-up; a reply held meanwhile plays after the ring', () => {
    const e = env();
    let s = transition(STATES.speaking!, { type: 'timerFinished', name: 'tea', maxRingMs: 60_000 }, e).state;
    expect(s.ring).toEqual({ timers: ['tea'], maxRingMs: 60_000 });
    s = transition(s, { type: 'replyEnd', turnId: T, prompt: true }, e).state;
    const r = transition(s, { type: 'drained', stream: 'reply' }, e);
    expect(r.state.phase.kind).toBe('ringing');
    expect(r.state.ring).toBeUndefined();
    expect(r.effects.map((x) => x.type)).not.toContain('openTurn');
    expect(r.effects.filter((x) => x.type === 'setTimer')).toEqual([{ type: 'setTimer', timer: 'ring', turnId: 'ring-new-1', ms: 60_000 }]);
    // An announcement arrives while it rings: held, then played once the button stops the ring.
    let h = transition(r.state, { type: 'replyAudioStart', turnId: 'announce-1', format: { codec: 'pcm', sampleRate: 16000, channels: 1 } }, e);
    expect(h.effects.map((x) => x.type)).toEqual(['holdAudio']);
    h = transition(h.state, { type: 'replyAudio', turnId: 'announce-1', data: AUDIO }, e);
    h = transition(h.state, { type: 'replyEnd', turnId: 'announce-1', prompt: false }, e);
    expect(h.state.phase.kind).toBe('ringing');
    const stopped = transition(h.state, { type: 'trigger', source: 'button' }, e);
    expect(stopped.state.phase).toMatchObject({ kind: 'speaking', turnId: 'announce-1' });
    expect(stopped.effects.map((x) => x.type)).toEqual(expect.arrayContaining(['stopRing', 'playHeld']));
    expect(stopped.effects.map((x) => x.type)).not.toContain('openTurn');
  });

  it('push-to-talk: pressing stops the ring, releasing does nothing more', () => {
    const down = transition(STATES.ringing!, buttonEvent('down', true)!, env());
    expect(down.state.phase.kind).toBe('idle');
    const up = transition(down.state, buttonEvent('up', true)!, env());
    expect(up.effects).toEqual([]);
    expect(up.state.phase.kind).toBe('idle');
  });

  it('the stale list is bounded', () => {
    let s: State = { ...STATES.idle!, stale: [] };
    for (let i = 0; i < 100; i++) {
      s = transition(s, { type: 'trigger', source: 'control' }, { newId: () => `t${i}` }).state;
      s = transition(s, { type: 'stop' }, env()).state;
    }
    expect(s.stale.length).toBe(32);
    expect(s.stale[31]).toBe('t99');
  });
});

describe('decisions moved from the session', () => {
  const types = (r: { effects: Effect[] }) => r.effects.map((e) => e.type);
  const earcons = (r: { effects: Effect[] }) => r.effects.flatMap((e) => (e.type === 'earcon' ? [e.name] : []));

  it('the done cue follows the end of listening, never the start of a reply', () => {
    expect(earcons(transition(STATES['listening-speech']!, { type: 'speechEnd' }, env()))).toEqual(['done']);
    expect(earcons(transition(STATES.listening!, { type: 'replyAudioStart', turnId: T }, env()))).toEqual([]);
    expect(earcons(transition(STATES.listening!, { type: 'replyEnd', turnId: T, prompt: false }, env()))).toEqual([]);
  });

  it('an error sounds its cue except over our own reply; a lost link has its own cue, once', () => {
    expect(earcons(transition(STATES.thinking!, { type: 'timeout', timer: 'thinking', turnId: T }, env()))).toEqual(['error']);
    expect(earcons(transition(STATES.speaking!, { type: 'timeout', timer: 'reply', turnId: T }, env()))).toEqual([]);
    expect(earcons(transition(STATES.speaking!, { type: 'backendError', turnId: T, message: 'x' }, env()))).toEqual([]);
    expect(earcons(transition(STATES.listening!, { type: 'disconnected', reason: 'x' }, env()))).toEqual(['disconnected']);
    expect(earcons(transition(STATES['idle-disconnected']!, { type: 'disconnected', reason: 'x' }, env()))).toEqual([]);
    expect(earcons(transition(STATES.speaking!, { type: 'disconnected', reason: 'x' }, env()))).toEqual([]);
  });

  it('an earcon draining never ends a reply; the reply draining does', () => {
    expect(transition(STATES['speaking-done']!, { type: 'drained', stream: 'earcon' }, env()).state.phase.kind).toBe('speaking');
    expect(transition(STATES['speaking-done']!, { type: 'drained', stream: 'reply' }, env()).state.phase.kind).toBe('idle');
  });

  it('local end of speech ends listening only when endOnSilence is on', () => {
    const off = transition(STATES['listening-speech']!, { type: 'speechEnd' }, { ...env(), endOnSilence: false });
    expect(off.effects).toEqual([]);
    expect(off.state).toEqual(STATES['listening-speech']);
    expect(types(transition(STATES['listening-speech']!, { type: 'speechEnd' }, { ...env(), endOnSilence: true }))).toContain('endTurn');
  });

  it('a reply timer that fires with audio still queued waits for the playhead instead', () => {
    const r = transition(STATES['speaking-done']!, { type: 'timeout', timer: 'reply', turnId: T, queuedMs: 5000 }, env());
    expect(r.state).toEqual(STATES['speaking-done']);
    expect(r.effects).toEqual([{ type: 'setTimer', timer: 'reply', turnId: T, ms: 6000 }]);
  });

  it('a finished turn is done: its reply sent again is dropped', () => {
    const done = transition(STATES['speaking-done']!, { type: 'drained', stream: 'reply' }, env()).state;
    expect(done.stale).toContain(T);
    expect(transition(done, { type: 'replyAudioStart', turnId: T }, env()).effects).toEqual([]);
  });

  it('every accepted piece of reply audio re-arms the reply inactivity timer', () => {
    const r = transition(STATES.speaking!, { type: 'replyAudio', turnId: T, data: AUDIO }, env());
    expect(r.effects).toEqual([
      { type: 'playAudio', turnId: T, data: AUDIO },
      { type: 'setTimer', timer: 'reply', turnId: T },
    ]);
  });

  it('unannounced audio while idle opens an unsolicited reply; while listening it is dropped', () => {
    const r = transition(STATES.idle!, { type: 'replyAudio', turnId: null, data: AUDIO }, env());
    expect(r.state.phase).toEqual({ kind: 'speaking', turnId: null, replyDone: false, prompt: false });
    expect(types(r)).toContain('playAudio');
    expect(transition(STATES.listening!, { type: 'replyAudio', turnId: null, data: AUDIO }, env()).effects).toEqual([]);
  });

  it('a refusal is returned in the result', () => {
    expect(refusalOf(transition(STATES['idle-disconnected']!, { type: 'trigger', source: 'control' }, env()))).toBe('disconnected');
    expect(refusalOf(transition(STATES['idle-muted']!, { type: 'trigger', source: 'control' }, env()))).toBe('muted');
    expect(refusalOf(transition(STATES.idle!, { type: 'trigger', source: 'control' }, env()))).toBeUndefined();
  });

  it('messages name the backend in use, not always the gateway', () => {
    const msg = (backend: string | undefined) => {
      const r = transition(STATES.thinking!, { type: 'timeout', timer: 'thinking', turnId: T }, { ...env(), ...(backend ? { backend } : {}) });
      return r.effects.flatMap((e) => (e.type === 'error' ? [e.message] : []))[0];
    };
    expect(msg(undefined)).toBe('no reply from the gateway in time');
    expect(msg('gateway')).toBe('no reply from the gateway in time');
    expect(msg('soca')).toBe('no reply from soca in time');
    const d = transition(STATES.listening!, { type: 'disconnected', reason: 'net down' }, { ...env(), backend: 'pipeline' });
    expect(d.effects).toContainEqual({ type: 'error', code: 'disconnected', message: 'pipeline disconnected: net down' });
  });

  it('the wake word is guarded while our reply plays and settles; the VAD watches hands-free listening only', () => {
    expect(Object.entries(STATES).filter(([, s]) => wakeGuarded(s)).map(([n]) => n)).toEqual(['speaking', 'speaking-done', 'speaking-done-prompt', 'settling']);
    expect(Object.entries(STATES).filter(([, s]) => watchesEndOfSpeech(s)).map(([n]) => n)).toEqual(['listening', 'listening-speech', 'listening-followup']);
  });

  it('the button means talk, mute or stop; push-to-talk means hold to talk', () => {
    expect(buttonEvent('press', false)).toEqual({ type: 'trigger', source: 'button' });
    expect(buttonEvent('long-press', false)).toEqual({ type: 'toggleMute' });
    expect(buttonEvent('double-press', false)).toEqual({ type: 'stop' });
    expect(buttonEvent('down', false)).toBeUndefined();
    expect(buttonEvent('down', true)).toEqual({ type: 'trigger', source: 'button', ptt: true });
    expect(buttonEvent('up', true)).toEqual({ type: 'release' });
    expect(buttonEvent('double-press', true)).toEqual({ type: 'toggleMute' });
    expect(buttonEvent('press', true)).toBeUndefined();
  });
});

describe('unsolicited replies during a turn are held and played after it', () => {
  const O = 'unsolicited-1';
  const AUDIO2 = Buffer.from([9, 0]);

  it('held while thinking, played when the turn is over, then the turn after it goes on', () => {
    let r = transition(STATES.thinking!, { type: 'replyAudioStart', turnId: O }, env());
    expect(r.state.held).toEqual([{ turnId: O, complete: false, prompt: false }]);
    expect(r.effects).toEqual([{ type: 'holdAudio', turnId: O, part: { begin: { codec: 'unknown' } } }]);
    r = transition(r.state, { type: 'replyAudio', turnId: O, data: AUDIO2 }, env());
    expect(r.effects).toEqual([{ type: 'holdAudio', turnId: O, part: { data: AUDIO2 } }]);
    r = transition(r.state, { type: 'replyAudioEnd', turnId: O }, env());
    r = transition(r.state, { type: 'replyEnd', turnId: O, prompt: false }, env());
    expect(r.state.held).toEqual([{ turnId: O, complete: true, audio: true, prompt: false }]);
    // Our own reply comes and plays to its end; then the held one plays.
    r = transition(r.state, { type: 'replyEnd', turnId: T, prompt: false }, env());
    expect(r.state.phase).toEqual({ kind: 'speaking', turnId: O, replyDone: true, prompt: false });
    expect(r.state.held).toBeUndefined();
    expect(r.effects.map((e) => e.type)).toEqual(expect.arrayContaining(['playHeld', 'finishPlayback', 'setTimer']));
    r = transition(r.state, { type: 'drained', stream: 'reply' }, env());
    expect(r.state.phase.kind).toBe('idle');
  });

  it('a held reply still arriving when it starts to play goes on streaming as the reply playing', () => {
    let s = transition(STATES.listening!, { type: 'replyAudioStart', turnId: O }, env()).state;
    s = transition(s, { type: 'replyAudio', turnId: O, data: AUDIO2 }, env()).state;
    s = transition(s, { type: 'timeout', timer: 'noSpeech', turnId: T }, env()).state;
    expect(s.phase).toEqual({ kind: 'speaking', turnId: O, replyDone: false, prompt: false });
    const r = transition(s, { type: 'replyAudio', turnId: O, data: AUDIO2 }, env());
    expect(r.effects[0]).toEqual({ type: 'playAudio', turnId: O, data: AUDIO2 });
  });

  it('stop drops what was held; at most four are held, the oldest dropped', () => {
    let s = STATES.speaking!;
    for (let i = 0; i < 5; i++) s = transition(s, { type: 'replyAudioStart', turnId: `u${i}` }, env()).state;
    expect(s.held!.map((h) => h.turnId)).toEqual(['u1', 'u2', 'u3', 'u4']);
    const r = transition(s, { type: 'stop' }, env());
    expect(r.state.held).toBeUndefined();
    expect(r.state.phase.kind).toBe('idle');
    expect(r.effects.filter((e) => e.type === 'dropHeld')).toHaveLength(4);
  });

  it('a stale turn\'s reply is dropped, not held; our own turn\'s is never held', () => {
    expect(transition(STATES.thinking!, { type: 'replyAudioStart', turnId: STALE }, env()).effects).toEqual([]);
    expect(transition(STATES.thinking!, { type: 'replyAudioStart', turnId: T }, env()).state.held).toBeUndefined();
  });

  it('a held reply that is only its announcement (no audio, no end) is dropped, not played', () => {
    let s = STATES.thinking!;
    for (let i = 0; i < 4; i++) s = transition(s, { type: 'replyAudioStart', turnId: `junk${i}` }, env()).state;
    const r = transition(s, { type: 'timeout', timer: 'thinking', turnId: T }, env());
    expect(r.state.phase.kind).toBe('idle');
    expect(r.state.held).toBeUndefined();
    expect(r.effects.filter((e) => e.type === 'dropHeld')).toHaveLength(4);
  });

  it('a held reply that had not all arrived is dropped when the connection goes', () => {
    const s = transition(STATES.thinking!, { type: 'replyAudioStart', turnId: O }, env()).state;
    const r = transition(s, { type: 'disconnected', reason: 'x' }, env());
    expect(r.state.held).toBeUndefined();
    expect(r.effects).toContainEqual({ type: 'dropHeld', turnId: O });
    expect(r.state.phase.kind).toBe('idle');
  });
});
