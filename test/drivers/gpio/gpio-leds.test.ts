import { describe, expect, it } from 'vitest';
import { apa102FrameLength, encodeApa102 } from '../../../src/drivers/gpio/apa102.js';
import { parseConfig } from '../../../src/config/load.js';
import { Apa102Sink } from '../../../src/drivers/gpio/apa102-sink.js';
import type { OutputLine } from '../../../src/drivers/gpio/lines.js';
import { SingleLedSink } from '../../../src/drivers/gpio/single-led-sink.js';
import { LedAnimator } from '../../../src/leds/animator.js';
import {
  DEFAULT_PATTERNS,
  buildPatterns,
  isAnimated,
  parseHexColor,
  renderFrame,
  type Rgb,
} from '../../../src/leds/patterns.js';
import type { LedState } from '../../../src/ports/gpio.js';
import { ManualScheduler } from '../../fakes/clock.js';
import { RecordingSpi } from '../../fakes/gpio-lines.js';

const STATES: LedState[] = ['off', 'idle', 'listening', 'follow-up', 'thinking', 'speaking', 'muted', 'error', 'disconnected', 'timer', 'ringing'];
const OFF: Rgb = [0, 0, 0];
const lit = (frame: Rgb[]) => frame.filter((c) => c.some((v) => v > 0)).length;

