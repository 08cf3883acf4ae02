import { afterEach, describe, expect, it } from 'vitest';
import { SocaBackend } from '../../src/backends/soca.js';
import { ConfigSchema, type SocaConfig } from '../../src/config/schema.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { ManualScheduler } from '../fakes/clock.js';
import { EventLog } from '../support/backend-events.js';
import { FakeSoca, type FakeSocaOptions } from '../fakes/soca.js';
import { until } from '../fakes/ws-server.js';

const KEY = 'soca-private-key-123456';
const mp3 = (n: number) => Buffer.from([0xff, 0xfb, 0x90, n, n, n]);

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** The backend on a manual clock: socket I/O is real, its timers fire only when a test advances the clock. */
async function setup(fakeOptions: Partial<FakeSocaOptions> = {}, config: Partial<SocaConfig> = {}, log = silentLogger()) {
  const fake = await new FakeSoca({ key: KEY, ...fakeOptions }).start();
  const base = ConfigSchema.parse({ backend: 'soca', soca: { agentId: 'agent-7', url: fake.url } }).soca;
  const clock = new ManualScheduler();
  const backend = new SocaBackend({ config: { ...base, reconnectMinMs: 20, ...config }, key: KEY, log, random: () => 0.5, clock });
  const events = new EventLog(backend);
  cleanups.push(async () => {
    await backend.stop();
    await fake.close();
  });
  await backend.start();
  return { fake, backend, events, clock };
}

const speech = (samples: number) => Int16Array.from({ length: samples }, (_, i) => (i % 2 ? 1000 : -1000));

