import { describe, expect, it } from 'vitest';
import { EchoLearning } from '../../../src/drivers/echo/learning.js';

const frame = (amp: number, n = 320) => Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin(i / 3)));

describe('EchoLearning: has the canceller learnt the room', () => {
  it('stays learning while the canceller takes off only a few dB, and learns at the first window with >= 10 dB', () => {
    const l = new EchoLearning({ windowSamples: 3200 });
    const ref = frame(8000);
    const mic = frame(8000);
    // 3 dB taken off: not converged, window after window.
    for (let k = 0; k < 30; k++) l.observe(mic, frame(8000 / Math.SQRT2), ref);
    expect(l.learnt).toBe(false);
    expect(l.heardMs(16000)).toBe(600);
    // 9 frames at 20 dB and one bad one: the window's ERLE is still above 10 dB.
    for (let k = 0; k < 9; k++) l.observe(mic, frame(800), ref);
    expect(l.learnt).toBe(false);
    l.observe(mic, frame(2000), ref);
    expect(l.learnt).toBe(true);
  });

  it('frames without played sound do not count, so silence never proves anything', () => {
    const l = new EchoLearning({ windowSamples: 3200 });
    for (let k = 0; k < 100; k++) l.observe(frame(100), frame(1), frame(10));
    expect(l.learnt).toBe(false);
    expect(l.heardMs(16000)).toBe(0);
  });

  it('a microphone that hears the speaker only faintly passes: the residual is 30 dB below what was played', () => {
    const l = new EchoLearning({ windowSamples: 3200 });
    const ref = frame(20000);
    // Nothing cancelled (ERLE 0 dB), but what is left is 36 dB below the reference.
    for (let k = 0; k < 10; k++) l.observe(frame(300), frame(300), ref);
    expect(l.learnt).toBe(true);
  });

  it('a user talking over the first reply keeps it learning (the output is not smaller than the input)', () => {
    const l = new EchoLearning({ windowSamples: 3200 });
    const ref = frame(8000);
    for (let k = 0; k < 50; k++) l.observe(frame(9000), frame(8500), ref);
    expect(l.learnt).toBe(false);
  });
});
