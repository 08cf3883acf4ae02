/**
 * `devices` and `test-audio` through the real native stack: ALSA file plugins whose capture
 * input is a FIFO fed in real time (test/support/paced-fifo.ts).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectDevices, type DevicesReport, formatDevices, judgeLevels, runTestAudio } from '../../src/cli/audio-cmd.js';
import { ConfigSchema } from '../../src/config/schema.js';
import type { AlsaDevicesReport } from '../../src/drivers/alsa/alsa-devices.js';
import { memoryLogger } from '../../src/log/logger.js';
import { type PacedFifo, pacedFifo } from '../support/paced-fifo.js';
import { type AlsaEnv, makeAlsaEnv, testSignal, toBuffer } from '../support/alsa-env.js';

let alsa: AlsaEnv;
let feeds: PacedFifo[] = [];
const speech = testSignal(16000, 1, 9);
const loud = Int16Array.from({ length: 32000 }, (_, i) => (i % 20 < 10 ? 32767 : -32768));

beforeAll(async () => {
  alsa = makeAlsaEnv({ in16: 'mic.fifo', quiet: 'silence.fifo', loud: 'loud.fifo' }, { spk: 'spk.raw' });
  feeds = [await pacedFifo(alsa.path('mic.fifo'), 640), await pacedFifo(alsa.path('silence.fifo'), 640, { silence: true }), await pacedFifo(alsa.path('loud.fifo'), 640)];
  // Helpers inherit this; `speaker` (in this process) reads ~/.asoundrc on first open.
  process.env.HOME = alsa.dir;
});
afterAll(async () => {
  await Promise.all(feeds.map((f) => f.close()));
  alsa.cleanup();
});

describe('speaker-agent devices', () => {
  it('lists the PCMs with their ranges and the spec to use, through arecord/aplay, without ALSA noise', async () => {
    const report = (await collectDevices({ probe: true, log: memoryLogger().logger, cardsPath: '/nonexistent', pcmPath: '/nonexistent', backend: 'arecord' })) as AlsaDevicesReport;
    const names = report.devices.map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'in16', 'spk']));
    const in16 = report.devices.find((d) => d.name === 'in16')!;
    expect(in16.capture?.rate?.min).toBeLessThanOrEqual(8000);
    expect(in16.playback).toBeDefined(); // a file PCM plays too
    const text = formatDevices(report);
    expect(text).toContain('  in16\n      any ch; any Hz; use --mic alsa:in16');
    expect(text).toContain('use --speaker alsa:spk');
    expect(text).not.toContain('ALSA lib');
  });

  it('formats ALSA hardware devices with the card id to use', () => {
    const text = formatDevices({
      cards: [{ index: 1, id: 'seeed2micvoicec', name: 'seeed-2mic-voicecard' }],
      devices: [
        { name: 'hw:CARD=seeed2micvoicec,DEV=0', description: 'seeed-2mic-voicecard: bcm2835-i2s-wm8960-hifi wm8960-hifi-0', capture: { channels: { min: 2, max: 2 }, rate: { min: 8000, max: 48000 } } },
        { name: 'default', capture: {} },
      ],
    });
    expect(text).toContain('      2 ch; 8000-48000 Hz; use --mic alsa:seeed2micvoicec');
    expect(text).toContain('  default\n      not opened (busy, or --no-probe); use --mic alsa:default');
  });

  it('lists the PCMs with probed rates through PortAudio (naudiodon backend)', async () => {
    const mem = memoryLogger('debug');
    const report = (await collectDevices({ probe: true, log: mem.logger, cardsPath: '/nonexistent', backend: 'naudiodon' })) as DevicesReport;
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
    feeds[0]!.play(toBuffer(speech));
    const { pcm, printed } = await run('in16');
    expect(Array.from(pcm)).toEqual(Array.from(speech.subarray(0, 8000)));
    expect(printed).toMatch(/Peak -[\d.]+ dBFS, RMS -[\d.]+ dBFS: OK\n/);
    // aplay (the default backend) pads its last 20 ms period with silence.
    const played = readFileSync(alsa.path('spk.raw'));
    expect(played.subarray(0, pcm.length * 2).equals(toBuffer(pcm))).toBe(true);
    expect(played.length - pcm.length * 2).toBeLessThanOrEqual(640);
  });

  it('hints when the mic is silent or clipping', async () => {
    expect((await run('quiet', false)).printed).toContain('Hint: the microphone is silent');
    feeds[2]!.play(toBuffer(loud));
    expect((await run('loud', false)).printed).toContain('Hint: the recording clips');
  });

  it('judges levels', () => {
    expect(judgeLevels(new Int16Array(100)).hint).toMatch(/silent/);
    expect(judgeLevels(Int16Array.from({ length: 100 }, () => 150)).hint).toMatch(/low/);
    expect(judgeLevels(Int16Array.from({ length: 100 }, (_, i) => (i % 2 ? 8000 : -8000))).hint).toBeUndefined();
  });
});
