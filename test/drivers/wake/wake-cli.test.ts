/** `speaker-agent wake check`: reports why the wake word is off and runs a WAV through the VAD. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { int16ToBytes, wavHeader } from '../../../src/audio/wav.js';
import { CONFIG_FLAGS, configFromFlags } from '../../../src/cli/common.js';
import { wakeCheck } from '../../../src/cli/wake-cmd.js';

/** 1 s silence, 1.2 s of syllable-like tone bursts, 1 s silence, as a 16 kHz WAV file. */
function writeSpeechWav(dir: string): string {
  const pcm = new Int16Array(16000 * 3.2);
  for (let i = 16000; i < 16000 * 2.2; i++) {
    const t = i / 16000;
    const env = Math.abs(Math.sin(Math.PI * 4 * t)); // four "syllables" per second
    pcm[i] = Math.round(6000 * env * (Math.sin(2 * Math.PI * 220 * t) + 0.5 * Math.sin(2 * Math.PI * 1500 * t)));
  }
  const file = path.join(dir, 'speech.wav');
  const data = int16ToBytes(pcm);
  writeFileSync(file, Buffer.concat([wavHeader({ sampleRate: 16000, channels: 1 }, data.length), data]));
  return file;
}

describe('wake check', () => {
  it('says why the wake word is unavailable, exits 1, and still runs the recording through the VAD', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wake-cli-'));
    const wav = writeSpeechWav(dir);
    let out = '';
    const code = await wakeCheck({ wav }, (s) => (out += s), { PORCUPINE_ACCESS_KEY: 'this-is-not-a-key' });
    expect(code).toBe(1);
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe(
      'wake word: unavailable: Porcupine AccessKey (from environment variable PORCUPINE_ACCESS_KEY) is invalid: copy it again from https://console.picovoice.ai/ (one line, no spaces)',
    );
    expect(lines.slice(1).map((l) => l.trim().split(/\s+/).slice(2).join(' '))).toEqual([
      'speech-start',
      'speech-end', // the recording has 1 s of silence after speech, more than the 750 ms hang-over
      `end of ${wav}, 2 s of silence follow`,
    ]);
    const at = (name: string) => Number(lines.find((l) => l.includes(name))!.trim().split(' ')[0]);
    expect(at('speech-start')).toBeGreaterThan(1.0);
    expect(at('speech-start')).toBeLessThan(1.3);
    expect(at('speech-end')).toBeGreaterThan(2.2 + 0.75);
    expect(at('speech-end')).toBeLessThan(2.2 + 1.15);
    expect(out).not.toContain('this-is-not-a-key');
  });

  it('names the missing key sources when none is set (wake.engine porcupine)', async () => {
    let out = '';
    // wake.engine defaults to auto, which picks openWakeWord without a key: ask for Porcupine.
    const code = await wakeCheck({ wake: 'porcupine' }, (s) => (out += s), {});
    expect(code).toBe(1);
    expect(out).toMatch(/^wake word: unavailable: no Porcupine AccessKey: set wake.accessKeyFile/);
  });

  it('--wake porcupine and SPEAKER_AGENT_WAKE select the engine; the key has no flag', () => {
    expect(configFromFlags({ wake: 'porcupine' }, {}).wake.engine).toBe('porcupine');
    expect(configFromFlags({}, { SPEAKER_AGENT_WAKE: 'porcupine' }).wake.engine).toBe('porcupine');
    // The key itself is never a flag (it would show in `ps`): only files and the environment.
    expect(CONFIG_FLAGS.filter((f) => /access.?key/i.test(f.flag + f.path))).toEqual([]);
    expect(() => configFromFlags({ wake: 'snowboy' }, {})).toThrow(/wake.engine: Invalid option: expected one of "none"\|"porcupine"/);
  });
});
