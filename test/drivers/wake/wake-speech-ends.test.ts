/**
 * The end of speech for the second look (speech-ends.ts): energy against the room's floor,
 * pure arithmetic on synthetic halves.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK_SAMPLES, HALF_SAMPLES } from '../../../src/drivers/openwakeword/features.js';
import { SpeechEnds, type SpeechEvent } from '../../../src/drivers/openwakeword/speech-ends.js';

/** A half of a sine at `amplitude` (0: a room at amplitude 30). */
function half(amplitude: number, seed = 1): Int16Array {
  const h = new Int16Array(HALF_SAMPLES);
  let x = seed;
  for (let i = 0; i < h.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const noise = ((x >>> 16) / 65536 - 0.5) * 60;
    h[i] = Math.round(noise + amplitude * Math.sin(i * 0.3));
  }
  return h;
}

function run(ends: SpeechEnds, plan: [number, number][]): { event: SpeechEvent; at: number }[] {
  const out: { event: SpeechEvent; at: number }[] = [];
  let k = 0;
  for (const [amplitude, halves] of plan) {
    for (let i = 0; i < halves; i++, k++) {
      const event = ends.push(half(amplitude, k + 1));
      if (event) out.push({ event, at: k });
    }
  }
  return out;
}

describe('speech ends', () => {
  it('reports the first quiet half after enough speech, and the speech that resumes after it', () => {
    const ends = new SpeechEnds();
    // 1 s of room, 400 ms of speech, 400 ms of room, 200 ms of speech, 600 ms of room.
    const events = run(ends, [[0, 25], [3000, 10], [0, 10], [3000, 5], [0, 15]]);
    expect(events).toEqual([
      { event: 'end', at: 35 },
      { event: 'speech', at: 45 },
      // The short second word continues the stretch (the gap was shorter than 480 ms): 15 speech halves.
      { event: 'end', at: 50 },
    ]);
    expect(ends.lastSpeechHalves).toBe(15);
  });

  it('needs minSpeechHalves of speech; a long pause starts a new stretch', () => {
    const ends = new SpeechEnds();
    // 200 ms of speech after a room: too short. Then 600 ms of room (a new stretch), 200 ms again: still too short.
    expect(run(ends, [[0, 25], [3000, 5], [0, 15], [3000, 5], [0, 5]])).toEqual([]);
    const loose = new SpeechEnds({ minSpeechHalves: 4 });
    expect(run(loose, [[0, 25], [3000, 5], [0, 5]]).map((e) => e.event)).toEqual(['end']);
  });

  it('halves between quiet and speech neither end nor continue a stretch; the pads are the room', () => {
    const ends = new SpeechEnds();
    // Speech, then a tail 9 dB above the room (between 6 and 12 dB), then the room.
    const events = run(ends, [[0, 25], [3000, 10], [60, 3], [0, 3]]);
    expect(events).toEqual([{ event: 'end', at: 38 }]);
    const pads = ends.pads(3);
    expect(pads).toHaveLength(3);
    expect(pads[0]).toHaveLength(CHUNK_SAMPLES);
    const peak = Math.max(...pads[0]!.map(Math.abs));
    expect(peak).toBeLessThan(40);
    expect(pads[1]![0]).toBe(pads[0]![CHUNK_SAMPLES - 1]);
    // After a reset the floor is learnt again: speech heard first is its own floor.
    ends.reset();
    expect(run(ends, [[3000, 10], [0, 2]])).toEqual([]);
    ends.reset();
    expect(run(ends, [[0, 3], [3000, 10], [0, 2]]).map((e) => e.event)).toEqual(['end']);
  });
});
