/** The LED presenter: the LED state as a function of the session's status, on a manual clock. */
import { describe, expect, it } from 'vitest';
import { FakeGpio } from '../fakes/index.js';
import { ERROR_LED_MS, LedPresenter, ledFor, speakingLevel, type LedView } from '../../src/leds/presenter.js';
import { ManualScheduler } from '../fakes/clock.js';

const view = (over: Partial<LedView> = {}): LedView => ({ phase: 'idle', followUp: false, connected: true, muted: false, ...over });

describe('ledFor', () => {
  it('maps every phase, with muted over error over disconnected over the phase', () => {
    expect(ledFor(view(), false)).toBe('idle');
    expect(ledFor(view({ phase: 'listening' }), false)).toBe('listening');
    expect(ledFor(view({ phase: 'listening', followUp: true }), false)).toBe('follow-up');
    expect(ledFor(view({ phase: 'thinking' }), false)).toBe('thinking');
    expect(ledFor(view({ phase: 'speaking' }), false)).toBe('speaking');
    expect(ledFor(view({ phase: 'settling' }), false)).toBe('speaking');
    expect(ledFor(view({ connected: false }), false)).toBe('disconnected');
    expect(ledFor(view({ connected: false }), true)).toBe('error');
    expect(ledFor(view({ connected: false, muted: true }), true)).toBe('muted');
  });

  it('a ringing timer shows over everything; idle with timers running shows `timer`', () => {
    expect(ledFor(view({ phase: 'ringing' }), false)).toBe('ringing');
    expect(ledFor(view({ phase: 'ringing', muted: true, connected: false }), true)).toBe('ringing');
    expect(ledFor(view({ timers: 2 }), false)).toBe('timer');
    expect(ledFor(view({ timers: 0 }), false)).toBe('idle');
    // Timers only change the idle light: a conversation, mute or an error still show.
    expect(ledFor(view({ phase: 'listening', timers: 1 }), false)).toBe('listening');
    expect(ledFor(view({ muted: true, timers: 1 }), false)).toBe('muted');
  });

  it('maps the reply loudness -50..0 dBFS to 0..1', () => {
    expect(speakingLevel(Buffer.alloc(640))).toBe(0);
    const loud = Buffer.alloc(640);
    for (let i = 0; i < 320; i++) loud.writeInt16LE(i % 2 ? 32767 : -32767, i * 2);
    expect(speakingLevel(loud)).toBe(1);
  });
});

describe('LedPresenter', () => {
  function rig() {
    const gpio = new FakeGpio();
    const clock = new ManualScheduler();
    let expired = 0;
    const p = new LedPresenter(gpio, clock, () => expired++);
    return { gpio, clock, p, expired: () => expired };
  }

  it('sets the LED only when the state changes', () => {
    const r = rig();
    expect(r.p.show(view())).toBe('idle');
    expect(r.p.show(view())).toBeUndefined();
    expect(r.p.show(view({ phase: 'listening' }))).toBe('listening');
    expect(r.gpio.leds).toEqual(['idle', 'listening']);
  });

  it('shows an error for its window, then asks to be shown again', () => {
    const r = rig();
    r.p.show(view());
    r.p.error();
    expect(r.p.show(view())).toBe('error');
    r.clock.advance(ERROR_LED_MS - 1);
    expect(r.p.show(view())).toBeUndefined();
    expect(r.expired()).toBe(0);
    r.clock.advance(10);
    expect(r.expired()).toBe(1);
    expect(r.p.show(view())).toBe('idle');
  });

  it('passes the speaking level at most every 50 ms, and only while speaking', () => {
    const r = rig();
    const pcm = Buffer.alloc(640);
    r.p.level(pcm);
    expect(r.gpio.levels).toEqual([]);
    r.p.show(view({ phase: 'speaking' }));
    r.p.level(pcm);
    r.p.level(pcm);
    r.clock.advance(50);
    r.p.level(pcm);
    expect(r.gpio.levels).toEqual([0, 0]);
  });
});
