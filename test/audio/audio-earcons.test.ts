import { describe, expect, it } from 'vitest';
import { EARCON_NAMES, synthEarcon } from '../../src/audio/earcon-synth.js';
import { Earcons } from '../../src/audio/earcons.js';
import { peakDb } from '../../src/audio/pcm.js';
import { wavHeader } from '../../src/audio/wav.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { FakeSpeaker } from '../fakes/index.js';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log/logger.js';

const config = (earcons: Record<string, unknown> = {}) => ConfigSchema.parse({ audio: { earcons } }).audio.earcons;

describe('built-in earcons', () => {
  it.each(EARCON_NAMES)('%s is short, audible, below full scale and starts and ends at silence (no click)', (name) => {
    const pcm = synthEarcon(name);
    expect(pcm.length / 16000).toBeGreaterThan(0.1);
    expect(pcm.length / 16000).toBeLessThan(0.5);
    expect(peakDb(pcm)).toBeGreaterThan(-12);
    expect(peakDb(pcm)).toBeLessThan(-6);
    expect(Math.abs(pcm[0]!)).toBeLessThan(50);
    expect(Math.abs(pcm[pcm.length - 1]!)).toBeLessThan(50);
  });

  it('the four sounds differ', () => {
    const keys = EARCON_NAMES.map((n) => Buffer.from(synthEarcon(n).buffer).toString('base64'));
    expect(new Set(keys).size).toBe(4);
  });
});

describe('Earcons', () => {
  it('plays a configured sound as one stream (write then end) at the earcon volume', async () => {
    const out = new FakeSpeaker();
    await out.start();
    const e = new Earcons({ config: config({ volume: 50 }), log: silentLogger() });
    e.play('wake', out);
    expect(out.writes).toHaveLength(1);
    expect(out.ends).toBe(1);
    expect(out.writes[0]!.format).toEqual({ sampleRate: 16000, channels: 1 });
    const played = new Int16Array(new Uint8Array(out.writes[0]!.pcm).buffer);
    expect(Array.from(played)).toEqual(Array.from(synthEarcon('wake', 0.5)));
    expect(e.durationMs('wake')).toBe(160);
  });

  it('an earcon that is off plays nothing', async () => {
    const out = new FakeSpeaker();
    await out.start();
    const e = new Earcons({ config: config({ done: 'off' }), log: silentLogger() });
    expect(e.has('done')).toBe(false);
    e.play('done', out);
    expect(out.writes).toHaveLength(0);
    expect(out.ends).toBe(0);
  });

  it('a WAV path replaces a sound and plays at its own format', async () => {
    const data = Buffer.alloc(22050 * 2 * 2 * 0.1, 0);
    data.writeInt16LE(1000, 0);
    const file = Buffer.concat([wavHeader({ sampleRate: 22050, channels: 2 }, data.length), data]);
    const e = new Earcons({ config: config({ error: '/x/err.wav', volume: 100 }), log: silentLogger(), readFile: () => file });
    const out = new FakeSpeaker();
    await out.start();
    e.play('error', out);
    expect(out.writes[0]!.format).toEqual({ sampleRate: 22050, channels: 2 });
    expect(out.writes[0]!.pcm.equals(data)).toBe(true);
  });

  it('bad files are reported at construction, one path: message line each', () => {
    let err: unknown;
    try {
      new Earcons({
        config: config({ wake: '/nope/wake.wav', disconnected: '/x/not-a-wav' }),
        log: silentLogger(),
        readFile: (p) => {
          if (p.startsWith('/nope')) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
          return Buffer.from('hello');
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      'audio.earcons.wake: cannot use "/nope/wake.wav" (ENOENT); give a 16-bit PCM WAV file, "builtin" or "off"',
      'audio.earcons.disconnected: cannot use "/x/not-a-wav" (not a WAV file (no RIFF/WAVE header)); give a 16-bit PCM WAV file, "builtin" or "off"',
    ]);
  });
});
