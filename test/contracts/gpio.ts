/**
 * The Gpio contract (src/ports/gpio.ts), run against every button-and-LED driver: `start()` and
 * `stop()` resolve and are idempotent (the house lifecycle rule, style.md), `stop()` is safe
 * before start; `setLed()` takes every state, with or without a level, at any time; a short
 * press of the button is `down`, `up`, then `press`; and a stopped GPIO reports no button.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ButtonEvent, Gpio } from '../../src/ports/gpio.js';
import { LED_STATES } from '../fakes/gpio.js';
import { suiteName } from './util.js';

export interface GpioSubject {
  gpio: Gpio;
  /**
   * The person at the device: one short press and release of the button (moving the subject's
   * clock as needed). Needed when the contract's `button` option is set.
   */
  press?: () => Promise<void> | void;
  cleanup?: () => Promise<void> | void;
}

export interface GpioContractOptions {
  skip?: string;
  /** The subject has a button the test can press (default false). */
  button?: boolean;
}

export function gpioContract(name: string, makeSubject: () => Promise<GpioSubject> | GpioSubject, options: GpioContractOptions = {}): void {
  const open: GpioSubject[] = [];

  (options.skip ? describe.skip : describe)(suiteName(`Gpio contract: ${name}`, options.skip), () => {
    const errors: string[] = [];
    afterEach(async () => {
      for (const s of open.splice(0)) {
        await s.gpio.stop();
        await s.cleanup?.();
      }
      expect(errors.splice(0)).toEqual([]);
    });

    async function subject() {
      const s = await makeSubject();
      open.push(s);
      const events: ButtonEvent[] = [];
      s.gpio.on('button', (e) => events.push(e));
      s.gpio.on('error', (e) => errors.push(e.message));
      return { ...s, events };
    }

    it('start() and stop() resolve and are idempotent; stop() is safe before start()', async () => {
      const s = await subject();
      await s.gpio.stop();
      await s.gpio.start();
      await s.gpio.start();
      await s.gpio.stop();
      await s.gpio.stop();
    });

    it('setLed() takes every LED state, with and without a level, before start, started and after stop', async () => {
      const s = await subject();
      const all = () => {
        for (const state of LED_STATES) s.gpio.setLed(state);
        for (const level of [0, 0.37, 1]) s.gpio.setLed('speaking', level);
      };
      all();
      await s.gpio.start();
      all();
      await s.gpio.stop();
      all();
    });

    if (!options.button) return;

    function press(s: GpioSubject): Promise<void> | void {
      if (!s.press) throw new Error(`${name}: a subject with a button needs press()`);
      return s.press();
    }

    it('a short press is down, up, then press', async () => {
      const s = await subject();
      await s.gpio.start();
      await press(s);
      expect(s.events).toEqual(['down', 'up', 'press']);
      await press(s);
      expect(s.events).toEqual(['down', 'up', 'press', 'down', 'up', 'press']);
    });

    it('a stopped GPIO reports no button (a press may be refused)', async () => {
      const s = await subject();
      await s.gpio.start();
      await s.gpio.stop();
      try {
        await press(s);
      } catch (err) {
        // A strict fake refuses a press on a stopped GPIO: that is a report that did not happen.
        expect((err as Error).message).toMatch(/not started/);
      }
      expect(s.events).toEqual([]);
    });
  });
}
