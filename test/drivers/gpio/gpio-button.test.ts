import { describe, expect, it } from 'vitest';
import { ButtonRecognizer, DEFAULT_BUTTON_TIMING, type ButtonTiming } from '../../../src/drivers/gpio/button.js';
import type { ButtonEvent } from '../../../src/ports/gpio.js';
import { ManualScheduler } from '../../fakes/clock.js';

function setup(timing: Partial<ButtonTiming> = {}) {
  const clock = new ManualScheduler();
  const events: { e: ButtonEvent; t: number }[] = [];
  const b = new ButtonRecognizer({ ...DEFAULT_BUTTON_TIMING, ...timing }, clock, (e) => events.push({ e, t: clock.now() }));
  /** Holds `level` for `ms`. */
  const hold = (level: boolean, ms: number) => {
    b.input(level);
    clock.advance(ms);
  };
  return { clock, b, events, hold, names: () => events.map((x) => x.e) };
}

describe('button debounce', () => {
  it('bounces inside the window give one press', () => {
    const { hold, names } = setup();
    // Contact bounce on press: five flips 2-5 ms apart, then held 200 ms.
    hold(true, 3);
    hold(false, 2);
    hold(true, 5);
    hold(false, 4);
    hold(true, 200);
    // Bounce on release too.
    hold(false, 3);
    hold(true, 2);
    hold(false, 100);
    expect(names()).toEqual(['down', 'up', 'press']);
  });

  it('reports down only after the level held for debounceMs', () => {
    const { hold, events } = setup({ debounceMs: 50 });
    hold(true, 49);
    expect(events).toEqual([]);
    hold(true, 1);
    expect(events).toEqual([{ e: 'down', t: 50 }]);
  });

  it('ignores a glitch shorter than the debounce window', () => {
    const { hold, names } = setup({ debounceMs: 50 });
    hold(true, 30);
    hold(false, 500);
    expect(names()).toEqual([]);
  });

  it('with debounce 0 takes every change at once', () => {
    const { hold, names } = setup({ debounceMs: 0 });
    hold(true, 10);
    hold(false, 10);
    expect(names()).toEqual(['down', 'up', 'press']);
  });

  it('a button held at start-up is not a press', () => {
    const clock = new ManualScheduler();
    const events: ButtonEvent[] = [];
    const b = new ButtonRecognizer(DEFAULT_BUTTON_TIMING, clock, (e) => events.push(e), true);
    b.input(true);
    clock.advance(2000);
    expect(events).toEqual([]);
    b.input(false);
    clock.advance(100);
    expect(events).toEqual(['up', 'press']);
  });
});

describe('short, long and double press', () => {
  it('a short press is down, up, press', () => {
    const { hold, events } = setup();
    hold(true, 300);
    hold(false, 100);
    expect(events.map((x) => x.e)).toEqual(['down', 'up', 'press']);
    // press fires at release (after debounce), not later.
    expect(events[2]!.t).toBe(350);
  });

  it('long-press fires while still held, at longPressMs after down, and release gives no press', () => {
    const { hold, events } = setup({ longPressMs: 1000 });
    hold(true, 1049);
    expect(events.map((x) => x.e)).toEqual(['down']);
    hold(true, 1);
    expect(events.map((x) => x.e)).toEqual(['down', 'long-press']);
    expect(events[1]!.t - events[0]!.t).toBe(1000);
    hold(false, 100);
    expect(events.map((x) => x.e)).toEqual(['down', 'long-press', 'up']);
  });

  it('a press of 999 ms is still short', () => {
    const { hold, names } = setup({ longPressMs: 1000, debounceMs: 50 });
    // Pressed for 999 ms: both edges are delayed by the same debounce, so 999 ms between down and up.
    hold(true, 999);
    hold(false, 100);
    expect(names()).toEqual(['down', 'up', 'press']);
  });

  it('double press: two short presses within the window', () => {
    const { hold, names } = setup({ doublePressMs: 400 });
    hold(true, 100);
    hold(false, 150);
    hold(true, 100);
    hold(false, 1000);
    expect(names()).toEqual(['down', 'up', 'down', 'up', 'double-press']);
  });

  it('double press enabled: a lone press comes after the window', () => {
    const { hold, events } = setup({ doublePressMs: 400 });
    hold(true, 100);
    hold(false, 399 + 50);
    expect(events.map((x) => x.e)).toEqual(['down', 'up']);
    hold(false, 1);
    expect(events.map((x) => x.e)).toEqual(['down', 'up', 'press']);
    expect(events[2]!.t - events[1]!.t).toBe(400);
  });

  it('two presses further apart than the window are two presses', () => {
    const { hold, names } = setup({ doublePressMs: 300 });
    hold(true, 100);
    hold(false, 500);
    hold(true, 100);
    hold(false, 500);
    expect(names()).toEqual(['down', 'up', 'press', 'down', 'up', 'press']);
  });

  it('a short press then a long one: press, then long-press', () => {
    const { hold, names } = setup({ doublePressMs: 400 });
    hold(true, 100);
    hold(false, 100);
    hold(true, 1500);
    hold(false, 100);
    expect(names()).toEqual(['down', 'up', 'down', 'press', 'long-press', 'up']);
  });

  it('dispose cancels pending timers', () => {
    const { hold, names, b, clock } = setup({ doublePressMs: 400 });
    hold(true, 100);
    hold(false, 60);
    b.dispose();
    clock.advance(5000);
    expect(names()).toEqual(['down', 'up']);
    expect(clock.pending).toBe(0);
  });
});
