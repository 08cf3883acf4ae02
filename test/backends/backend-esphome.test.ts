/**
 * The real agent (session, player, state machine) as a Home Assistant voice satellite: the
 * @2colors client plays Home Assistant over encrypted loopback, a local HTTP server serves the
 * TTS and announcement audio, the hardware is faked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VA_EVENT } from '../../src/backends/esphome/pipeline.js';
import { TIMER_EVENT } from '../../src/backends/esphome/timers.js';
import { MEDIA_PLAYER_KEY, MUTE_SWITCH_KEY } from '../../src/backends/esphome/entities.js';
import { FakeHomeAssistant } from '../support/fake-home-assistant.js';
import { KEY_B64, played, soxFlac, startEsphome, startReplyServer, tone, wav, type EsphomeSetup, type ReplyServer } from '../support/esphome.js';
import { marker, waitFor } from '../support/harness.js';
import type { DirectAgent } from '../support/direct-agent.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

const REPLY = tone(300, 1500);
const CHIME = tone(100, 900);
const SPEECH = tone(200, 2500);

interface World {
  s: EsphomeSetup;
  a: DirectAgent;
  ha: FakeHomeAssistant;
  http: ReplyServer;
}

async function world(key: string | undefined = KEY_B64): Promise<World> {
  const http = await startReplyServer({
    '/api/tts_proxy/reply.wav': { body: wav(REPLY), type: 'audio/x-wav' },
    '/chime.wav': { body: wav(CHIME), type: 'audio/wav' },
    '/speech.wav': { body: wav(SPEECH), type: 'audio/wav' },
    '/api/tts_proxy/reply.flac': { body: soxFlac(REPLY, 16000, 1), type: 'audio/flac' },
  });
  cleanups.push(() => http.close());
  const s = await startEsphome({ ...(key ? { key } : {}), agent: true });
  cleanups.push(() => s.close());
  const ha = new FakeHomeAssistant({ port: s.backend.port, ...(key ? { key } : {}) });
  cleanups.push(() => ha.disconnect());
  await ha.connect();
  ha.subscribeVoice();
  const a = s.agent!;
  // Errors are expected in some tests; an 'error' event without a listener would throw.
  a.agent.session.on('error', () => undefined);
  await waitFor(() => a.agent.session.state.connected, 'the session to see Home Assistant');
  return { s, a, ha, http };
}

const phase = (w: World) => w.a.agent.session.state.phase.kind;

/** Home Assistant runs the pipeline for the current request: transcript, reply text and audio. */
async function answer(w: World, opts: { text: string; reply: string; continueConversation?: boolean; conversationId?: string; url?: string }): Promise<void> {
  const { ha } = w;
  ha.event(VA_EVENT.RUN_START);
  ha.event(VA_EVENT.STT_START);
  ha.event(VA_EVENT.STT_VAD_START);
  ha.event(VA_EVENT.STT_VAD_END);
  ha.event(VA_EVENT.STT_END, { text: opts.text });
  ha.event(VA_EVENT.INTENT_START);
  ha.event(VA_EVENT.INTENT_END, { conversation_id: opts.conversationId ?? 'conv-1', continue_conversation: opts.continueConversation ? '1' : '0' });
  ha.event(VA_EVENT.TTS_START, { text: opts.reply });
  ha.event(VA_EVENT.TTS_END, { url: w.http.url(opts.url ?? '/api/tts_proxy/reply.wav') });
  ha.event(VA_EVENT.RUN_END);
}

function audioSent(ha: FakeHomeAssistant): Buffer {
  return Buffer.concat(ha.all('VoiceAssistantAudio').filter((m) => m.data).map((m) => Buffer.from(m.data as string, 'base64')));
}

