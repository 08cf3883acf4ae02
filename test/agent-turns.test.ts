/**
 * The real agent over real WebSockets on loopback against the bundled local gateway: every
 * conversation path the core issue names. Hardware is faked (scriptable mic and speaker).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalGateway } from '../src/local-gateway/server.js';
import { silentLogger } from '../src/log/logger.js';
import { ManualScheduler } from './fakes/clock.js';
import { connected, marker, phase, received, silence, speech, startHarness, waitFor, waitPhase, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Speaks one utterance into the fake mic: speech then enough silence for end of speech. */
function utter(harness: Harness, ms = 600): void {
  harness.mic.push(speech(ms));
  harness.mic.push(silence(1500));
}

function actions(harness: Harness, id: string): string[] {
  return harness.gw.received.filter((r) => r.id === id).map((r) => r.action);
}

describe('a complete turn', () => {
  it('streams the utterance with its pre-roll, gets the transcript and reply, plays it, returns to idle', async () => {
    h = await startHarness({ gateway: { followUp: 'never' } });
    await connected(h);
    const transcripts: string[] = [];
    const replies: string[] = [];
    h.agent.session.on('transcript', (t) => transcripts.push(t.text));
    h.agent.session.on('replyText', (t) => replies.push(t.text));
    h.mic.push(marker(500)); // what the mic heard just before the trigger
    expect(h.agent.session.trigger('control')).toEqual({ ok: true });
    const id = h.agent.session.status().turnId!;
    expect(phase(h)).toBe('listening');
    utter(h);
    await waitPhase(h, 'speaking');
    await waitFor(() => h!.speaker.ends > 0, 'reply fully received');
    h.speaker.drain();
    await waitPhase(h, 'idle');

    const acts = actions(h, id);
    expect(acts[0]).toBe('audio_start');
    expect(acts.filter((a) => a === 'audio_end')).toHaveLength(1);
    expect(acts.indexOf('audio_end')).toBeGreaterThan(acts.lastIndexOf('audio_data'));
    // The utterance opens with the 500 ms pre-roll, sample for sample.
    const up = received(h.gw, id);
    expect(Array.from(up.subarray(0, 8000))).toEqual(Array.from(marker(500)));
    expect(up.length).toBeGreaterThanOrEqual(8000 + 9600);
    // Each audio_data carried 20 ms (320 samples) by default.
    expect(h.gw.audio.get(id)!.every((p) => p.length === 320)).toBe(true);
    // This gateway has no recogniser: an empty transcript, and a reply that says why.
    expect(transcripts[0]).toBe('');
    expect(replies[0]).toMatch(/^Speech recognition is off on this gateway/);
    expect(h.speaker.bytes).toBeGreaterThan(16000); // the tone reply, at least half a second
    expect(h.speaker.writes[0]!.format).toEqual({ sampleRate: 16000, channels: 1 });
    // The LEDs went through the turn, and followed the reply's loudness while speaking.
    expect(h.gpio.leds).toEqual(['disconnected', 'idle', 'listening', 'thinking', 'speaking', 'idle']);
    expect(h.gpio.levels.length).toBeGreaterThan(0);
    expect(h.gpio.levels.every((l) => l > 0.3 && l <= 1)).toBe(true);
  });

  it('plays an MP3 reply decoded as a stream', async () => {
    h = await startHarness({ gateway: { followUp: 'never', replyFormat: 'mp3' } });
    await connected(h);
    h.agent.session.trigger('control');
    utter(h);
    await waitFor(() => h!.speaker.ends > 0, 'mp3 reply decoded and ended', 10_000);
    expect(h.speaker.bytes).toBeGreaterThan(16000);
    expect(h.speaker.writes[0]!.format.sampleRate).toBe(16000);
  });

  it.each(['buffer', 'binary'] as const)('accepts reply audio framed as %s', async (form) => {
    h = await startHarness({ gateway: { followUp: 'never', audioDataForm: form } });
    await connected(h);
    h.agent.session.trigger('control');
    utter(h);
    await waitFor(() => h!.speaker.ends > 0, 'reply ended');
    expect(h.speaker.bytes).toBeGreaterThan(16000);
  });
});

describe('earcons', () => {
  it('plays the wake and done cues on the same speaker without taking their drain for the reply\'s', async () => {
    h = await startHarness({ gateway: { followUp: 'never' }, config: { audio: { earcons: { wake: 'builtin', done: 'builtin' } } } });
    await connected(h);
    h.agent.session.trigger('control');
    expect(h.speaker.writes).toHaveLength(1); // the wake cue, at once
    expect(h.speaker.ends).toBe(1);
    h.speaker.drain(); // the cue finished playing
    expect(phase(h)).toBe('listening');
    utter(h);
    await waitFor(() => h!.speaker.ends >= 3, 'done cue and the whole reply');
    expect(phase(h)).toBe('speaking');
    h.speaker.drain(); // the reply (which followed the done cue on the same stream) finished
    await waitPhase(h, 'idle');
  });
});

