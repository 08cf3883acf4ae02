/** The jitter buffer and its playhead, on a manual clock. */
import { describe, expect, it } from 'vitest';
import type { PcmFormat } from '../../src/audio/format.js';
import { JitterBuffer } from '../../src/core/jitter.js';
import type { PcmSink } from '../../src/core/playback.js';
import { ManualScheduler } from '../fakes/clock.js';

const F: PcmFormat = { sampleRate: 16000, channels: 1 };
const chunk = (ms: number) => Buffer.alloc((ms * 32000) / 1000);

function rig(startMs = 200, stepMs = 100, maxMs = 500) {
  const clock = new ManualScheduler();
  const log: string[] = [];
  const out: PcmSink = { write: (pcm) => void log.push(`w${(pcm.length / 32000) * 1000}`), end: () => void log.push('end'), stop: () => void log.push('stop') };
  const underruns: number[] = [];
  let started = 0;
  const j = new JitterBuffer(out, clock, { startMs, stepMs, maxMs }, { underrun: (_n, t) => underruns.push(t), started: () => started++ });
  return { clock, log, j, underruns, started: () => started };
}

describe('JitterBuffer', () => {
  it('holds a reply until startMs is queued, then passes everything on', () => {
    const r = rig();
    r.j.write(chunk(100), F);
    expect(r.log).toEqual([]);
    // Held while filling: it plays only with more input or the end, so it is not "queued to play".
    expect(r.j.heldMs).toBe(100);
    expect(r.j.queuedMs).toBe(0);
    r.j.write(chunk(100), F);
    expect(r.log).toEqual(['w100', 'w100']);
    expect(r.started()).toBe(1);
    r.j.write(chunk(100), F);
    expect(r.log).toHaveLength(3);
  });

  it('a reply shorter than the buffer plays at its end', () => {
    const r = rig();
    r.j.write(chunk(50), F);
    r.j.end();
    expect(r.log).toEqual(['w50', 'end']);
  });

  it('the playhead says what is still to play', () => {
    const r = rig(0);
    r.j.write(chunk(1000), F);
    expect(r.j.queuedMs).toBe(1000);
    r.clock.advance(400);
    expect(r.j.queuedMs).toBe(600);
    r.clock.advance(1000);
    expect(r.j.queuedMs).toBe(0);
  });

  it('an underrun is counted and makes the buffer a step deeper, up to maxMs', () => {
    const r = rig(200, 200, 500);
    r.j.write(chunk(200), F); // starts at once (200 queued)
    r.clock.advance(300); // ran dry 100 ms ago
    r.j.write(chunk(100), F);
    expect(r.j.underruns).toBe(1);
    expect(r.underruns).toEqual([400]);
    expect(r.log).toEqual(['w200']); // buffering again
    r.j.write(chunk(300), F);
    expect(r.log).toEqual(['w200', 'w100', 'w300']);
    r.clock.advance(1000);
    r.j.write(chunk(100), F);
    expect(r.underruns).toEqual([400, 500]);
  });

  it('stop drops what is held and resets the depth; a new reply starts afresh', () => {
    const r = rig();
    r.j.write(chunk(100), F);
    r.j.stop();
    expect(r.log).toEqual(['stop']);
    expect(r.j.queuedMs).toBe(0);
    r.j.write(chunk(100), F);
    expect(r.log).toEqual(['stop']);
  });
});