describe('soca backend (docs/protocol.md "Soca")', () => {
  it('sends start with key, session and agent ids, language and rate, then connects on ready + stt.ready', async () => {
    const { fake, backend, events } = await setup({}, { lang: 'id', sessionId: 'sess-1' });
    await events.next('connected');
    expect(backend.connected).toBe(true);
    expect(fake.last.start).toEqual({ type: 'start', private_key: KEY, session_id: 'sess-1', agent_id: 'agent-7', lang: 'id', sr: 16000 });
  });

  it('plays a full turn: 20 ms binary frames, partial and final transcripts, sentences streamed from the first chunk', async () => {
    const { fake, backend, events } = await setup();
    await events.next('connected');
    backend.beginTurn('t1');
    backend.sendAudio('t1', speech(8000)); // 500 ms pre-roll in one call
    for (let i = 0; i < 10; i++) backend.sendAudio('t1', speech(320));
    await until(() => fake.last.audioBytes === (8000 + 3200) * 2, 'audio at the fake');
    expect(Math.max(...fake.last.frames)).toBe(640);
    fake.partial('what is');
    expect(await events.next('transcript')).toEqual({ turnId: 't1', text: 'what is', final: false });
    backend.endTurn('t1');
    await until(() => fake.last.audioBytes === (8000 + 3200 + 9600) * 2, 'end silence (600 ms) at the fake');
    fake.final('what is the time');
    expect(await events.next('transcript')).toEqual({ turnId: 't1', text: 'what is the time', final: true });

    const seq = fake.nextSeq();
    fake.chunk(seq, 1, 0, mp3(1), false);
    // Playback starts on the first chunk, before the sentence is complete.
    expect(await events.next('replyAudioStart')).toEqual({ turnId: 't1', format: { codec: 'mp3' } });
    expect((await events.next('replyAudio')).data).toEqual(mp3(1));
    fake.chunk(seq, 1, 1, mp3(2), false);
    fake.chunk(seq, 1, 2, null, true);
    await events.next('replyAudioEnd');
    fake.sentence(seq, 2, [mp3(3)]);
    fake.finalAnswer(seq, 'It is noon.');
    expect(await events.next('replyEnd')).toEqual({ turnId: 't1', prompt: false });
    expect(events.names((e) => e.name.startsWith('reply'))).toEqual([
      'replyAudioStart', 'replyAudio', 'replyAudio', 'replyAudioEnd',
      'replyAudioStart', 'replyAudio', 'replyAudioEnd', 'replyText', 'replyEnd',
    ]);
    expect(events.of('replyText')).toEqual([{ turnId: 't1', text: 'It is noon.' }]);
    expect(events.audio('t1')).toEqual(Buffer.concat([mp3(1), mp3(2), mp3(3)]));
    expect(fake.last.invalid).toEqual([]);
  });

  it('holds a sentence that starts while the previous one is still arriving, and reorders chunks', async () => {
    const { fake, backend, events } = await setup();
    await events.next('connected');
    backend.beginTurn('t1');
    backend.sendAudio('t1', speech(320));
    fake.final('tell me two things');
    await events.next('transcript', (t) => t.final);
    const seq = fake.nextSeq();
    fake.chunk(seq, 1, 0, mp3(1), false);
    fake.chunk(seq, 2, 0, mp3(20), false); // sentence 2 before sentence 1 ended
    fake.chunk(seq, 1, 2, null, true); // out of order: index 2 before 1
    fake.chunk(seq, 1, 1, mp3(2), false);
    fake.chunk(seq, 2, 1, null, true);
    fake.finalAnswer(seq, 'One. Two.');
    await events.next('replyEnd');
    expect(events.of('replyAudio').map((a) => a.data[3])).toEqual([1, 2, 20]);
    expect(events.names((e) => e.name.startsWith('replyAudio'))).toEqual([
      'replyAudioStart', 'replyAudio', 'replyAudio', 'replyAudioEnd', 'replyAudioStart', 'replyAudio', 'replyAudioEnd',
    ]);
  });

  it('asks for a follow-up when configured, and binds the next answer to the follow-up turn', async () => {
    const { fake, backend, events } = await setup({}, { followUp: true });
    await events.next('connected');
    backend.beginTurn('t1');
    backend.sendAudio('t1', speech(320));
    fake.final('set a timer');
    const s1 = fake.nextSeq();
    fake.sentence(s1, 1, [mp3(1)]);
    fake.finalAnswer(s1, 'For how long?');
    expect(await events.next('replyEnd')).toEqual({ turnId: 't1', prompt: true });

    backend.beginTurn('t2', { followUp: true });
    backend.sendAudio('t2', speech(320));
    fake.final('five minutes');
    expect(await events.next('transcript', (t) => t.final)).toMatchObject({ turnId: 't2', text: 'five minutes' });
    const s2 = fake.nextSeq();
    fake.sentence(s2, 1, [mp3(2)]);
    fake.finalAnswer(s2, 'Done.');
    expect(await events.next('replyEnd')).toEqual({ turnId: 't2', prompt: true });
    expect(events.audio('t2')).toEqual(mp3(2));
  });

  it('barge-in during speech sends barge and drops the rest of that answer; before speech it sends stop', async () => {
    const { fake, backend, events } = await setup();
    await events.next('connected');
    backend.beginTurn('t1');
    backend.sendAudio('t1', speech(320));
    fake.final('tell me a long story');
    const s1 = fake.nextSeq();
    fake.chunk(s1, 1, 0, mp3(1), false);
    await events.next('replyAudio');
    backend.cancelTurn('t1');
    await until(() => fake.last.control.length === 1, 'barge at the fake');
    expect(fake.last.control).toEqual([{ type: 'barge' }]);
    fake.chunk(s1, 1, 1, mp3(2), true);
    fake.finalAnswer(s1, 'Once upon a time');

    // The next turn is cancelled before any answer: that is a `stop`.
    backend.beginTurn('t2');
    backend.sendAudio('t2', speech(320));
    backend.cancelTurn('t2');
    await until(() => fake.last.control.length === 2, 'stop at the fake');
    expect(fake.last.control[1]).toEqual({ type: 'stop' });

    // A third turn works normally; nothing of t1 was emitted after the cancel.
    backend.beginTurn('t3');
    backend.sendAudio('t3', speech(320));
    fake.final('hello');
    const s3 = fake.nextSeq();
    fake.sentence(s3, 1, [mp3(3)]);
    fake.finalAnswer(s3, 'Hi');
    expect(await events.next('replyEnd')).toEqual({ turnId: 't3', prompt: false });
    expect(events.audio('t1')).toEqual(mp3(1));
    expect(events.of('replyEnd').map((e) => e.turnId)).toEqual(['t3']);
  });

  it('server barge stops every older answer and plays only the new seq', async () => {
    const { fake, backend, events } = await setup();
    await events.next('connected');
    backend.beginTurn('t1');
    backend.sendAudio('t1', speech(320));
    fake.final('first question');
    const s1 = fake.nextSeq();
    fake.chunk(s1, 1, 0, mp3(1), false);
    await events.next('replyAudio');
    // The user speaks again over the answer (follow-up listening), and the server barges in.
    backend.beginTurn('t2', { followUp: true });
    backend.sendAudio('t2', speech(320));
    const s2 = fake.nextSeq();
    fake.barge(s2);
    expect(await events.next('barge')).toEqual({ turnId: 't1' });
    fake.chunk(s1, 1, 1, mp3(2), true); // stale: lower seq
    fake.final('second question');
    fake.sentence(s2, 1, [mp3(3)]);
    fake.finalAnswer(s2, 'Second answer');
    expect(await events.next('replyEnd')).toEqual({ turnId: 't2', prompt: false });
    expect(events.audio('t1')).toEqual(mp3(1));
    expect(events.audio('t2')).toEqual(mp3(3));
  });

  it('an auth error disconnects with auth:true, a clear message and the auth retry delay; the key is never logged', async () => {
    const mem = memoryLogger('debug');
    const fake = await new FakeSoca({ key: 'another-key-999' }).start();
    const config = ConfigSchema.parse({ soca: { agentId: 'a', url: fake.url, authRetryMs: 5000 } }).soca;
    const backend = new SocaBackend({ config, key: KEY, log: mem.logger });
    cleanups.push(async () => {
      await backend.stop();
      await fake.close();
    });
    const events = new EventLog(backend);
    await backend.start();
    const d = await events.next('disconnected');
    expect(d.auth).toBe(true);
    expect(d.retryInMs).toBe(5000);
    expect(d.reason).toMatch(/rejected the private key.*Invalid or expired token.*soca\.keyFile/);
    expect(mem.text()).not.toContain(KEY);
    expect(mem.lines().some((l) => l.event === 'auth-failed' && l.level === 'error')).toBe(true);
  });

  it('a protocol error on start is reported clearly and retried with backoff', async () => {
    const { events, clock } = await setup({ rejectStart: 'must start with type=start' });
    const d = await events.next('disconnected');
    expect(d).toMatchObject({ auth: false });
    expect(d.reason).toContain('soca refused the session: "must start with type=start"');
    expect(d.retryInMs).toBe(20); // min 20 ms, jitter factor 1.0 with random 0.5
    clock.advance(20);
    const d2 = await events.next('disconnected');
    expect(d2.retryInMs).toBe(40); // doubled
  });

  it('reports a missing stt.ready after the connect timeout', async () => {
    const mem = memoryLogger('debug');
    const { fake, events, clock } = await setup({ withholdSttReady: true }, { connectTimeoutMs: 500 }, mem.logger);
    // The ready timer runs from the open, before `start` goes out; the fake answers `ready` at once.
    await until(() => fake.connections.some((c) => c.start !== undefined), 'start at the fake');
    // A transcript sent after `ready` is logged once read: by then `ready` was read too.
    fake.partial('sync');
    await until(() => mem.lines().some((l) => l.event === 'transcript-without-turn'), 'the client read ready');
    clock.advance(499);
    expect(events.of('disconnected')).toEqual([]);
    clock.advance(1);
    const d = await events.next('disconnected');
    expect(d.reason).toBe('soca did not send stt.ready within 500 ms after start');
  });

  it('a service error during a turn is a turnError for that turn', async () => {
    const { fake, backend, events } = await setup();
    await events.next('connected');
    backend.beginTurn('t1');
    fake.error('agent not found');
    expect(await events.next('turnError')).toEqual({ turnId: 't1', message: 'soca error: agent not found' });
    expect(backend.connected).toBe(true);
  });

  it('reconnects after the connection drops, failing the open turn', async () => {
    const { fake, backend, events, clock } = await setup();
    await events.next('connected');
    backend.beginTurn('t1');
    fake.last.ws.terminate();
    expect(await events.next('turnError')).toMatchObject({ turnId: 't1' });
    const d = await events.next('disconnected');
    expect(d).toMatchObject({ auth: false, retryInMs: 20 });
    expect(backend.connected).toBe(false);
    expect(() => backend.beginTurn('t2')).toThrow(/not connected to Soca/);
    clock.advance(20);
    await events.next('connected');
    expect(fake.connections).toHaveLength(2);
  });

  it('drops and replaces a connection that stops answering pings', async () => {
    const { fake, events, clock } = await setup({ deaf: true }, { pingIntervalMs: 500, pongTimeoutMs: 500 });
    await events.next('connected');
    clock.advance(1000); // two pings, both unanswered
    expect(events.of('disconnected')).toEqual([]);
    clock.advance(500); // silent for more than interval + timeout
    const d = await events.next('disconnected', undefined, 5000);
    expect(d.reason).toBe('soca stopped answering pings for 500 ms');
    clock.advance(20);
    await events.next('connected');
    expect(fake.connections).toHaveLength(2);
  });

  it("speaks Soca's default language unless configured", async () => {
    const { fake, events } = await setup();
    await events.next('connected');
    expect(fake.last.start).toMatchObject({ lang: 'id' });
    expect(ConfigSchema.parse({}).soca.lang).toBe('id');
  });

  it('joins base64 pieces cut inside a quantum into the exact MP3 bytes', async () => {
    const { fake, backend, events } = await setup();
    await events.next('connected');
    backend.beginTurn('t1');
    fake.final('halo');
    await events.next('transcript');
    const sentence = Buffer.from(Array.from({ length: 997 }, (_, i) => (i * 131 + 7) % 256));
    const seq = fake.nextSeq();
    fake.sentenceBase64(seq, 1, sentence, 6);
    fake.finalAnswer(seq, 'Halo juga.');
    await events.next('replyEnd');
    expect(events.audio('t1').equals(sentence)).toBe(true);
  });

  it('after a normal close (1000) stays available and reconnects only when the next turn begins', async () => {
    const { fake, backend, events, clock } = await setup();
    await events.next('connected');
    fake.endSession();
    await until(() => backend.connected && fake.connections.length === 1 && fake.last.ws.readyState === fake.last.ws.CLOSED, 'the close');
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.connections).toHaveLength(1); // no background reconnect
    expect(events.of('disconnected')).toEqual([]);
    expect(backend.connected).toBe(true);
    backend.beginTurn('t2');
    backend.sendAudio('t2', speech(3200)); // held until the new session is ready
    await until(() => fake.connections.length === 2 && fake.last.audioBytes === 6400, 'the new session and its audio');
    // An abnormal close is still reconnected in the background.
    fake.last.ws.terminate();
    expect(await events.next('disconnected')).toMatchObject({ retryInMs: 20 });
  });

  describe('streamWhileSpeaking', () => {
    async function answerPlaying(config: Partial<SocaConfig>) {
      const s = await setup({}, config);
      await s.events.next('connected');
      s.backend.beginTurn('t1');
      s.backend.endTurn('t1');
      s.fake.final('ceritakan sesuatu');
      await s.events.next('transcript');
      const seq = s.fake.nextSeq();
      s.fake.sentence(seq, 1, [Buffer.alloc(4000, 1)]); // about a second of 32 kbit/s MP3
      await s.events.next('replyAudioEnd');
      return { ...s, seq };
    }
    const heard = (f: FakeSoca) => f.last.audioBytes;

    it('is off by default: the mic is not streamed while the answer plays', async () => {
      const { fake, backend } = await answerPlaying({});
      const before = heard(fake);
      backend.ambientAudio(speech(3200));
      await new Promise((r) => setTimeout(r, 50));
      expect(heard(fake)).toBe(before);
    });

    it('on: streams the mic while the answer plays and for its length after, then stops', async () => {
      const { fake, backend, clock, seq } = await answerPlaying({ streamWhileSpeaking: true });
      const before = heard(fake);
      backend.ambientAudio(speech(3200));
      await until(() => heard(fake) === before + 6400, 'the mic during the answer');
      fake.finalAnswer(seq, 'Dahulu kala...');
      await new Promise((r) => setTimeout(r, 20));
      clock.advance(900); // still within the ~1 s of audio (+ tail)
      backend.ambientAudio(speech(320));
      await until(() => heard(fake) === before + 7040, 'the mic while it still plays');
      clock.advance(1000); // played out
      backend.ambientAudio(speech(320));
      await new Promise((r) => setTimeout(r, 50));
      expect(heard(fake)).toBe(before + 7040);
    });

    it('on: after a server barge the mic streams until Soca has the final transcript', async () => {
      const { fake, backend, events, seq } = await answerPlaying({ streamWhileSpeaking: true });
      fake.barge(seq + 1);
      await events.next('barge');
      const before = heard(fake);
      backend.ambientAudio(speech(3200));
      await until(() => heard(fake) === before + 6400, 'the barging speech');
      fake.final('berhenti');
      await new Promise((r) => setTimeout(r, 30));
      backend.ambientAudio(speech(320));
      await new Promise((r) => setTimeout(r, 50));
      expect(heard(fake)).toBe(before + 6400);
    });
  });

  it('refuses typed requests with a clear turnError', async () => {
    const { backend, events } = await setup();
    await events.next('connected');
    backend.sendText('t9', 'hello');
    expect((await events.next('turnError')).message).toMatch(/speech only/);
  });
});