describe('follow-up', () => {
  it('prompt=true reopens the mic without a wake word after playback drained and the settle delay', async () => {
    h = await startHarness({ gateway: { followUp: 'alternate' } });
    await connected(h);
    const marks: string[] = [];
    h.agent.session.on('timeline', (m) => marks.push(m.mark));
    h.agent.session.trigger('control');
    utter(h);
    await waitFor(() => h!.speaker.ends > 0, 'first reply ended');
    expect(phase(h)).toBe('speaking'); // the mic stays closed while the reply plays
    h.speaker.drain();
    await waitPhase(h, 'listening');
    const s = h.agent.session.status();
    expect(s.followUp).toBe(true);
    expect(s.led).toBe('follow-up');
    expect(marks.indexOf('follow_up')).toBeGreaterThan(marks.indexOf('drained'));
    utter(h);
    await waitFor(() => h!.speaker.ends > 1, 'second reply ended');
    h.speaker.drain();
    await waitPhase(h, 'idle');
    expect(h.gw.received.filter((r) => r.action === 'audio_start')).toHaveLength(2);
  });

  it('a follow-up with no answer ends quietly after the expect-speech timeout', async () => {
    const clock = new ManualScheduler();
    h = await startHarness({ clock, gateway: { followUp: 'always' }, config: { conversation: { expectSpeechTimeoutMs: 500 } } });
    await connected(h);
    const notices: string[] = [];
    h.agent.session.on('notice', (n) => notices.push(n.code));
    h.agent.session.trigger('control');
    utter(h);
    await waitFor(() => h!.speaker.ends > 0, 'reply ended');
    h.speaker.drain();
    await waitPhase(h, 'settling');
    clock.advance(50); // the settle delay
    await waitPhase(h, 'listening');
    clock.advance(499);
    expect(phase(h)).toBe('listening');
    clock.advance(1);
    await waitPhase(h, 'idle', 3000);
    expect(notices).toContain('no-speech');
  });
});

describe('barge-in', () => {
  it('a trigger while speaking stops playback at once and drops the old reply', async () => {
    h = await startHarness({
      gateway: { followUp: 'never', pace: 1, plan: () => ({ text: 'A long answer that keeps talking for quite a while so that we can interrupt it.' }) },
    });
    await connected(h);
    h.agent.session.trigger('control');
    const first = h.agent.session.status().turnId;
    utter(h);
    await waitPhase(h, 'speaking');
    await waitFor(() => h!.speaker.bytes > 0, 'some reply audio');
    h.gpio.button('press');
    expect(h.speaker.stops).toBe(1);
    expect(phase(h)).toBe('listening');
    expect(h.agent.session.status().turnId).not.toBe(first);
    const bytesAtBarge = h.speaker.bytes;
    // The gateway keeps streaming the old reply for a while; none of it may reach the speaker.
    await new Promise((r) => setTimeout(r, 400));
    expect(h.speaker.bytes).toBe(bytesAtBarge);
    expect(h.logText()).toContain('reply-audio-dropped');
  });
});

describe('unsolicited replies', () => {
  it('a reply that arrives while idle is played', async () => {
    h = await startHarness();
    await connected(h);
    await h.gw.pushUnsolicited('The blinds are now open.');
    await waitFor(() => h!.speaker.ends > 0, 'unsolicited reply ended');
    expect(phase(h)).toBe('speaking');
    h.speaker.drain();
    await waitPhase(h, 'idle');
    expect(h.speaker.bytes).toBeGreaterThan(0);
  });
});

describe('errors and timeouts', () => {
  it('a gateway error ends the turn with the gateway\'s message', async () => {
    h = await startHarness({ gateway: { plan: () => ({ error: { message: 'skill crashed' } }) } });
    await connected(h);
    const errors: string[] = [];
    h.agent.session.on('error', (e) => errors.push(e.message));
    h.agent.session.trigger('control');
    utter(h);
    await waitFor(() => errors.length > 0, 'error event');
    expect(errors[0]).toBe('skill crashed');
    expect(phase(h)).toBe('idle');
    expect(h.agent.session.status().led).toBe('error');
  });

  it('no speech: listening ends after the no-speech timeout and the turn is closed', async () => {
    const clock = new ManualScheduler();
    h = await startHarness({ clock, config: { conversation: { noSpeechTimeoutMs: 500 } } });
    await connected(h);
    h.agent.session.trigger('control');
    const id = h.agent.session.status().turnId!;
    h.mic.push(silence(300));
    clock.advance(499);
    expect(phase(h)).toBe('listening');
    clock.advance(1);
    await waitPhase(h, 'idle', 3000);
    await waitFor(() => actions(h!, id).includes('audio_end'), 'audio_end for the empty turn');
  });

  it('maximum utterance: listening ends even while the user keeps talking', async () => {
    const clock = new ManualScheduler();
    h = await startHarness({ clock, config: { conversation: { maxUtteranceMs: 1000 } }, gateway: { maxUtteranceMs: 60_000 } });
    await connected(h);
    h.agent.session.trigger('control');
    // The user talks without a pause: 50 frames of speech, 20 ms of clock each.
    for (let i = 0; i < 50; i++) {
      h.mic.push(speech(20));
      clock.advance(20);
    }
    await waitFor(() => phase(h!) !== 'listening', 'listening to end', 3000);
    expect(['thinking', 'speaking']).toContain(phase(h));
  });

  it('thinking timeout: no reply returns to idle with an error', async () => {
    const clock = new ManualScheduler();
    h = await startHarness({ clock, gateway: { plan: () => ({ silent: true }) }, config: { conversation: { thinkingTimeoutMs: 1000 } } });
    await connected(h);
    const errors: string[] = [];
    h.agent.session.on('error', (e) => errors.push(e.code));
    h.agent.session.trigger('control');
    utter(h);
    await waitPhase(h, 'thinking');
    clock.advance(999);
    expect(phase(h)).toBe('thinking');
    clock.advance(1);
    await waitPhase(h, 'idle', 3000);
    expect(errors).toEqual(['thinking-timeout']);
  });
});

