/**
 * What the LEDs show, as a function of the session's status: a ringing timer wins (it is what
 * the button stops now), then muted, then an error (shown for two seconds after it happened),
 * then a lost connection, then the phase; idle with timers running shows `timer`. While speaking,
 * the light follows the loudness of the reply being played. The presenter owns the error window
 * and the level rate limit; the GPIO driver only renders the state it is given.
 */
import { rmsDb } from '../audio/pcm.js';
import { bytesToInt16 } from '../audio/wav.js';
import type { Phase } from '../core/state.js';
import type { Gpio, LedState } from '../ports/gpio.js';
import { TimerSlot, type Scheduler } from '../util/clock.js';

/** The part of the session's status the LEDs depend on. */
export interface LedView {
  phase: Phase['kind'];
  followUp: boolean;
  connected: boolean;
  muted: boolean;
  /** Timers running at the backend (Home Assistant); 0 when none. */
  timers?: number;
}

/** How long an error shows before the LED returns to the phase. */
export const ERROR_LED_MS = 2000;
/** The speaking level is sent at most this often. */
const LEVEL_EVERY_MS = 50;

/** The LED state for a status; `errorShowing` while an error's window is open. */
export function ledFor(v: LedView, errorShowing: boolean): LedState {
  if (v.phase === 'ringing') return 'ringing';
  if (v.muted) return 'muted';
  if (errorShowing) return 'error';
  if (!v.connected) return 'disconnected';
  switch (v.phase) {
    case 'idle':
      return (v.timers ?? 0) > 0 ? 'timer' : 'idle';
    case 'listening':
      return v.followUp ? 'follow-up' : 'listening';
    case 'thinking':
      return 'thinking';
    case 'speaking':
    case 'settling':
      return 'speaking';
  }
}

/** The reply's loudness for the speaking light: -50..0 dBFS mapped to 0..1, two decimals. */
export function speakingLevel(pcm: Buffer): number {
  const level = Math.max(0, Math.min(1, (rmsDb(bytesToInt16(pcm)) + 50) / 50));
  return Math.round(level * 100) / 100;
}

export class LedPresenter {
  #led: LedState = 'off';
  #errorUntil = -Infinity;
  #levelAt = -Infinity;
  readonly #errorEnd: TimerSlot;

  /**
   * @param gpio where the states go
   * @param clock the session's clock
   * @param expired called when an error's window closes, to show the status again
   */
  constructor(
    private readonly gpio: Gpio,
    private readonly clock: Scheduler,
    private readonly expired: () => void,
  ) {
    this.#errorEnd = new TimerSlot(clock);
  }

  /** The state shown now. */
  get led(): LedState {
    return this.#led;
  }

  /** Shows the state for `view`; returns it when it changed, else undefined. */
  show(view: LedView): LedState | undefined {
    const led = ledFor(view, this.clock.now() < this.#errorUntil);
    if (led === this.#led) return undefined;
    this.#led = led;
    this.gpio.setLed(led);
    return led;
  }

  /** An error happened: the error state shows for ERROR_LED_MS (call `show` after this). */
  error(): void {
    this.#errorUntil = this.clock.now() + ERROR_LED_MS;
    this.#errorEnd.set(() => this.expired(), ERROR_LED_MS + 5);
  }

  /** Reply PCM handed to the speaker: the speaking light follows its level. */
  level(pcm: Buffer): void {
    if (this.#led !== 'speaking') return;
    const now = this.clock.now();
    if (now - this.#levelAt < LEVEL_EVERY_MS) return;
    this.#levelAt = now;
    this.gpio.setLed('speaking', speakingLevel(pcm));
  }

  /** Stops the error window's timer (the session is stopping). */
  dispose(): void {
    this.#errorEnd.clear();
  }
}
