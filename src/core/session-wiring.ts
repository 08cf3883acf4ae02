/**
 * The backend's events, as the session hears them: each becomes a state event for the
 * transition function, a timeline mark, or an event for the session's observers. Kept out of
 * session.ts so that file stays one job: running effects.
 */
import type { Logger } from '../log/logger.js';
import type { Backend } from '../ports/backend.js';
import type { SessionEvents } from './session-types.js';
import type { Event, Result } from './state.js';
import type { TimelineMark } from './timeline.js';

export interface WiringTarget {
  dispatch(event: Event): Result;
  mark(mark: TimelineMark, detail?: Record<string, unknown>): void;
  emit<K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]): void;
  /** The phase now, for the log line of dropped reply audio. */
  phase(): string;
  log: Logger;
}

/** Reply audio events: logged when the state machine drops them. */
function dispatchAudio(t: WiringTarget, event: Extract<Event, { type: 'replyAudioStart' | 'replyAudio' }>): void {
  const r = t.dispatch(event);
  if (!r.effects.some((e) => e.type === 'beginStream' || e.type === 'playAudio')) {
    t.log.debug('reply-audio-dropped', () => ({ turnId: event.turnId, phase: t.phase(), ...(event.type === 'replyAudio' ? { bytes: event.data.length } : {}) }));
  }
}

export function wireBackend(backend: Backend, t: WiringTarget): void {
  backend.on('connected', () => t.dispatch({ type: 'connected' }));
  backend.on('disconnected', (e) => t.dispatch({ type: 'disconnected', reason: e.reason }));
  backend.on('transcript', (tr) => {
    if (tr.final) t.mark('transcript', { text: tr.text });
    t.emit('transcript', tr);
    t.dispatch({ type: 'transcript', turnId: tr.turnId, final: tr.final });
  });
  backend.on('replyText', (r) => {
    t.mark('reply_text', { text: r.text });
    t.emit('replyText', { turnId: r.turnId, text: r.text });
    t.dispatch({ type: 'replyText', turnId: r.turnId, ...(r.prompt !== undefined ? { prompt: r.prompt } : {}) });
  });
  backend.on('replyAudioStart', (r) => dispatchAudio(t, { type: 'replyAudioStart', turnId: r.turnId, format: r.format }));
  backend.on('replyAudio', (r) => dispatchAudio(t, { type: 'replyAudio', turnId: r.turnId, data: r.data }));
  backend.on('replyAudioEnd', (r) => t.dispatch({ type: 'replyAudioEnd', turnId: r.turnId }));
  backend.on('replyEnd', (r) => {
    t.mark('reply_end', { prompt: r.prompt !== false });
    t.dispatch({ type: 'replyEnd', turnId: r.turnId, prompt: r.prompt });
  });
  backend.on('response', (r) => t.emit('response', r));
  backend.on('turnError', (e) => t.dispatch({ type: 'backendError', turnId: e.turnId, message: e.message }));
  backend.on('barge', (e) => t.dispatch({ type: 'barge', turnId: e.turnId }));
  backend.on('timerFinished', (e) => t.dispatch({ type: 'timerFinished', name: e.name, maxRingMs: e.maxRingMs }));
  backend.on('timers', (e) => t.dispatch({ type: 'timersRunning', count: e.running.length }));
}