describe('APA102 frames', () => {
  it('3 LEDs: 4 zero bytes, 0xE0|brightness then B, G, R per LED, end frame of ones', () => {
    const buf = encodeApa102(
      [
        [0x11, 0x22, 0x33],
        [0xff, 0x00, 0x80],
        [0, 0, 0],
      ],
      31,
    );
    expect([...buf]).toEqual([
      0, 0, 0, 0,
      0xff, 0x33, 0x22, 0x11,
      0xff, 0x80, 0x00, 0xff,
      0xff, 0x00, 0x00, 0x00,
      0xff, 0xff, 0xff, 0xff,
    ]);
    expect(buf.length).toBe(apa102FrameLength(3));
  });

  it('12 LEDs: 4 + 48 + 4 bytes, brightness 10 in every LED header', () => {
    const colors: Rgb[] = Array.from({ length: 12 }, (_, i) => [i, 100 + i, 200 + i]);
    const buf = encodeApa102(colors, 10);
    expect(buf.length).toBe(56);
    expect([...buf.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    for (let i = 0; i < 12; i++) {
      expect([...buf.subarray(4 + 4 * i, 8 + 4 * i)]).toEqual([0xe0 | 10, 200 + i, 100 + i, i]);
    }
    expect([...buf.subarray(52)]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });

  it('long strips get at least count/2 end clock edges', () => {
    expect(apa102FrameLength(100)).toBe(4 + 400 + 7);
  });

  it('clamps brightness to 5 bits and channels to a byte', () => {
    const buf = encodeApa102([[300, -5, 12.6]], 99);
    expect([...buf.subarray(4, 8)]).toEqual([0xff, 13, 0, 255]);
    expect(encodeApa102([[1, 1, 1]], -3)[4]).toBe(0xe0);
  });

  it('the sink skips identical frames and writes all-off on close', async () => {
    const spi = new RecordingSpi();
    const sink = new Apa102Sink(spi, 3, 31);
    sink.show([[1, 2, 3], OFF, OFF]);
    sink.show([[1, 2, 3], OFF, OFF]);
    sink.show([[1, 2, 4], OFF, OFF]);
    expect(spi.writes.length).toBe(2);
    await sink.close();
    await sink.close();
    expect(spi.writes.length).toBe(3);
    expect([...spi.last!.subarray(4, 16)]).toEqual([0xff, 0, 0, 0, 0xff, 0, 0, 0, 0xff, 0, 0, 0]);
    expect(spi.closed).toBe(true);
  });
});

describe('patterns: every state', () => {
  it('each state renders count LEDs at any time', () => {
    for (const state of STATES) {
      for (const count of [1, 3, 12]) {
        for (const t of [0, 123, 999, 5000]) {
          const frame = renderFrame(DEFAULT_PATTERNS[state], t, undefined, count);
          expect(frame.length).toBe(count);
          for (const c of frame) for (const v of c) expect(v >= 0 && v <= 255 && Number.isInteger(v)).toBe(true);
        }
      }
    }
  });

  it('off and idle are dark and static; listening is solid blue on every LED', () => {
    expect(renderFrame(DEFAULT_PATTERNS.off, 0, undefined, 3)).toEqual([OFF, OFF, OFF]);
    expect(renderFrame(DEFAULT_PATTERNS.idle, 500, undefined, 3)).toEqual([OFF, OFF, OFF]);
    expect(isAnimated(DEFAULT_PATTERNS.idle, undefined)).toBe(false);
    const listening = renderFrame(DEFAULT_PATTERNS.listening, 0, undefined, 12);
    expect(new Set(listening.map((c) => c.join())).size).toBe(1);
    expect(listening[0]![2]).toBe(255);
    expect(isAnimated(DEFAULT_PATTERNS.listening, undefined)).toBe(false);
  });

  it('follow-up looks different from wake listening', () => {
    const a = renderFrame(DEFAULT_PATTERNS.listening, 0, undefined, 3);
    for (const t of [0, 500, 1000, 1500]) expect(renderFrame(DEFAULT_PATTERNS['follow-up'], t, undefined, 3)).not.toEqual(a);
  });

  it('thinking spins: one head moves round the ring, with a dimmer tail', () => {
    const heads: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t = Math.round((i * 1000) / 12) + 1;
      const frame = renderFrame(DEFAULT_PATTERNS.thinking, t, undefined, 12);
      const brightest = frame.reduce((best, c, i) => (c[2] > frame[best]![2] ? i : best), 0);
      heads.push(brightest);
      expect(lit(frame)).toBe(3);
    }
    expect(heads).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('speaking follows the audio level', () => {
    const quiet = renderFrame(DEFAULT_PATTERNS.speaking, 0, 0, 3)[0]!;
    const loud = renderFrame(DEFAULT_PATTERNS.speaking, 0, 1, 3)[0]!;
    const mid = renderFrame(DEFAULT_PATTERNS.speaking, 0, 0.5, 3)[0]!;
    expect(quiet[2]).toBeGreaterThan(0); // never fully dark while speaking
    expect(quiet[2]).toBeLessThan(mid[2]);
    expect(mid[2]).toBeLessThan(loud[2]);
    expect(loud).toEqual(DEFAULT_PATTERNS.speaking.color);
    expect(isAnimated(DEFAULT_PATTERNS.speaking, 0.5)).toBe(false);
    expect(isAnimated(DEFAULT_PATTERNS.speaking, undefined)).toBe(true);
  });

  it('muted is solid red; error blinks red fast; disconnected blinks amber slowly', () => {
    expect(renderFrame(DEFAULT_PATTERNS.muted, 777, undefined, 3)).toEqual([[255, 0, 0], [255, 0, 0], [255, 0, 0]]);
    const on = (state: LedState, t: number) => lit(renderFrame(DEFAULT_PATTERNS[state], t, undefined, 3)) > 0;
    expect([0, 200, 300, 450, 500].map((t) => on('error', t))).toEqual([true, true, false, false, true]);
    expect([0, 900, 1100, 1900, 2000].map((t) => on('disconnected', t))).toEqual([true, true, false, false, true]);
    const amber = renderFrame(DEFAULT_PATTERNS.disconnected, 0, undefined, 1)[0]!;
    expect(amber[0]).toBeGreaterThan(amber[1]);
    expect(amber[1]).toBeGreaterThan(amber[2]);
  });

  it('colour overrides replace colours, keep animations, and never light "off"', () => {
    const p = buildPatterns({ listening: '#00ff00', error: '#ff00ff', off: '#ffffff' });
    expect(renderFrame(p.listening, 0, undefined, 2)).toEqual([[0, 255, 0], [0, 255, 0]]);
    expect(p.error.animation).toEqual(DEFAULT_PATTERNS.error.animation);
    expect(renderFrame(p.off, 0, undefined, 1)).toEqual([OFF]);
    expect(parseHexColor('#FF8000')).toEqual([255, 128, 0]);
    expect(() => parseHexColor('orange')).toThrow(/#rrggbb/);
  });

  it('the timer and ringing states take colours from gpio.leds.colors like the others', () => {
    const cfg = parseConfig({ gpio: { leds: { driver: 'apa102', colors: { ringing: '#ff0000', timer: '#0000ff' } } } });
    const p = buildPatterns(cfg.gpio.leds.colors);
    expect(p.ringing.color).toEqual([255, 0, 0]);
    expect(p.timer.color).toEqual([0, 0, 255]);
    expect(p.ringing.animation).toEqual(DEFAULT_PATTERNS.ringing.animation);
  });
});

/** Records frames shown, as a sink. */
class FrameSink {
  frames: Rgb[][] = [];
  constructor(readonly count: number) {}
  show(frame: readonly Rgb[]): void {
    this.frames.push([...frame]);
  }
  async close(): Promise<void> {}
}

describe('LED animator', () => {
  it('static states render once; animated ones tick at fps from the state change', () => {
    const clock = new ManualScheduler();
    const sink = new FrameSink(3);
    const a = new LedAnimator(sink, DEFAULT_PATTERNS, clock, { fps: 10 });
    a.set('listening');
    clock.advance(1000);
    expect(sink.frames.length).toBe(1);
    a.set('error');
    clock.advance(1000);
    expect(sink.frames.length).toBe(1 + 1 + 10);
    // The blink starts "on" at the moment the state is entered.
    expect(lit(sink.frames[1]!)).toBe(3);
    const n = sink.frames.length;
    a.set('muted');
    clock.advance(1000);
    expect(sink.frames.length).toBe(n + 1);
    expect(clock.pending).toBe(0);
  });

  it('a new level while speaking re-renders; stop() turns the LEDs off and ignores later states', () => {
    const clock = new ManualScheduler();
    const sink = new FrameSink(3);
    const a = new LedAnimator(sink, DEFAULT_PATTERNS, clock);
    a.set('speaking', 0.1);
    a.set('speaking', 0.9);
    // Levels faster than the frame rate wait for the next frame slot, and only the latest shows.
    expect(sink.frames.length).toBe(1);
    a.set('speaking', 0.95);
    clock.advance(1000 / 30);
    expect(sink.frames.length).toBe(2);
    expect(sink.frames[1]![0]![2]).toBeGreaterThan(sink.frames[0]![0]![2]);
    expect(sink.frames[1]).toEqual(renderFrame(DEFAULT_PATTERNS.speaking, 0, 0.95, 3));
    clock.advance(1000);
    expect(sink.frames.length).toBe(2); // a steady level is not re-sent
    a.stop();
    expect(sink.frames.at(-1)).toEqual([OFF, OFF, OFF]);
    a.set('listening');
    expect(sink.frames.at(-1)).toEqual([OFF, OFF, OFF]);
  });

  it('a failing sink stops the animation and reports once', () => {
    const clock = new ManualScheduler();
    const errors: unknown[] = [];
    const sink = {
      count: 3,
      show: () => {
        throw new Error('EIO');
      },
      close: async () => {},
    };
    const a = new LedAnimator(sink, DEFAULT_PATTERNS, clock, { onError: (e) => errors.push(e) });
    a.set('thinking');
    clock.advance(1000);
    a.set('error');
    expect(errors.length).toBe(1);
    expect(clock.pending).toBe(0);
  });
});

describe('single-colour LED', () => {
  function line() {
    const levels: boolean[] = [];
    let closed = false;
    const out: OutputLine = {
      set: (h) => {
        levels.push(h);
      },
      close: async () => {
        closed = true;
      },
    };
    return { out, levels, closed: () => closed };
  }

  it('solid on/off without PWM; half brightness and up counts as on', async () => {
    const clock = new ManualScheduler();
    const l = line();
    const sink = new SingleLedSink(l.out, clock, { pwmPeriodMs: 0 });
    sink.show([[0, 0, 255]]);
    sink.show([[0, 0, 100]]);
    sink.show([[0, 0, 200]]);
    expect(l.levels).toEqual([true, false, true]);
    expect(clock.pending).toBe(0);
    await sink.close();
    expect(l.closed()).toBe(true);
  });

  it('software PWM: on for duty x period, every period', () => {
    const clock = new ManualScheduler();
    const l = line();
    const sink = new SingleLedSink(l.out, clock, { pwmPeriodMs: 20 });
    sink.show([[Math.round(255 * Math.sqrt(0.25)), 0, 0]]); // 25 % duty after the square law
    expect(sink.duty).toBe(0.25);
    const trace: [number, boolean][] = [];
    const orig = l.out.set;
    l.out.set = (h) => {
      trace.push([clock.now(), h]);
      orig(h);
    };
    clock.advance(40);
    expect(trace).toEqual([
      [5, false],
      [20, true],
      [25, false],
      [40, true],
    ]);
    sink.show([[255, 0, 0]]);
    expect(clock.pending).toBe(0);
    expect(l.levels.at(-1)).toBe(true);
  });

  it('the pulse pattern on one LED becomes a varying duty cycle', () => {
    const clock = new ManualScheduler();
    const l = line();
    const sink = new SingleLedSink(l.out, clock, { pwmPeriodMs: 20 });
    const duties = new Set<number>();
    for (let t = 0; t < 2000; t += 100) {
      sink.show(renderFrame(DEFAULT_PATTERNS['follow-up'], t, undefined, 1));
      duties.add(sink.duty);
    }
    expect(duties.size).toBeGreaterThan(5);
  });
});
