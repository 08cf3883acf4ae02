/**
 * Home Assistant's timers on the speaker (`VoiceAssistantTimerEventResponse`; docs/backends.md,
 * "esphome"). Started, updated and cancelled timers are tracked, logged and reported to the
 * session as `timers` (the LEDs show that timers run); a finished timer becomes `timerFinished`,
 * and the session's state machine rings it (src/core/ring.ts) until the button, a wake word, a
 * command or `maxRingMs` stops it.
 */
import type { Logger } from '../../log/logger.js';
import type { BackendTimer } from '../../ports/backend.js';
import type { Fields } from './proto.js';
import type { Emit } from './reply-url.js';

/** aioesphomeapi's VoiceAssistantTimerEventType values. */
export const TIMER_EVENT = { STARTED: 0, UPDATED: 1, CANCELLED: 2, FINISHED: 3 } as const;
const EVENT_NAMES = ['started', 'updated', 'cancelled', 'finished'];

export interface HaTimer extends BackendTimer {
  active: boolean;
}

export interface TimerDeps {
  emit: Emit;
  log: Logger;
  maxRingMs: number;
}

export class Timers {
  readonly #d: TimerDeps;
  readonly #timers = new Map<string, HaTimer>();

  constructor(deps: TimerDeps) {
    this.#d = deps;
  }

  /** Timers Home Assistant reported and that have not ended. */
  get active(): HaTimer[] {
    return [...this.#timers.values()];
  }

  event(f: Fields): void {
    const type = Number(f.event_type);
    const t: HaTimer = {
      id: String(f.timer_id ?? '').slice(0, 200),
      name: String(f.name ?? '').slice(0, 200),
      totalSeconds: Number(f.total_seconds ?? 0),
      secondsLeft: Number(f.seconds_left ?? 0),
      active: !!f.is_active,
    };
    const name = EVENT_NAMES[type];
    if (!name) {
      this.#d.log.info('timer-event-ignored', { type: f.event_type });
      return;
    }
    this.#d.log.info(`timer-${name}`, { id: t.id, name: t.name, totalSeconds: t.totalSeconds, secondsLeft: t.secondsLeft });
    if (type === TIMER_EVENT.STARTED || type === TIMER_EVENT.UPDATED) this.#timers.set(t.id, t);
    else this.#timers.delete(t.id);
    this.#report();
    if (type === TIMER_EVENT.FINISHED) this.#d.emit('timerFinished', { name: t.name, maxRingMs: this.#d.maxRingMs });
  }

  /** Forgets every timer (the agent stops). */
  stop(): void {
    if (this.#timers.size === 0) return;
    this.#timers.clear();
    this.#report();
  }

  #report(): void {
    this.#d.emit('timers', { running: this.active.map(({ id, name, totalSeconds, secondsLeft }) => ({ id, name, totalSeconds, secondsLeft })) });
  }
}
