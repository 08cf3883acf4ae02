/**
 * Reply playback through the real agent and the bundled gateway: long replies are not cut off,
 * slow replies do not stutter, a finished turn's reply is not replayed, cues never pile up or
 * hold a reply's end. The session runs on a manual clock; the gateway's messages are scripted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualScheduler } from './fakes/clock.js';
import { FakeMic } from './fakes/index.js';
import { connected, phase, speech, silence, startHarness, waitFor, waitPhase, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const PCM16K = 'audio/l16; rate=16000; channels=1';

/** Scripts the gateway's reply to `id`: `seconds` of 16 kHz audio in 100 ms chunks, sent at once. */
function reply(harness: Harness, id: string, seconds: number, opts: { prompt?: boolean; end?: boolean } = {}): void {
  harness.gw.broadcastRaw(JSON.stringify({ id, action: 'audio_start', options: { tts: { content_type: PCM16K } } }));
  const chunk = Buffer.alloc(3200, 1).toString('base64');
  for (let i = 0; i < seconds * 10; i++) harness.gw.broadcastRaw(JSON.stringify({ id, action: 'audio_data', data: chunk }));
  if (opts.end !== false) harness.gw.broadcastRaw(JSON.stringify({ id, action: 'audio_end', ...(opts.prompt ? { prompt: true } : {}) }));
}

/** A turn the gateway does not answer by itself; returns its id once thinking. */
async function silentTurn(harness: Harness): Promise<string> {
  harness.agent.session.trigger('control');
  const id = harness.agent.session.status().turnId!;
  harness.mic.push(speech(600));
  harness.mic.push(silence(900));
  await waitPhase(harness, 'thinking');
  return id;
}

const audioMs = (harness: Harness) => (harness.speaker.bytes / 32000) * 1000;

describe('reply playback', () => {
  it('a 30 s answer that arrives at once plays to its end: the playback timer follows the playhead', async () => {
    const clock = new ManualScheduler();
    h = await startHarness({ clock, gateway: { plan: () => ({ silent: true }) }, config: { conversation: { thinkingTimeoutMs: 15_000 } } });
    await connected(h);
    const errors: string[] = [];
    h.agent.session.on('error', (e) => errors.push(e.code));
    const id = await silentTurn(h);
    reply(h, id, 30);
    await waitFor(() => audioMs(h!) >= 30_000, 'the whole reply handed to the speaker');
    expect(phase(h)).toBe('speaking');
    for (let t = 0; t < 30_000; t += 1000) clock.advance(1000); // the answer plays for 30 s
    expect(errors).toEqual([]);
    expect(phase(h)).toBe('speaking');
    h.speaker.drain();
    await waitPhase(h, 'idle');
    expect(errors).toEqual([]);
  });

  it('a speaker that never drains still times out, once the playhead has passed the end', async () => {
    const clock = new ManualScheduler();
    h = await startHarness({ clock, gateway: { plan: () => ({ silent: true }) }, config: { conversation: { thinkingTimeoutMs: 2000 } } });
    await connected(h);
    const errors: string[] = [];
    h.agent.session.on('error', (e) => errors.push(e.code));
    const id = await silentTurn(h);
    reply(h, id, 10);
    await waitFor(() => audioMs(h!) >= 10_000, 'the whole reply handed to the speaker');
    clock.advance(9_000);
    expect(errors).toEqual([]);
    clock.advance(4_000); // 10 s of audio, then the 2 s limit and the playhead grace
    expect(errors).toEqual(['playback-timeout']);
    expect(phase(h)).toBe('idle');
  });

  /** 3 s of audio at half rate (a 100 ms chunk every 200 ms of clock); returns the underruns. */
  async function slowReply(jitterBuffer: { startMs: number; stepMs: number; maxMs: number }): Promise<number> {
    const clock = new ManualScheduler();
    h = await startHarness({ clock, gateway: { plan: () => ({ silent: true }) }, config: { audio: { jitterBuffer } } });
    await connected(h);
    let arrived = 0;
    h.agent.backend.on('replyAudio', () => arrived++);
    const id = await silentTurn(h);
    h.gw.broadcastRaw(JSON.stringify({ id, action: 'audio_start', options: { tts: { content_type: PCM16K } } }));
    const chunk = Buffer.alloc(3200, 1).toString('base64');
    for (let i = 0; i < 30; i++) {
      h.gw.broadcastRaw(JSON.stringify({ id, action: 'audio_data', data: chunk }));
      await waitFor(() => arrived === i + 1, `chunk ${i} at the agent`);
      clock.advance(200);
    }
    h.gw.broadcastRaw(JSON.stringify({ id, action: 'audio_end' }));
    await waitFor(() => audioMs(h!) >= 3000, 'the whole reply');
    const underruns = h.agent.session.status().playback!.underruns;
    expect(h.logLines().filter((l) => l.event === 'playback-underrun')).toHaveLength(underruns);
    await h.close();
    h = undefined;
    return underruns;
  }

  it('a reply that arrives slower than real time is buffered instead of stuttering; underruns are counted', async () => {
    // Without a buffer every chunk after the first finds the speaker dry.
    expect(await slowReply({ startMs: 0, stepMs: 0, maxMs: 0 })).toBe(29);
    // With one, it starts after 300 ms and deepens after each underrun: a few at most.
    const buffered = await slowReply({ startMs: 300, stepMs: 200, maxMs: 1000 });
    expect(buffered).toBeGreaterThan(0);
    expect(buffered).toBeLessThanOrEqual(4);
  });

  it('a finished turn\'s reply sent again is dropped, not played as an announcement', async () => {
    h = await startHarness({ gateway: { plan: () => ({ silent: true }) } });
    await connected(h);
    const id = await silentTurn(h);
    reply(h, id, 0.5);
    await waitFor(() => h!.speaker.ends > 0, 'reply played');
    h.speaker.drain();
    await waitPhase(h, 'idle');
    const bytes = h.speaker.bytes;
    reply(h, id, 0.5); // the gateway re-sends the same reply
    await waitFor(() => h!.logText().includes('reply-audio-dropped'), 'the re-sent reply dropped');
    await new Promise((r) => setTimeout(r, 50));
    expect(phase(h)).toBe('idle');
    expect(h.speaker.bytes).toBe(bytes);
  });
});

