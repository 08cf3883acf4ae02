/**
 * Home Assistant's timers on the speaker (`VoiceAssistantTimerEventResponse`; docs/backends.md,
 * "esphome"). Started, updated and cancelled timers are tracked and logged; a finished timer
 * rings: a two-tone pattern played as an unsolicited reply, paced in real time, until the user
 * stops it (a button press or `speaker-agent stop` ends the reply the session is playing) or
 * `maxRingMs` passes. The ring waits for the speaker while a conversation is going on.
 */
import { synthNotes } from '../../audio/earcon-synth.js';
import { int16ToBytes } from '../../audio/wav.js';
import type { Logger } from '../../log/logger.js';
import { TimerSlot, type Scheduler } from '../../util/clock.js';
import type { PlaybackWatch } from './announce.js';
import type { Fields } from './proto.js';
import type { Emit } from './reply-url.js';

/** aioesphomeapi's VoiceAssistantTimerEventType values. */
export const TIMER_EVENT = { STARTED: 0, UPDATED: 1, CANCELLED: 2, FINISHED: 3 } as const;
const EVENT_NAMES = ['started', 'updated', 'cancelled', 'finished'];

/** One second of ring: two short high beeps, then a pause. */
const RING_MS = 1000;
const RING_PCM = int16ToBytes(
  synthNotes([
    [988, 120],
    [0, 60],
    [988, 120],
    [0, 700],
  ]),
);

export interface HaTimer {
  id: string;
  name: string;
  totalSeconds: number;
  secondsLeft: number;
  active: boolean;
}

export interface TimerDeps {
  emit: Emit;
  watch: PlaybackWatch;
  log: Logger;
  clock: Scheduler;
  maxRingMs: number;
}

export class Timers {
  readonly #d: TimerDeps;
  readonly #timers = new Map<string, HaTimer>();
  #ring: { turnId: string; names: string[]; startedAt: number; playing: boolean } | undefined;
  readonly #tick: TimerSlot;
  #seq = 0;

  constructor(deps: TimerDeps) {
    this.#d = deps;
    this.#tick = new TimerSlot(deps.clock);
  }

  /** Timers Home Assistant reported and that have not ended. */
  get active(): HaTimer[] {
    return [...this.#timers.values()];
  }

  get ringing(): boolean {
    return this.#ring !== undefined;
  }

  event(f: Fields): void {
    const type = Number(f.event_type);
    const t: HaTimer = {
      id: String(f.timer_id ?? ''),
      name: String(f.name ?? ''),
      totalSeconds: Number(f.total_seconds ?? 0),
      secondsLeft: Number(f.seconds_left ?? 0),
      active: !!f.is_active,
    };
    this.#d.log.info(`timer-${EVENT_NAMES[type] ?? 'event'}`, { id: t.id, name: t.name, totalSeconds: t.totalSeconds, secondsLeft: t.secondsLeft });
    switch (type) {
      case TIMER_EVENT.STARTED:
      case TIMER_EVENT.UPDATED:
        this.#timers.set(t.id, t);
        return;
      case TIMER_EVENT.CANCELLED:
        this.#timers.delete(t.id);
        return;
      case TIMER_EVENT.FINISHED:
        this.#timers.delete(t.id);
        this.#startRing(t.name || 'timer');
        return;
    }
  }

  stop(): void {
    this.#tick.clear();
    this.#timers.clear();
    this.#ring = undefined;
  }

  #startRing(name: string): void {
    if (this.#ring) {
      this.#ring.names.push(name);
      return;
    }
    this.#ring = { turnId: `timer-${++this.#seq}`, names: [name], startedAt: this.#d.clock.now(), playing: false };
    this.#step();
  }

  #step(): void {
    const r = this.#ring;
    if (!r) return;
    const { emit, watch, clock } = this.#d;
    if (clock.now() - r.startedAt >= this.#d.maxRingMs) {
      if (r.playing) {
        emit('replyAudioEnd', { turnId: r.turnId });
        emit('replyEnd', { turnId: r.turnId, prompt: false });
      }
      this.#d.log.info('timer-ring-ended', { timers: r.names, reason: `rang for ${this.#d.maxRingMs} ms` });
      this.#ring = undefined;
      return;
    }
    if (r.playing && watch.host && !watch.playing(r.turnId)) {
      this.#d.log.info('timer-ring-ended', { timers: r.names, reason: 'stopped on the speaker' });
      this.#ring = undefined;
      return;
    }
    if (!r.playing && watch.idle()) {
      emit('replyAudioStart', { turnId: r.turnId, format: { codec: 'pcm', sampleRate: 16000, channels: 1 } });
      // The session plays an unsolicited reply only while idle; otherwise try again next second.
      r.playing = !watch.host || watch.playing(r.turnId);
      if (r.playing) this.#d.log.info('timer-ringing', { timers: r.names });
    }
    if (r.playing) emit('replyAudio', { turnId: r.turnId, data: RING_PCM });
    this.#tick.set(() => this.#step(), RING_MS);
  }
}
