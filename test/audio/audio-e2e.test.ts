/**
 * The whole chain through the default ALSA backend: arecord captures a 48 kHz stereo
 * "microphone" (an ALSA file PCM whose input is a FIFO fed in real time by a separate process),
 * the agent converts it to 16 kHz mono and streams it to the local gateway over ws, and the
 * reply is played through aplay into an ALSA file PCM. Asserts the gateway received exactly the
 * converted capture and ALSA got exactly the reply.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../../src/agent.js';
import { CaptureConverter } from '../../src/audio/channels.js';
import { bytesToInt16 } from '../../src/audio/wav.js';
import { parseConfig } from '../../src/config/load.js';
import { AplayPlayback } from '../../src/drivers/alsa/aplay.js';
import { ArecordCapture } from '../../src/drivers/alsa/arecord.js';
import { AlsaMic } from '../../src/drivers/alsa/mic.js';
import { AlsaSpeaker } from '../../src/drivers/alsa/speaker.js';
import { FakeGpio, FakeWake } from '../fakes/index.js';
import { LocalGateway } from '../../src/local-gateway/server.js';
import { toneFor } from '../../src/local-gateway/speech.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { type AlsaEnv, interleave, makeAlsaEnv, testSignal, toBuffer } from '../support/alsa-env.js';
import { NO_EARCONS, received, waitFor } from '../support/harness.js';
import { type PacedFifo, pacedFifo } from '../support/paced-fifo.js';

const REPLY = 'Here is the answer.';
let alsa: AlsaEnv;
let feed: PacedFifo;
let gw: LocalGateway;
let agent: Agent | undefined;

beforeAll(async () => {
  alsa = makeAlsaEnv({ mic48: 'mic.fifo' }, { spk: 'spk.raw' });
  // 20 ms of 48 kHz stereo every 20 ms, silence between what the test plays.
  feed = await pacedFifo(alsa.path('mic.fifo'), 3840, { silence: true });
  gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0, followUp: 'never', plan: () => ({ text: REPLY }) });
  await gw.start();
});
afterAll(async () => {
  await agent?.stop();
  await gw.stop();
  await feed.close();
  alsa.cleanup();
});

describe('ALSA mic -> agent -> gateway -> agent -> ALSA speaker', () => {
  it('delivers the converted capture to the gateway and the reply to ALSA, sample for sample', async () => {
    const mem = memoryLogger('info');
    // 48 kHz stereo: the "user" on the left channel, quiet hiss on the right; mixed to mono.
    const seconds = 6;
    const speechL = testSignal(48000, seconds, 7, 300);
    const quietR = testSignal(48000, seconds, 8, 100).map((s) => s >> 6);
    // Silence in the last 2.5 s so the utterance ends on local end of speech.
    speechL.fill(0, 48000 * 3.5);
    quietR.fill(0, 48000 * 3.5);
    const stereo = toBuffer(interleave(speechL, quietR));
    // Before the user speaks the device delivers silence, in whole 20 ms blocks: the stream the
    // mic saw is zeros then the speech, with the speech starting on a multiple of 3 samples
    // (the 48 -> 16 kHz decimation phase). What the agent must produce: the same conversion.
    const lead = Buffer.alloc(48000 * 2 * 2);
    const expected = new CaptureConverter({ sampleRate: 48000, channels: 2 }, 16000, 'mix').process(bytesToInt16(Buffer.concat([lead, stereo])));

    // Local end of speech ends the turn (not the gateway default), as the silence above intends.
    const config = parseConfig({ gateway: { url: gw.url }, audio: { mic: 'alsa:mic48', speaker: 'alsa:spk', earcons: NO_EARCONS }, conversation: { endOnSilence: true }, log: { level: 'info' } });
    const mic = new AlsaMic({ device: 'mic48', log: mem.logger, env: alsa.env, rate: 48000, channels: 2, stallMs: 10_000, backend: new ArecordCapture() });
    const speaker = new AlsaSpeaker({ device: 'spk', log: mem.logger, backend: new AplayPlayback({ log: mem.logger, env: alsa.env }) });
    agent = await createAgent(config, { log: mem.logger, controlSocket: null, overrides: { mic, speaker, wake: new FakeWake(), gpio: new FakeGpio() } });
    let frames = 0;
    mic.on('frame', () => frames++);
    // The first second (silence) arrives before the trigger: the pre-roll comes from it.
    await agent.start();
    await waitFor(() => agent!.session.state.connected && frames >= 50, `connected (${agent!.session.state.connected}) and capturing (${frames} frames)`, 10_000);
    expect(agent.session.trigger('control')).toEqual({ ok: true });
    const id = agent.session.status().turnId!;
    feed.play(stereo); // the user speaks, in real time
    await waitFor(() => agent!.session.state.phase.kind === 'idle' && gw.received.some((r) => r.id === id && r.action === 'audio_end'), 'the turn to finish', 20_000);

    // Uplink: what the gateway got (pre-roll, then the utterance) is one contiguous stretch of
    // the converted capture, sample for sample. Locate it by a window in the speech.
    const up = received(gw, id);
    expect(up.length).toBeGreaterThan(16000 * 3);
    const probe = 8000 + 16000; // inside the speech, after the pre-roll
    const window = up.subarray(probe, probe + 320);
    let at = -1;
    for (let k = 0; k + 320 <= expected.length && at < 0; k++) {
      let same = true;
      for (let j = 0; j < 320 && same; j++) same = expected[k + j] === window[j];
      if (same) at = k;
    }
    expect(at, 'the speech window is found in the converted capture').toBeGreaterThan(0);
    const from = at - probe;
    const want = expected.subarray(from, from + up.length);
    const firstDiff = up.findIndex((s, i) => s !== want[i]);
    expect(firstDiff, `first difference at ${firstDiff} of ${up.length}`).toBe(-1);
    expect(want.length).toBe(up.length);

    // Downlink: ALSA was given exactly the reply the gateway spoke (aplay pads its last 20 ms
    // period with silence).
    const reply = toneFor(REPLY);
    const played = bytesToInt16(readFileSync(alsa.path('spk.raw')));
    expect(Array.from(played.subarray(0, reply.length))).toEqual(Array.from(reply));
    expect(played.length - reply.length).toBeLessThanOrEqual(320);
    expect(played.subarray(reply.length).every((v) => v === 0)).toBe(true);
  });
});
