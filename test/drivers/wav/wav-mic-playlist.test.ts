/** The `wav:` microphone with several files: each cue speaks the next one, round robin. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { createAudioInput } from '../../../src/drivers/registry.js';
import type { AudioInput } from '../../../src/ports/audio-input.js';
import { silentLogger } from '../../../src/log/logger.js';
import { writeWav } from '../../support/wav.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-playlist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, value: number): string {
  const f = path.join(dir, name);
  writeWav(f, new Int16Array(1600).fill(value), 16000);
  return f;
}

/** The first non-silent sample value after the next cue. */
async function nextSpoken(mic: AudioInput & { cue(): void }): Promise<number> {
  return new Promise((resolve) => {
    const on = (f: { pcm: Int16Array }) => {
      const v = f.pcm.find((s) => s !== 0);
      if (v !== undefined) {
        mic.off('frame', on);
        resolve(v);
      }
    };
    mic.on('frame', on);
    mic.cue();
  });
}

describe('wav: microphone playlist', () => {
  it('speaks the files in turn, one per cue, then from the first again', async () => {
    const a = file('a.wav', 100);
    const b = file('b.wav', 200);
    const mic = (await createAudioInput(parseConfig({ audio: { mic: `wav:${a},${b}`, micCue: 'listen', micRealtime: false } }), silentLogger())) as AudioInput & { cue(): void };
    await mic.start();
    try {
      expect([await nextSpoken(mic), await nextSpoken(mic), await nextSpoken(mic)]).toEqual([100, 200, 100]);
    } finally {
      await mic.stop();
    }
  });

  it('a single path with a comma in it stays one file', async () => {
    const odd = file('x,y.wav.bak', 300);
    const mic = (await createAudioInput(parseConfig({ audio: { mic: `wav:${odd}`, micCue: 'listen', micRealtime: false } }), silentLogger())) as AudioInput & { cue(): void };
    await mic.start();
    try {
      expect(await nextSpoken(mic)).toBe(300);
    } finally {
      await mic.stop();
    }
  });
});
