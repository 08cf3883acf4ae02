/** The uplink: where each microphone frame goes between turns and during one. */
import { describe, expect, it } from 'vitest';
import type { Vad, VadEvent } from '../../src/audio/vad.js';
import { Uplink } from '../../src/core/uplink.js';
import { silentLogger } from '../../src/log/logger.js';

class RecordingVad implements Vad {
  frames = 0;
  resets = 0;
  next: VadEvent | null = null;
  inSpeech = false;
  process(): VadEvent | null {
    this.frames++;
    return this.next;
  }
  reset(): void {
    this.resets++;
  }
}

function rig(preRollSamples = 480) {
  const sent: { turnId: string; samples: number; first: number }[] = [];
  const fed: number[] = [];
  const vad = new RecordingVad();
  let onSent = 0;
  const up = new Uplink({
    backend: { sendAudio: (turnId, pcm) => void sent.push({ turnId, samples: pcm.length, first: pcm[0]! }) },
    wake: { feed: (pcm, at) => void fed.push(at ?? -1) },
    vad,
    log: silentLogger(),
    preRollSamples,
    onSent: () => onSent++,
  });
  let at = 0;
  const frame = (value: number, n = 320) => {
    const f = { pcm: new Int16Array(n).fill(value), sampleIndex: at };
    at += n;
    return f;
  };
  return { up, sent, fed, vad, frame, onSent: () => onSent };
}

describe('Uplink', () => {
  it('between turns, frames feed the ring, the wake word and the VAD, and nothing goes up', () => {
    const r = rig();
    expect(r.up.frame(r.frame(1), true)).toBeNull();
    expect(r.up.frame(r.frame(2), true)).toBeNull();
    expect(r.fed).toEqual([0, 320]);
    expect(r.vad.frames).toBe(2);
    expect(r.sent).toEqual([]);
  });

  it('opening with pre-roll sends the ring first (the newest 480 samples), then each frame', () => {
    const r = rig();
    r.up.frame(r.frame(1), false);
    r.up.frame(r.frame(2), false);
    r.up.open('t1', true);
    expect(r.vad.resets).toBe(1);
    expect(r.sent).toEqual([{ turnId: 't1', samples: 480, first: 1 }]);
    r.up.frame(r.frame(3), false);
    expect(r.sent[1]).toEqual({ turnId: 't1', samples: 320, first: 3 });
    expect(r.fed).toHaveLength(2); // the wake word does not hear the utterance
    expect(r.onSent()).toBe(2);
  });

  it('a follow-up opens without the ring (it holds our own reply)', () => {
    const r = rig();
    r.up.frame(r.frame(1), false);
    r.up.open('t2', false);
    expect(r.sent).toEqual([]);
    r.up.close('t2');
    r.up.open('t3', true);
    expect(r.sent).toEqual([]); // the ring was emptied by the follow-up
  });

  it('while streaming, the VAD verdict is returned only when end of speech is watched', () => {
    const r = rig();
    r.up.open('t1', true);
    r.vad.next = 'speech-end';
    const before = r.vad.frames;
    expect(r.up.frame(r.frame(5), false)).toBeNull();
    expect(r.vad.frames).toBe(before); // push-to-talk: the VAD is not run
    expect(r.up.frame(r.frame(5), true)).toBe('speech-end');
  });

  it('closing another turn leaves the stream open; closing this one stops the uplink', () => {
    const r = rig();
    r.up.open('t1', false);
    r.up.close('other');
    expect(r.up.turn).toBe('t1');
    r.up.close('t1');
    expect(r.up.turn).toBeNull();
    r.up.frame(r.frame(1), true);
    expect(r.sent).toEqual([]);
  });
});