describe('esphome backend: the agent as a Home Assistant voice satellite', () => {
  it('a wake-word turn: request with the wake word, audio up after Home Assistant accepts, transcript, reply WAV played as it arrives, announce-finished', async () => {
    const w = await world();
    const transcripts: string[] = [];
    const replies: string[] = [];
    w.a.agent.session.on('transcript', (t) => transcripts.push(t.text));
    w.a.agent.session.on('replyText', (t) => replies.push(t.text));
    w.a.mic.push(marker(300, 111)); // pre-roll
    w.a.wake.detect('fake');
    const req = await w.ha.next('VoiceAssistantRequest', (m) => m.start === true);
    expect(req).toMatchObject({ start: true, wakeWordPhrase: 'fake', conversationId: '' });
    expect(phase(w)).toBe('listening');
    // Audio is held until Home Assistant accepts the run, then sent with the pre-roll first.
    w.a.mic.push(marker(100, 222));
    expect(w.ha.all('VoiceAssistantAudio')).toHaveLength(0);
    w.ha.acceptRun();
    await waitFor(() => audioSent(w.ha).length >= (300 + 100) * 32, 'the held audio');
    const up = audioSent(w.ha);
    expect(up.readInt16LE(0)).toBe(111);
    expect(up.readInt16LE(up.length - 2)).toBe(222);

    await answer(w, { text: 'what time is it', reply: 'It is noon.' });
    await waitFor(() => played(w.a).length >= REPLY.length, 'the reply on the speaker');
    expect(played(w.a)).toEqual(REPLY);
    expect(w.a.speaker.writes[0]!.format).toEqual({ sampleRate: 16000, channels: 1 });
    await waitFor(() => phase(w) === 'idle', 'idle after the reply');
    await w.ha.next('VoiceAssistantAnnounceFinished');
    expect(transcripts).toEqual(['what time is it']);
    expect(replies).toEqual(['It is noon.']);
    expect(w.http.requests).toEqual(['/api/tts_proxy/reply.wav']);

    // The next turn carries Home Assistant's conversation id.
    w.a.agent.session.trigger('control');
    expect(await w.ha.next('VoiceAssistantRequest', (m) => m.start === true)).toMatchObject({ conversationId: 'conv-1', wakeWordPhrase: '' });
  });

  it('a reply Home Assistant serves as FLAC is decoded and played, sample for sample', async () => {
    const w = await world();
    w.a.agent.session.trigger('control');
    await w.ha.next('VoiceAssistantRequest', (m) => m.start === true);
    w.ha.acceptRun();
    await answer(w, { text: 'hello', reply: 'Hi.', url: '/api/tts_proxy/reply.flac' });
    await waitFor(() => played(w.a).length >= REPLY.length, 'the FLAC reply on the speaker');
    expect(played(w.a)).toEqual(REPLY);
    await w.ha.next('VoiceAssistantAnnounceFinished');
    expect(w.http.requests).toEqual(['/api/tts_proxy/reply.flac']);
  });

  it('the same turn over the plaintext protocol', async () => {
    const w = await world(undefined);
    w.a.wake.detect('fake');
    expect(await w.ha.next('VoiceAssistantRequest', (m) => m.start === true)).toMatchObject({ wakeWordPhrase: 'fake' });
    w.ha.acceptRun();
    w.a.mic.push(marker(100, 333));
    await waitFor(() => audioSent(w.ha).includes(Buffer.from([333 & 0xff, 333 >> 8])), 'the audio');
    await answer(w, { text: 'hello', reply: 'Hi.' });
    await w.ha.next('VoiceAssistantAnnounceFinished');
    expect(played(w.a)).toEqual(REPLY);
  });

  it('continue conversation: after the reply the agent listens again without a wake word', async () => {
    const w = await world();
    w.a.agent.session.trigger('control');
    await w.ha.next('VoiceAssistantRequest', (m) => m.start === true);
    w.ha.acceptRun();
    await answer(w, { text: 'set a timer', reply: 'For how long?', continueConversation: true, conversationId: 'conv-7' });
    const follow = await w.ha.next('VoiceAssistantRequest', (m) => m.start === true);
    expect(follow).toMatchObject({ conversationId: 'conv-7', wakeWordPhrase: '' });
    expect(w.a.agent.session.status()).toMatchObject({ phase: 'listening', followUp: true });
    expect(played(w.a)).toEqual(REPLY);
  });

  it('the local end of speech ends the audio; abandoning a turn aborts the run', async () => {
    const w = await world();
    w.a.agent.session.trigger('control');
    await w.ha.next('VoiceAssistantRequest', (m) => m.start === true);
    w.ha.acceptRun();
    // A button press while listening means "I'm done": VoiceAssistantAudio(end).
    w.a.gpio.button('press');
    await w.ha.next('VoiceAssistantAudio', (m) => m.end === true);
    expect(phase(w)).toBe('thinking');
    // Stop (double press) abandons it: VoiceAssistantRequest(start: false).
    w.a.gpio.button('double-press');
    await w.ha.next('VoiceAssistantRequest', (m) => m.start === false);
    expect(phase(w)).toBe('idle');
  });

  it('a pipeline error is a turn error the user sees; the agent goes back to waiting', async () => {
    const w = await world();
    const errors: string[] = [];
    w.a.agent.session.on('error', (e) => errors.push(e.message));
    w.a.agent.session.trigger('control');
    await w.ha.next('VoiceAssistantRequest', (m) => m.start === true);
    w.ha.acceptRun();
    w.ha.event(VA_EVENT.RUN_START);
    w.ha.event(VA_EVENT.ERROR, { code: 'stt-no-text-recognized', message: 'No text recognized' });
    w.ha.event(VA_EVENT.RUN_END);
    await waitFor(() => errors.length > 0, 'the error');
    expect(errors[0]).toBe('Home Assistant: No text recognized (stt-no-text-recognized)');
    expect(phase(w)).toBe('idle');
  });

  it('an announcement with a preannounce sound plays both, then tells Home Assistant it finished', async () => {
    const w = await world();
    const replies: string[] = [];
    w.a.agent.session.on('replyText', (t) => replies.push(t.text));
    w.ha.send('VoiceAssistantAnnounceRequest', { mediaId: w.http.url('/speech.wav'), preannounceMediaId: w.http.url('/chime.wav'), text: 'Dinner is ready', startConversation: false });
    expect(await w.ha.next('VoiceAssistantAnnounceFinished')).toMatchObject({ success: true });
    expect(played(w.a)).toEqual(Buffer.concat([CHIME, SPEECH]));
    expect(w.http.requests).toEqual(['/chime.wav', '/speech.wav']);
    expect(replies).toEqual(['Dinner is ready']);
    expect(phase(w)).toBe('idle');
    expect(w.ha.all('VoiceAssistantRequest')).toHaveLength(0);
  });

  it('start conversation: the announcement plays, then the agent listens and opens a run without a wake word', async () => {
    const w = await world();
    w.ha.send('VoiceAssistantAnnounceRequest', { mediaId: w.http.url('/speech.wav'), text: 'Shall I turn off the lights?', startConversation: true });
    await w.ha.next('VoiceAssistantAnnounceFinished');
    const req = await w.ha.next('VoiceAssistantRequest', (m) => m.start === true);
    expect(req).toMatchObject({ wakeWordPhrase: '' });
    expect(w.a.agent.session.status()).toMatchObject({ phase: 'listening', followUp: true });
    expect(played(w.a)).toEqual(SPEECH);
  });

  it('an announcement that cannot be fetched fails clearly and still finishes', async () => {
    const w = await world();
    w.ha.send('VoiceAssistantAnnounceRequest', { mediaId: w.http.url('/missing.wav'), text: '', startConversation: false });
    expect(await w.ha.next('VoiceAssistantAnnounceFinished')).toMatchObject({ success: false });
    expect(w.s.log.text()).toContain('HTTP 404');
    expect(phase(w)).toBe('idle');
  });

  it('a finished timer rings (ringing phase, LED and status) until the button stops it; no turn is opened', async () => {
    const w = await world();
    const session = w.a.agent.session;
    const timer = { timerId: 't1', name: 'pasta', totalSeconds: 600, secondsLeft: 600, isActive: true };
    w.ha.send('VoiceAssistantTimerEventResponse', { eventType: TIMER_EVENT.STARTED, ...timer });
    await waitFor(() => session.status().timers === 1, 'the timer to be counted');
    expect(w.s.backend.timers.active[0]).toMatchObject({ id: 't1', name: 'pasta', totalSeconds: 600 });
    expect(session.status().led).toBe('timer');
    w.ha.send('VoiceAssistantTimerEventResponse', { eventType: TIMER_EVENT.FINISHED, ...timer, secondsLeft: 0, isActive: false });
    await waitFor(() => phase(w) === 'ringing', 'ringing');
    expect(session.status()).toMatchObject({ phase: 'ringing', led: 'ringing', ringing: ['pasta'] });
    expect(w.a.gpio.leds).toContain('ringing');
    // The ring plays again after its pause: two rings reach the speaker.
    const ring = w.a.speaker.bytes;
    expect(ring).toBeGreaterThan(0);
    await waitFor(() => w.a.speaker.bytes >= 2 * ring, 'a second ring', 3000);
    w.a.gpio.button('press');
    expect(phase(w)).toBe('idle');
    expect(session.status().led).toBe('idle');
    await new Promise((r) => setTimeout(r, 900));
    // Stopped for good (no third ring), and Home Assistant was never asked to start a pipeline.
    const after = w.a.speaker.bytes;
    await new Promise((r) => setTimeout(r, 900));
    expect(w.a.speaker.bytes).toBe(after);
    expect(w.ha.all('VoiceAssistantRequest').filter((m) => m.start === true)).toHaveLength(0);
    expect(w.s.log.text()).toContain('ring-stopped');
  });

  it('the wake word stops a ring without opening a conversation', async () => {
    const w = await world();
    w.ha.send('VoiceAssistantTimerEventResponse', { eventType: TIMER_EVENT.FINISHED, timerId: 't2', name: 'tea', totalSeconds: 60, secondsLeft: 0, isActive: false });
    await waitFor(() => phase(w) === 'ringing', 'ringing');
    w.a.wake.detect();
    expect(phase(w)).toBe('idle');
    await new Promise((r) => setTimeout(r, 300));
    expect(phase(w)).toBe('idle');
    expect(w.ha.all('VoiceAssistantRequest').filter((m) => m.start === true)).toHaveLength(0);
    // The next wake word is an ordinary one: it opens a turn.
    w.a.wake.detect();
    await w.ha.next('VoiceAssistantRequest', (m) => m.start === true);
  });

  it('an announcement that arrives while a timer rings waits for the ring to stop', async () => {
    const w = await world();
    w.ha.send('VoiceAssistantTimerEventResponse', { eventType: TIMER_EVENT.FINISHED, timerId: 't3', name: '', totalSeconds: 60, secondsLeft: 0, isActive: false });
    await waitFor(() => phase(w) === 'ringing', 'ringing');
    expect(w.a.agent.session.status().ringing).toEqual(['timer']);
    w.ha.send('VoiceAssistantAnnounceRequest', { mediaId: w.http.url('/speech.wav'), text: 'dinner is ready', startConversation: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(phase(w)).toBe('ringing');
    w.a.agent.session.stopAll();
    expect(await w.ha.next('VoiceAssistantAnnounceFinished')).toMatchObject({ success: true });
    const all = played(w.a);
    expect(all.subarray(all.length - SPEECH.length)).toEqual(SPEECH);
  });
  it('the mute switch and the media player volume follow Home Assistant, and Home Assistant follows the agent', async () => {
    const w = await world();
    w.ha.send('SwitchCommandRequest', { key: MUTE_SWITCH_KEY, state: true });
    await waitFor(() => w.a.agent.session.state.muted, 'muted by Home Assistant');
    await w.ha.next('SwitchStateResponse', (m) => m.state === true);
    w.a.agent.session.setMuted(false);
    await w.ha.next('SwitchStateResponse', (m) => m.state === false);

    w.ha.send('MediaPlayerCommandRequest', { key: MEDIA_PLAYER_KEY, hasVolume: true, volume: 0.4 });
    await waitFor(() => w.a.speaker.volume === 40, 'the speaker volume');
    await w.ha.next('MediaPlayerStateResponse', (m) => Math.abs((m.volume as number) - 0.4) < 1e-6);
    w.ha.send('MediaPlayerCommandRequest', { key: MEDIA_PLAYER_KEY, hasCommand: true, command: 3 });
    await waitFor(() => w.a.speaker.volume === 0, 'muted output');
    w.ha.send('MediaPlayerCommandRequest', { key: MEDIA_PLAYER_KEY, hasCommand: true, command: 4 });
    await waitFor(() => w.a.speaker.volume === 40, 'the volume restored');
    // Set elsewhere (the control socket, MQTT, a gateway command): the session tells Home Assistant.
    w.a.agent.session.setVolume(25);
    await w.ha.next('MediaPlayerStateResponse', (m) => Math.abs((m.volume as number) - 0.25) < 1e-6);
    expect(w.a.speaker.volume).toBe(25);
  });

  it('media URLs from the media player play as unsolicited replies', async () => {
    const w = await world();
    w.ha.send('MediaPlayerCommandRequest', { key: MEDIA_PLAYER_KEY, hasMediaUrl: true, mediaUrl: w.http.url('/speech.wav') });
    await waitFor(() => played(w.a).length >= SPEECH.length, 'the media');
    expect(played(w.a)).toEqual(SPEECH);
    await waitFor(() => phase(w) === 'idle', 'idle');
  });

  it('Home Assistant restarting mid-turn: the turn is dropped, the agent reconnects when it is back', async () => {
    const w = await world();
    w.a.agent.session.trigger('control');
    await w.ha.next('VoiceAssistantRequest', (m) => m.start === true);
    w.ha.kill();
    await waitFor(() => !w.a.agent.session.state.connected && phase(w) === 'idle', 'the turn dropped');
    expect(w.a.agent.session.trigger('control')).toMatchObject({ ok: false, reason: 'disconnected' });
    const again = new FakeHomeAssistant({ port: w.s.backend.port, key: KEY_B64 });
    cleanups.push(() => again.disconnect());
    await again.connect();
    again.subscribeVoice();
    await waitFor(() => w.a.agent.session.state.connected, 'connected again');
    w.a.agent.session.trigger('control');
    await again.next('VoiceAssistantRequest', (m) => m.start === true);
  });
});

describe('esphome backend: the longest ring', () => {
  it('a ring nobody stops ends after esphome.timerMaxRingMs, back to idle with a notice', async () => {
    const http = await startReplyServer({});
    cleanups.push(() => http.close());
    const s = await startEsphome({ key: KEY_B64, agent: true, config: { timerMaxRingMs: 1000 } });
    cleanups.push(() => s.close());
    const ha = new FakeHomeAssistant({ port: s.backend.port, key: KEY_B64 });
    cleanups.push(() => ha.disconnect());
    await ha.connect();
    ha.subscribeVoice();
    const session = s.agent!.agent.session;
    await waitFor(() => session.state.connected, 'connected');
    const notices: string[] = [];
    session.on('notice', (n) => notices.push(n.code));
    ha.send('VoiceAssistantTimerEventResponse', { eventType: TIMER_EVENT.FINISHED, timerId: 't9', name: 'bread', totalSeconds: 60, secondsLeft: 0, isActive: false });
    await waitFor(() => session.state.phase.kind === 'ringing', 'ringing');
    const started = Date.now();
    await waitFor(() => session.state.phase.kind === 'idle', 'the ring to end by itself', 4000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(notices).toEqual(['ring-ended']);
    expect(ha.all('VoiceAssistantRequest')).toHaveLength(0);
  });
});
