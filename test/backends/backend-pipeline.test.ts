import { afterEach, describe, expect, it } from 'vitest';
import { PipelineBackend } from '../../src/backends/pipeline.js';
import { HttpSkill } from '../../src/backends/skill.js';
import { AssemblyAiStt } from '../../src/backends/stt/assemblyai.js';
import { SlngStt } from '../../src/backends/stt/slng.js';
import { SlngTts } from '../../src/backends/tts/slng.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log/logger.js';
import { EventLog } from '../support/backend-events.js';
import { FakeAssemblyAi, type FakeAssemblyAiOptions } from '../fakes/assemblyai.js';
import { FakeSkill, reply, type SkillHandler } from '../fakes/skill.js';
import { FakeSlngStt, FakeSlngTts, type FakeSlngSttOptions, type FakeSlngTtsOptions } from '../fakes/slng.js';
import { until } from '../fakes/ws-server.js';

const AAI_KEY = 'aai-key-0123456789';
const SLNG_KEY = 'slng-key-abcdef123';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

interface SetupOptions {
  stt?: 'assemblyai' | 'slng';
  aai?: Partial<FakeAssemblyAiOptions>;
  aaiKey?: string;
  tts?: Partial<FakeSlngTtsOptions>;
  slngStt?: Partial<FakeSlngSttOptions>;
  skill?: SkillHandler;
}

async function setup(o: SetupOptions = {}) {
  const log = silentLogger();
  const aai = await new FakeAssemblyAi({ key: AAI_KEY, transcript: 'What time is it?', ...o.aai }).start();
  const slngStt = await new FakeSlngStt({ key: SLNG_KEY, transcript: 'turn on the lights', ...o.slngStt }).start();
  const tts = await new FakeSlngTts({ key: SLNG_KEY, ...o.tts }).start();
  const skill = await new FakeSkill(o.skill ?? reply('It is noon.')).start();
  const config = ConfigSchema.parse({
    backend: 'pipeline',
    pipeline: {
      stt: o.stt ?? 'assemblyai',
      assemblyai: { url: aai.url },
      slngStt: { url: slngStt.url },
      slngTts: { url: tts.url, rateLimitRetryMs: 20 },
      skill: { url: skill.url, timeoutMs: 2000 },
    },
  }).pipeline;
  const stt =
    (o.stt ?? 'assemblyai') === 'assemblyai'
      ? new AssemblyAiStt({ config: config.assemblyai, key: o.aaiKey ?? AAI_KEY, log, connectTimeoutMs: 5000 })
      : new SlngStt({ config: { ...config.slngStt, url: slngStt.url }, key: SLNG_KEY, authScheme: 'Bearer', log, connectTimeoutMs: 5000 });
  let n = 0;
  const backend = new PipelineBackend({
    stt,
    skill: new HttpSkill({ config: config.skill, log }),
    tts: new SlngTts({ config: config.slngTts, key: SLNG_KEY, authScheme: 'Bearer', log, connectTimeoutMs: 5000 }),
    log,
    authRetryMs: 100,
    newSessionId: () => `session-${++n}`,
  });
  const events = new EventLog(backend);
  cleanups.push(async () => {
    await backend.stop();
    await Promise.all([aai.close(), slngStt.close(), tts.close(), skill.close()]);
  });
  await backend.start();
  return { backend, events, aai, slngStt, tts, skill };
}

const speech = (samples: number) => new Int16Array(samples).fill(900);

function speak(backend: PipelineBackend, turnId: string, ms = 400): void {
  backend.sendAudio(turnId, speech(8000)); // pre-roll
  for (let i = 0; i < ms / 20; i++) backend.sendAudio(turnId, speech(320));
}

