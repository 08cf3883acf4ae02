/**
 * The whole chain on real native audio: naudiodon captures a 48 kHz stereo "microphone" (an
 * ALSA file PCM fed through a FIFO), the agent converts it to 16 kHz mono and streams it to the
 * local gateway over ws, and the reply is played through `speaker` into an ALSA file PCM.
 * Asserts the gateway received exactly the converted capture and ALSA got exactly the reply.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync, type WriteStream } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../src/agent.js';
import { CaptureConverter } from '../src/audio/channels.js';
import { bytesToInt16 } from '../src/audio/wav.js';
import { parseConfig } from '../src/config/load.js';
import { AlsaMic } from '../src/drivers/alsa/mic.js';
import { AlsaSpeaker } from '../src/drivers/alsa/speaker.js';
import { FakeGpio, FakeWake } from './fakes/index.js';
import { LocalGateway } from '../src/local-gateway/server.js';
import { toneFor } from '../src/local-gateway/speech.js';
import { memoryLogger, silentLogger } from '../src/log/logger.js';
import { type AlsaEnv, interleave, makeAlsaEnv, testSignal, toBuffer } from './audio-alsa-env.js';
import { NO_EARCONS, received, waitFor } from './support/harness.js';

const REPLY = 'Here is the answer.';
let alsa: AlsaEnv;
let fifo: number;
let feed: WriteStream;

/** Writes to the FIFO off the main thread (a full pipe must not block the test's event loop). */
function write(buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => feed.write(buf, (err) => (err ? reject(err) : resolve())));
}
let gw: LocalGateway;
let agent: Agent | undefined;

beforeAll(async () => {
  alsa = makeAlsaEnv({ mic48: 'mic.fifo' }, { spk: 'spk.raw' });
  execFileSync('mkfifo', [alsa.path('mic.fifo')]);
  fifo = openSync(alsa.path('mic.fifo'), 'r+'); // keeps the pipe open: no EOF between writes
  feed = createWriteStream(alsa.path('mic.fifo'));
  process.env.HOME = alsa.dir; // `speaker` loads libasound in this process
  gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0, followUp: 'never', plan: () => ({ text: REPLY }) });
  await gw.start();
});
afterAll(async () => {
  await agent?.stop();
  await gw.stop();
  feed.destroy();
  closeSync(fifo);
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
    const second = 48000 * 2 * 2;
    const lead = Buffer.alloc(second); // a second of silence before the user speaks
    // What the agent must produce: the same conversion over the same stream the mic saw.
    const expected = new CaptureConverter({ sampleRate: 48000, channels: 2 }, 16000, 'mix').process(bytesToInt16(Buffer.concat([lead, stereo])));

    // Local end of speech ends the turn (not the gateway default), as the silence above intends.
    const config = parseConfig({ gateway: { url: gw.url }, audio: { mic: 'alsa:mic48', speaker: 'alsa:spk', earcons: NO_EARCONS }, conversation: { endOnSilence: true }, log: { level: 'info' } });
    const mic = new AlsaMic({ device: 'mic48', log: mem.logger, env: alsa.env, rate: 48000, channels: 2, stallMs: 10_000 });
    const speaker = new AlsaSpeaker({ device: 'spk', log: mem.logger });
    agent = await createAgent(config, { log: mem.logger, controlSocket: null, overrides: { mic, speaker, wake: new FakeWake(), gpio: new FakeGpio() } });
    let frames = 0;
    mic.on('frame', () => frames++);
    // The first second (silence) arrives before the trigger: the pre-roll comes from it.
    await agent.start();
    void write(lead);
    await waitFor(() => agent!.session.state.connected && frames >= 10, `connected (${agent!.session.state.connected}) and capturing (${frames} frames)`, 10_000);
    expect(agent.session.trigger('control')).toEqual({ ok: true });
    const id = agent.session.status().turnId!;
    for (let off = 0; off < stereo.length; off += second / 10) await write(stereo.subarray(off, off + second / 10));
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

    // Downlink: ALSA was given exactly the reply the gateway spoke.
    const played = bytesToInt16(readFileSync(alsa.path('spk.raw')));
    expect(Array.from(played)).toEqual(Array.from(toneFor(REPLY)));
  });
});