describe('cues and the reply share the speaker', () => {
  const CUES = { audio: { earcons: { wake: 'builtin', done: 'builtin', error: 'off', disconnected: 'off' } } } as const;

  it('an empty reply asking a question while a cue plays still opens the follow-up', async () => {
    h = await startHarness({ gateway: { plan: () => ({ silent: true }) }, config: CUES });
    await connected(h);
    const id = await silentTurn(h); // the done cue is on the speaker now
    h.gw.broadcastRaw(JSON.stringify({ id, action: 'audio_start', options: { tts: { content_type: PCM16K } } }));
    h.gw.broadcastRaw(JSON.stringify({ id, action: 'audio_end', prompt: true }));
    await waitFor(() => h!.speaker.ends >= 3, 'the reply ended on the speaker');
    h.speaker.drain(); // one drained for the cue and the empty reply
    await waitPhase(h, 'listening');
    expect(h.agent.session.status().followUp).toBe(true);
  });

  it('twenty quick listen/stop pairs leave no queue of cues', async () => {
    h = await startHarness({ config: CUES });
    await connected(h);
    const stopsBefore = h.speaker.stops;
    for (let i = 0; i < 20; i++) {
      h.agent.session.trigger('control');
      h.agent.session.stopAll();
    }
    expect(phase(h)).toBe('idle');
    // Every cue was cut by its stop: nothing is left to play.
    expect(h.speaker.stops - stopsBefore).toBeGreaterThanOrEqual(20);
    expect(h.speaker.playing).toBe(false);
  });
});

describe('unsolicited replies', () => {
  it('one that arrives during a turn is held and played after the turn\'s own reply', async () => {
    h = await startHarness({ gateway: { plan: () => ({ silent: true }) } });
    await connected(h);
    const id = await silentTurn(h);
    await h.gw.pushUnsolicited('The blinds are now open.');
    await waitFor(() => h!.logText().includes('reply-held'), 'the unsolicited reply held');
    expect(h.speaker.bytes).toBe(0); // nothing plays over the turn
    reply(h, id, 0.5);
    await waitFor(() => h!.speaker.ends > 0, 'our reply played');
    const ours = h.speaker.bytes;
    h.speaker.drain();
    await waitFor(() => h!.logText().includes('held-reply-playing'), 'the held reply playing');
    await waitFor(() => h!.speaker.ends > 1, 'the held reply ended');
    expect(h.speaker.bytes).toBeGreaterThan(ours);
    h.speaker.drain();
    await waitPhase(h, 'idle');
  });
});

describe('barge-in by voice', () => {
  /** A microphone that cannot hear the speaker (as a file, or with echo cancellation working). */
  class EchoFreeMic extends FakeMic {
    readonly hearsSpeaker = false;
  }

  async function speakingTurn(mic?: FakeMic): Promise<string> {
    h = await startHarness({ ...(mic ? { mic } : {}), gateway: { plan: () => ({ silent: true }) } });
    await connected(h);
    const id = await silentTurn(h);
    reply(h, id, 5, { end: false });
    await waitFor(() => h!.speaker.bytes > 0, 'the reply playing');
    expect(phase(h)).toBe('speaking');
    return id;
  }

  it('the wake word over a reply stops it and opens a new turn when the mic cannot hear the speaker', async () => {
    const first = await speakingTurn(new EchoFreeMic());
    expect(h!.wake.guarded).toBe(false);
    h!.wake.detect('hey jarvis');
    expect(h!.speaker.stops).toBeGreaterThan(0);
    expect(phase(h!)).toBe('listening');
    expect(h!.agent.session.status().turnId).not.toBe(first);
    expect(h!.agent.session.state.stale).toContain(first);
  });

  it('a microphone that hears the speaker keeps the wake word guarded while the reply plays', async () => {
    await speakingTurn();
    expect(h!.wake.guarded).toBe(true);
  });
});