describe('pipeline backend: STT -> skill -> TTS', () => {
  it('runs a full turn with AssemblyAI: live partials, skill on the final transcript, TTS streamed back', async () => {
    const { backend, events, aai, skill, tts } = await setup();
    expect(backend.connected).toBe(true);
    backend.beginTurn('t1');
    speak(backend, 't1');
    expect(await events.next('transcript')).toMatchObject({ turnId: 't1', text: 'what', final: false });
    backend.endTurn('t1');
    expect(await events.next('transcript')).toMatchObject({ turnId: 't1', text: 'what time is it', final: true });
    expect(await events.next('replyEnd')).toEqual({ turnId: 't1', prompt: false });
    expect(events.names((e) => e.name !== 'transcript')).toEqual([
      'connected', 'replyText', 'replyAudioStart', 'replyAudio', 'replyAudio', 'replyAudio', 'replyAudioEnd', 'replyEnd',
    ]);
    expect(events.of('replyText')).toEqual([{ turnId: 't1', text: 'It is noon.' }]);
    expect(events.of('replyAudioStart')).toEqual([{ turnId: 't1', format: { codec: 'pcm', sampleRate: 16000, channels: 1 } }]);
    expect(events.audio('t1').length).toBe(3 * 640);
    expect(skill.requests.map((r) => r.body)).toEqual([{ transcript: 'what time is it', sessionId: 'session-2', turnId: 't1' }]);
    expect(tts.conns[0]!.texts).toEqual([{ type: 'text', text: 'It is noon.', flush: true }]);
    expect(aai.sessions[0]!.forceEndpoints).toBe(1);
    expect(await aai.leaked()).toEqual([]);
  });

  it('runs a full turn with SLNG speech-to-text', async () => {
    const { backend, events, slngStt, skill } = await setup({ stt: 'slng' });
    backend.beginTurn('t1');
    speak(backend, 't1');
    expect(await events.next('transcript')).toMatchObject({ text: 'turn', final: false });
    backend.endTurn('t1');
    expect(await events.next('transcript')).toMatchObject({ text: 'turn on the lights', final: true });
    await events.next('replyEnd');
    expect(skill.requests[0]!.body.transcript).toBe('turn on the lights');
    await until(() => slngStt.conns[0]!.socketClosed, 'STT socket closed');
    expect(slngStt.conns[0]!.finalizes).toBe(1);
    expect(slngStt.conns[0]!.closeReceived).toBe(true);
  });

  it('follows up when the skill asks, keeping the session id for the follow-up turn only', async () => {
    let n = 0;
    const { backend, events, skill } = await setup({ skill: (_b, r, res) => reply(++n === 1 ? 'For how long?' : 'Timer set.', n === 1)(_b, r, res) });
    backend.beginTurn('t1');
    speak(backend, 't1');
    backend.endTurn('t1');
    expect(await events.next('replyText')).toEqual({ turnId: 't1', text: 'For how long?', prompt: true });
    expect(await events.next('replyEnd')).toEqual({ turnId: 't1', prompt: true });
    backend.beginTurn('t2', { followUp: true });
    speak(backend, 't2');
    backend.endTurn('t2');
    expect(await events.next('replyEnd')).toEqual({ turnId: 't2', prompt: false });
    backend.beginTurn('t3');
    speak(backend, 't3');
    backend.endTurn('t3');
    await events.next('replyEnd');
    const sessions = skill.requests.map((r) => r.body.sessionId);
    expect(sessions[0]).toBe(sessions[1]);
    expect(sessions[2]).not.toBe(sessions[0]);
  });

  it('barge-in during the reply clears TTS, drops the rest, and the next turn works', async () => {
    const { backend, events, tts } = await setup({ tts: { chunks: 100, chunkDelayMs: 10 } });
    backend.beginTurn('t1');
    speak(backend, 't1');
    backend.endTurn('t1');
    await events.next('replyAudio');
    backend.cancelTurn('t1');
    await until(() => tts.conns[0]!.clears === 1 && tts.conns[0]!.closeReceived, 'clear and close at the TTS');
    const heard = events.audio('t1').length;
    await new Promise((r) => setTimeout(r, 40));
    expect(events.audio('t1').length).toBe(heard);
    expect(events.of('replyEnd')).toEqual([]);
    backend.beginTurn('t2');
    speak(backend, 't2');
    backend.endTurn('t2');
    expect(await events.next('replyEnd', undefined, 10_000)).toEqual({ turnId: 't2', prompt: false });
  });

  it('answers typed requests through the skill and TTS', async () => {
    const { backend, events, skill } = await setup();
    backend.sendText('t1', 'hello');
    expect(await events.next('replyEnd')).toEqual({ turnId: 't1', prompt: false });
    expect(skill.requests[0]!.body.transcript).toBe('hello');
  });

  it('an empty final transcript ends the turn without calling the skill', async () => {
    const { backend, events, skill } = await setup({ aai: { transcript: '' } });
    backend.beginTurn('t1');
    speak(backend, 't1');
    backend.endTurn('t1');
    expect(await events.next('replyEnd')).toEqual({ turnId: 't1', prompt: false });
    expect(skill.requests).toEqual([]);
  });

  it('a refused STT key is a turnError and an auth disconnect; the backend comes back after authRetryMs', async () => {
    const { backend, events } = await setup({ aaiKey: 'wrong-key-99999' });
    backend.beginTurn('t1');
    speak(backend, 't1');
    const err = await events.next('turnError');
    expect(err.turnId).toBe('t1');
    expect(err.message).toMatch(/assemblyai refused the API key \(HTTP 401/);
    expect(await events.next('disconnected')).toMatchObject({ auth: true, retryInMs: 100 });
    expect(backend.connected).toBe(false);
    expect(() => backend.beginTurn('t2')).toThrow(/refused its key/);
    await events.next('connected');
    expect(backend.connected).toBe(true);
  });

  it('a skill failure is a turnError naming the skill', async () => {
    const { backend, events, tts } = await setup({
      skill: (_b, _r, res) => {
        res.statusCode = 503;
        res.end('busy');
      },
    });
    backend.beginTurn('t1');
    speak(backend, 't1');
    backend.endTurn('t1');
    const err = await events.next('turnError');
    expect(err.message).toMatch(/the skill at http:\/\/127\.0\.0\.1:\d+\/skill answered HTTP 503: busy/);
    expect(backend.connected).toBe(true);
    await until(() => tts.conns.every((c) => c.ws.readyState === c.ws.CLOSED), 'pre-opened TTS session closed');
  });

  it('an SLNG STT provider_error is a turnError, and the backend stays available', async () => {
    const { backend, events } = await setup({ stt: 'slng', slngStt: { initError: 'provider_error' } });
    backend.beginTurn('t1');
    speak(backend, 't1');
    expect((await events.next('turnError')).message).toMatch(/^slng-stt provider_error: fake provider_error \(the upstream provider failed/);
    expect(backend.connected).toBe(true);
  });

  it('a TTS rate_limit is retried and the reply still plays', async () => {
    const { backend, events, tts } = await setup({ tts: { rateLimitFirst: 1 } });
    backend.sendText('t1', 'hello');
    expect(await events.next('replyEnd')).toEqual({ turnId: 't1', prompt: false });
    expect(events.audio('t1').length).toBe(3 * 640);
    expect(tts.conns).toHaveLength(2);
    expect(events.of('turnError')).toEqual([]);
  });

  it('a TTS config_error is a turnError with the hint', async () => {
    const { backend, events } = await setup({ tts: { initError: 'config_error' } });
    backend.sendText('t1', 'hello');
    const err = await events.next('turnError');
    expect(err.message).toMatch(/slng-tts config_error: fake config_error \(the configuration was refused/);
  });

  it('never leaves an AssemblyAI session open: normal end, cancel while listening, barge-in, error, shutdown', async () => {
    const { backend, events, aai } = await setup({ tts: { chunks: 100, chunkDelayMs: 10 } });
    // Normal end.
    backend.beginTurn('normal');
    speak(backend, 'normal');
    backend.endTurn('normal');
    await events.next('replyAudio');
    // Barge-in during the reply.
    backend.cancelTurn('normal');
    // Cancel while listening (no speech / stop).
    backend.beginTurn('cancel');
    speak(backend, 'cancel');
    await events.next('transcript', (t) => t.turnId === 'cancel');
    backend.cancelTurn('cancel');
    // Cancel before the socket even opened.
    backend.beginTurn('instant');
    backend.cancelTurn('instant');
    // Error on the STT side (a message the client cannot parse) is covered by the client test; here the skill fails.
    // Shutdown in the middle of listening.
    backend.beginTurn('shutdown');
    speak(backend, 'shutdown');
    await events.next('transcript', (t) => t.turnId === 'shutdown');
    await backend.stop();
    await until(() => aai.sessions.length === 4, 'four sessions at the fake');
    expect(await aai.leaked()).toEqual([]);
    expect(aai.sessions.every((s) => s.terminated)).toBe(true);
  });

  it('never leaves an AssemblyAI session open when the service misbehaves', async () => {
    const { backend, events, aai } = await setup({ aai: { fault: 'not-json' } });
    backend.beginTurn('t1');
    speak(backend, 't1');
    expect((await events.next('turnError')).message).toBe('assemblyai sent a message that is not JSON');
    expect(await aai.leaked()).toEqual([]);
    expect(aai.sessions[0]!.terminated).toBe(true);
  });
});
