/**
 * Every AudioInput runs the contract: the fake (driven by the test), the WAV microphone (real
 * time with silence after the file; as fast as possible and ending after it) and the ALSA
 * microphone (naudiodon in its helper process) reading a fixture through the ALSA file plugin
 * (skipped, with the reason, where naudiodon cannot load).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { AlsaMic } from '../../src/drivers/alsa/mic.js';
import { WavMic } from '../../src/drivers/wav/mic.js';
import { memoryLogger } from '../../src/log/logger.js';
import { makeAlsaEnv, testSignal, toBuffer } from '../support/alsa-env.js';
import { FakeMic } from '../fakes/index.js';
import { writeWav } from '../support/wav.js';
import { micAddonProblem } from './alsa.js';
import { audioInputContract } from './audio-input.js';

const alsa = makeAlsaEnv({ contract: 'mic.raw' }, {});
writeFileSync(alsa.path('mic.raw'), toBuffer(testSignal(16000, 3)));
afterAll(() => alsa.cleanup());
const wav = path.join(alsa.dir, 'speech.wav');
writeWav(wav, testSignal(48000, 0.5), 48000);

audioInputContract('FakeMic', () => {
  const input = new FakeMic();
  return { input, produce: (ms) => input.pushSilence(ms, 100) };
});

audioInputContract('WavMic (real time, silence after the file)', () => ({ input: new WavMic({ path: wav }) }));

audioInputContract('WavMic (as fast as possible, ends after the file)', () => ({ input: new WavMic({ path: wav, realtime: false, padSilence: false }) }), { finite: true });

audioInputContract('AlsaMic (naudiodon, ALSA file plugin)', () => ({ input: new AlsaMic({ device: 'contract', log: memoryLogger().logger, env: alsa.env }) }), {
  skip: micAddonProblem(alsa.env),
  timeoutMs: 15_000,
});
