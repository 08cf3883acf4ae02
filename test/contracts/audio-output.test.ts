/**
 * Every AudioOutput runs the contract: the fake (played out by the test, or by itself), the
 * WAV speaker (real-time and as fast as possible) and the ALSA speaker through the ALSA file
 * plugin (skipped, with the reason, where the `speaker` addon cannot load).
 */
import path from 'node:path';
import { afterAll } from 'vitest';
import { AlsaSpeaker } from '../../src/drivers/alsa/speaker.js';
import { WavSpeaker } from '../../src/drivers/wav/speaker.js';
import { memoryLogger } from '../../src/log/logger.js';
import { makeAlsaEnv } from '../support/alsa-env.js';
import { FakeSpeaker } from '../fakes/index.js';
import { speakerAddonProblem } from './alsa.js';
import { audioOutputContract } from './audio-output.js';

const alsa = makeAlsaEnv({}, { contract: 'contract.raw' });
// libasound reads ~/.asoundrc when `speaker` opens a device, in this test process.
process.env.HOME = alsa.dir;
afterAll(() => alsa.cleanup());
let files = 0;
const wavPath = () => path.join(alsa.dir, `out-${++files}.wav`);

audioOutputContract('FakeSpeaker (played out by drain())', () => {
  const output = new FakeSpeaker();
  return { output, playOut: () => output.drain() };
});

audioOutputContract('FakeSpeaker (autoDrain)', () => {
  const output = new FakeSpeaker();
  output.autoDrain = true;
  return { output };
});

audioOutputContract('WavSpeaker (real time)', () => ({ output: new WavSpeaker({ path: wavPath(), tickMs: 5 }) }));

audioOutputContract('WavSpeaker (as fast as possible)', () => ({ output: new WavSpeaker({ path: wavPath(), realtime: false }) }));

audioOutputContract('AlsaSpeaker (speaker addon, ALSA file plugin)', () => ({ output: new AlsaSpeaker({ device: 'contract', log: memoryLogger().logger }) }), {
  skip: await speakerAddonProblem(alsa.env),
});