describe('gateway restart', () => {
  it('a gateway that dies mid-turn: the turn ends with an error, the agent reconnects, the next turn works', async () => {
    h = await startHarness({ gateway: { followUp: 'never' } });
    await connected(h);
    const port = h.gw.port;
    h.agent.session.trigger('control');
    h.mic.push(speech(200));
    await h.gw.stop();
    await waitPhase(h, 'idle');
    expect(h.agent.session.state.connected).toBe(false);
    expect(h.agent.session.trigger('control')).toMatchObject({ ok: false, reason: 'disconnected' });

    const gw2 = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0, port, followUp: 'never' });
    await gw2.start();
    h.gw = gw2;
    await waitFor(() => h!.agent.session.state.connected, 'reconnected', 5000);
    h.agent.session.trigger('control');
    utter(h);
    await waitFor(() => h!.speaker.ends > 0, 'reply after reconnect');
    expect(h.speaker.bytes).toBeGreaterThan(0);
  });
});

describe('bad messages', () => {
  it('malformed, unknown, oversized and binary-junk messages are logged and ignored; the agent keeps working', async () => {
    h = await startHarness({ gateway: { followUp: 'never' }, config: { gateway: { maxMessageBytes: 65_536 } } });
    await connected(h);
    h.gw.broadcastRaw('this is not json');
    h.gw.broadcastRaw('[1,2,3]');
    h.gw.broadcastRaw(JSON.stringify({ id: 'x', action: 'teleport' }));
    h.gw.broadcastRaw(JSON.stringify({ id: 'x', action: 'stt_transcript' }));
    h.gw.broadcastRaw(JSON.stringify({ id: 'x', action: 'audio_data', data: '!!not base64!!' }));
    h.gw.broadcastRaw(JSON.stringify({ id: 'x', action: 'audio_data', data: { type: 'Buffer', data: [1, 999] } }));
    h.gw.broadcastRaw(JSON.stringify({ id: 'x', action: 'text', text: 'x'.repeat(100_000) }));
    h.gw.broadcastRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]), true);
    await waitFor(() => (h!.logText().match(/message-ignored/g) ?? []).length >= 8, 'eight ignored messages');
    expect(h.speaker.bytes).toBe(0);
    expect(phase(h)).toBe('idle');
    expect(h.agent.session.state.connected).toBe(true);
    h.agent.session.trigger('control');
    utter(h);
    await waitFor(() => h!.speaker.ends > 0, 'a normal turn after the junk');
    const reasons = h.logLines().filter((l) => l.event === 'message-ignored').map((l) => l.reason);
    expect(reasons).toEqual(
      expect.arrayContaining(['not JSON', 'not a JSON object', 'unknown action "teleport"', 'oversized', 'binary frame outside a reply (no audio_start)']),
    );
  });
});

describe('authentication', () => {
  it('a rejected token is reported clearly, retried slowly, never printed; a fixed token connects', async () => {
    const good = 'good-token-0123456789';
    const bad = 'bad-token-abcdefghijk';
    const gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0, token: good });
    await gw.start();
    const tokenDir = (await import('node:fs')).mkdtempSync(path.join((await import('node:os')).tmpdir(), 'sa-token-'));
    const tokenFile = path.join(tokenDir, 'token');
    writeFileSync(tokenFile, bad + '\n');
    h = await startHarness({ gw, config: { gateway: { tokenFile, authRetryMs: 1000 } } });
    await waitFor(() => gw.authHeaders.length >= 1, 'first attempt');
    await new Promise((r) => setTimeout(r, 700));
    expect(gw.authHeaders.length).toBe(1); // no hot loop: the next try waits authRetryMs
    expect(gw.authHeaders[0]).toBe(`Bearer ${bad}`);
    expect(h.agent.session.trigger('control')).toMatchObject({ ok: false, reason: 'disconnected' });
    const authLines = h.logLines().filter((l) => l.event === 'auth-rejected');
    expect(authLines).toHaveLength(1);
    expect(authLines[0]).toMatchObject({ status: 401, problem: 'the gateway rejected the token' });
    writeFileSync(tokenFile, good + '\n');
    await waitFor(() => h!.agent.session.state.connected, 'connected with the fixed token', 3000);
    expect(h.logText()).not.toContain(bad);
    expect(h.logText()).not.toContain(good);
  });
});
