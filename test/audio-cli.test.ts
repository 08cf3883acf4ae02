/** `devices` and `test-audio` through the real native stack (ALSA file plugin). */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectDevices, formatDevices, judgeLevels, runTestAudio } from '../src/cli/audio-cmd.js';
import { ConfigSchema } from '../src/config/schema.js';
import { memoryLogger } from '../src/log/logger.js';
import { type AlsaEnv, makeAlsaEnv, testSignal, toBuffer } from './audio-alsa-env.js';

let alsa: AlsaEnv;
const speech = testSignal(16000, 1, 9);

beforeAll(() => {
  alsa = makeAlsaEnv({ in16: 'mic.raw', quiet: 'silence.raw', loud: 'loud.raw' }, { spk: 'spk.raw' });
  writeFileSync(alsa.path('mic.raw'), toBuffer(speech));
  writeFileSync(alsa.path('silence.raw'), Buffer.alloc(32000 * 2));
  writeFileSync(alsa.path('loud.raw'), toBuffer(Int16Array.from({ length: 32000 }, (_, i) => (i % 20 < 10 ? 32767 : -32768))));
  // The helper inherits this; `speaker` (in this process) reads ~/.asoundrc on first open.
  process.env.HOME = alsa.dir;
});
afterAll(() => alsa.cleanup());

describe('speaker-agent devices', () => {
  it('lists the PCMs with probed rates and the spec to use, without ALSA noise', async () => {
    const mem = memoryLogger('debug');
    const report = await collectDevices({ probe: true, log: mem.logger, cardsPath: '/nonexistent' });
    const names = report.devices.map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'in16', 'spk']));
    const in16 = report.devices.find((d) => d.name === 'in16')!;
    expect(report.rates![String(in16.id)]!.input).toEqual(expect.arrayContaining([16000, 48000]));
    const text = formatDevices(report);
    expect(text).toContain('use --mic alsa:in16');
    expect(text).toContain('use --speaker alsa:spk');
    expect(text).not.toContain('ALSA lib');
  });

  it('formats hardware devices with the card id to use', () => {
    const text = formatDevices({
      cards: [{ index: 1, id: 'seeed2micvoicec', name: 'seeed-2mic-voicecard' }],
      devices: [
        { id: 0, name: 'seeed-2mic-voicecard: bcm2835-i2s-wm8960-hifi wm8960-hifi-0 (hw:1,0)', maxInputChannels: 2, maxOutputChannels: 2, defaultSampleRate: 48000 },
        { id: 1, name: 'default', maxInputChannels: 128, maxOutputChannels: 128, defaultSampleRate: 44100 },
      ],
      defaultInput: 1,
      defaultOutput: 1,
      rates: { '0': { input: [16000, 48000], output: [16000, 48000] } },
    });
    expect(text).toContain('  1 [seeed2micvoicec] seeed-2mic-voicecard');
    expect(text).toContain('      2 ch; 16000, 48000 Hz; use --mic alsa:seeed2micvoicec');
    expect(text).toContain('  default (default)\n      any channels (ALSA plugin); default 44100 Hz; use --mic alsa:default');
  });
});

describe('speaker-agent test-audio', () => {
  const run = async (mic: string, play = true) => {
    const config = ConfigSchema.parse({ audio: { mic: `alsa:${mic}`, speaker: 'alsa:spk' } });
    let printed = '';
    const r = await runTestAudio(config, { seconds: 0.5, play }, { write: (s) => (printed += s), log: memoryLogger().logger });
    return { ...r, printed };
  };

  it('records exactly the asked length, reports levels and plays the recording back', async () => {
    const { pcm, printed } = await run('in16');
    expect(Array.from(pcm)).toEqual(Array.from(speech.subarray(0, 8000)));
    expect(printed).toMatch(/Peak -[\d.]+ dBFS, RMS -[\d.]+ dBFS: OK\n/);
    expect(readFileSync(alsa.path('spk.raw')).equals(toBuffer(pcm))).toBe(true);
  });

  it('hints when the mic is silent or clipping', async () => {
    expect((await run('quiet', false)).printed).toContain('Hint: the microphone is silent');
    expect((await run('loud', false)).printed).toContain('Hint: the recording clips');
  });

  it('judges levels', () => {
    expect(judgeLevels(new Int16Array(100)).hint).toMatch(/silent/);
    expect(judgeLevels(Int16Array.from({ length: 100 }, () => 150)).hint).toMatch(/low/);
    expect(judgeLevels(Int16Array.from({ length: 100 }, (_, i) => (i % 2 ? 8000 : -8000))).hint).toBeUndefined();
  });
});
