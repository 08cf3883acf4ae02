/** TimerSlot: replace, clear, and a later deadline moved without a new timer. */
import { describe, expect, it } from 'vitest';
import { TimerSlot } from '../../src/util/clock.js';
import { ManualScheduler } from '../fakes/clock.js';

describe('TimerSlot', () => {
  it('fires once after its delay; clear() cancels', () => {
    const clock = new ManualScheduler();
    const t = new TimerSlot(clock);
    let fired = 0;
    t.set(() => fired++, 100);
    clock.advance(99);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
    expect(t.pending).toBe(false);
    t.set(() => fired++, 100);
    t.clear();
    clock.advance(500);
    expect(fired).toBe(1);
  });

  it('re-armed to a later deadline keeps one underlying timer and fires at the last deadline', () => {
    const clock = new ManualScheduler();
    const t = new TimerSlot(clock);
    let fired = 0;
    for (let i = 0; i < 50; i++) {
      t.set(() => fired++, 1000);
      clock.advance(20);
    }
    expect(clock.pending).toBe(1);
    clock.advance(979);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
  });

  it('re-armed to an earlier deadline fires then, with the newest callback', () => {
    const clock = new ManualScheduler();
    const t = new TimerSlot(clock);
    const calls: string[] = [];
    t.set(() => calls.push('late'), 1000);
    t.set(() => calls.push('early'), 10);
    clock.advance(10);
    expect(calls).toEqual(['early']);
    clock.advance(2000);
    expect(calls).toEqual(['early']);
  });

  it('tells its callback how late it runs: 0 on time, the time the process did not run when starved', () => {
    const clock = new ManualScheduler();
    const slot = new TimerSlot(clock);
    const late: number[] = [];
    slot.set((ms) => late.push(ms), 100);
    clock.advance(100);
    slot.set((ms) => late.push(ms), 100);
    clock.freeze(400); // no timer runs meanwhile
    clock.advance(0);
    expect(late).toEqual([0, 300]);
  });
});
