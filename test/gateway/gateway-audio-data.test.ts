/** The reused-buffer audio_data encoder gives exactly the JSON the protocol module gives. */
import { describe, expect, it } from 'vitest';
import { AudioDataEncoder } from '../../src/gateway/audio-data.js';
import { out } from '../../src/gateway/protocol.js';
import { int16ToBytes } from '../../src/audio/wav.js';

describe('AudioDataEncoder', () => {
  it('matches JSON.stringify byte for byte, for every length remainder and odd ids', () => {
    const enc = new AudioDataEncoder();
    for (const id of ['t-1', 'ünïcode "quoted" \\ id', 'x'.repeat(300)]) {
      for (const n of [0, 1, 2, 3, 160, 320, 321, 322, 2000]) {
        const pcm = new Int16Array(n);
        for (let i = 0; i < n; i++) pcm[i] = ((i * 7919) % 65536) - 32768;
        const want = out.audioData(id, int16ToBytes(pcm));
        expect(enc.encode(id, pcm).toString('utf8')).toBe(want);
      }
    }
  });

  it('reuses one buffer: the message is a view that the next call overwrites', () => {
    const enc = new AudioDataEncoder();
    const a = enc.encode('t', new Int16Array(320).fill(1));
    const b = enc.encode('t', new Int16Array(320).fill(2));
    expect(a.buffer).toBe(b.buffer);
  });

  it('a view into a larger buffer encodes only its own samples', () => {
    const big = new Int16Array(1000).map((_, i) => i);
    const view = big.subarray(10, 330);
    const msg = JSON.parse(new AudioDataEncoder().encode('t', view).toString()) as { data: string };
    expect(Array.from(new Int16Array(new Uint8Array(Buffer.from(msg.data, 'base64')).buffer))).toEqual(Array.from(view));
  });
});
