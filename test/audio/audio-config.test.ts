import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createAudioInput, createAudioOutput } from '../../src/drivers/registry.js';
import { AlsaMic } from '../../src/drivers/alsa/mic.js';
import { AlsaSpeaker } from '../../src/drivers/alsa/speaker.js';
import type { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log/logger.js';

const issues = (raw: unknown): string[] => {
  try {
    parseConfig(raw);
    return [];
  } catch (err) {
    return (err as ConfigError).issues;
  }
};

describe('audio config', () => {
  it('has defaults for the ALSA and earcon fields', () => {
    const a = parseConfig({}).audio;
    expect(a.mic).toBe('alsa:default');
    expect(a.micChannel).toBe('mix');
    expect(a.micRate).toBe(0);
    expect(a.mp3Decoder).toBe('mpg123');
    expect(a.earcons).toEqual({ wake: 'builtin', done: 'builtin', error: 'builtin', disconnected: 'builtin', volume: 60 });
  });

  it('reports bad values as path: message', () => {
    const got = issues({ audio: { micChannel: 'left', micRate: -1, mp3Decoder: 'ffmpeg', earcons: { wake: '', bogus: 1 } } });
    expect(got.some((l) => l.startsWith('audio.micChannel: '))).toBe(true);
    expect(got.some((l) => l.startsWith('audio.micRate: '))).toBe(true);
    expect(got.some((l) => l.startsWith('audio.mp3Decoder: '))).toBe(true);
    expect(got).toContain('audio.earcons.wake: use "builtin", "off" or a path to a 16-bit PCM WAV file');
    expect(got.some((l) => l.startsWith('audio.earcons') && l.includes('bogus'))).toBe(true);
  });

  it('the registry builds ALSA drivers for alsa: specs without opening anything', async () => {
    const config = parseConfig({ audio: { mic: 'alsa:seeed', speaker: 'alsa:1', micChannel: 2, volume: 40 } });
    expect(await createAudioInput(config, silentLogger())).toBeInstanceOf(AlsaMic);
    expect(await createAudioOutput(config, silentLogger())).toBeInstanceOf(AlsaSpeaker);
  });
});
