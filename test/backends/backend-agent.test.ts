/**
 * The direct backends through the real session (src/agent.ts): the same turn, follow-up and
 * barge-in behaviour as with the gateway, against the fake Soca, AssemblyAI, SLNG and skill
 * servers on loopback.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PipelineBackend } from '../../src/backends/pipeline.js';
import { HttpSkill } from '../../src/backends/skill.js';
import { SocaBackend } from '../../src/backends/soca.js';
import { AssemblyAiStt } from '../../src/backends/stt/assemblyai.js';
import { SlngTts } from '../../src/backends/tts/slng.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { memoryLogger } from '../../src/log/logger.js';
import { FakeAssemblyAi } from '../fakes/assemblyai.js';
import { FakeSkill, reply } from '../fakes/skill.js';
import { FakeSlngTts } from '../fakes/slng.js';
import { FakeSoca } from '../fakes/soca.js';
import { makeMp3, split, startDirectAgent, type DirectAgent } from '../support/direct-agent.js';
import { silence, speech, waitFor } from '../support/harness.js';

const KEY = 'integration-key-123';
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

let mp3: Buffer;
beforeAll(() => {
  mp3 = makeMp3(600);
});

const phase = (a: DirectAgent) => a.agent.session.state.phase.kind;
function utter(a: DirectAgent, ms = 600): void {
  a.mic.push(speech(ms));
  a.mic.push(silence(1500));
}

async function soca(followUp = false, finish = true, more: Record<string, unknown> = {}) {
  const mem = memoryLogger('debug');
  const fake = await new FakeSoca({ key: KEY, auto: { transcript: 'halo apa kabar', sentences: [split(mp3, 4), split(mp3, 3)], finish } }).start();
  const config = ConfigSchema.parse({ soca: { url: fake.url, agentId: 'agent-1', followUp, ...more } }).soca;
  const backend = new SocaBackend({ config, key: KEY, log: mem.logger });
  const a = await startDirectAgent(backend, mem.logger);
  cleanups.push(async () => {
    await a.close();
    await fake.close();
  });
  await waitFor(() => a.agent.session.state.connected, 'soca connected');
  return { a, fake, mem };
}

async function pipeline(skillFollowUp = false) {
  const mem = memoryLogger('debug');
  const aai = await new FakeAssemblyAi({ key: KEY, transcript: 'What time is it?' }).start();
  const tts = await new FakeSlngTts({ key: KEY, chunks: 25, chunkBytes: 640 }).start();
  const skill = await new FakeSkill(reply('It is noon.', skillFollowUp)).start();
  const p = ConfigSchema.parse({ pipeline: { assemblyai: { url: aai.url }, slngTts: { url: tts.url }, skill: { url: skill.url } } }).pipeline;
  const backend = new PipelineBackend({
    stt: new AssemblyAiStt({ config: p.assemblyai, key: KEY, log: mem.logger, connectTimeoutMs: 5000 }),
    skill: new HttpSkill({ config: p.skill, log: mem.logger }),
    tts: new SlngTts({ config: p.slngTts, key: KEY, authScheme: 'Bearer', log: mem.logger, connectTimeoutMs: 5000 }),
    log: mem.logger,
    authRetryMs: 1000,
  });
  const a = await startDirectAgent(backend, mem.logger);
  cleanups.push(async () => {
    await a.close();
    await Promise.all([aai.close(), tts.close(), skill.close()]);
  });
  await waitFor(() => a.agent.session.state.connected, 'pipeline connected');
  a.mic.push(silence(500)); // the mic has been running: the VAD knows the room
  return { a, aai, tts, skill, mem };
}

describe('soca through the session', () => {
  it('a full turn: transcript, streamed MP3 sentences decoded and played, back to idle', async () => {
    const { a, fake } = await soca();
    const transcripts: string[] = [];
    a.agent.session.on('transcript', (t) => transcripts.push(`${t.final ? 'final' : 'partial'}:${t.text}`));
    expect(a.agent.session.trigger('control')).toEqual({ ok: true });
    utter(a);
    await waitFor(() => a.speaker.ends > 0, 'reply decoded and ended', 10_000);
    expect(phase(a)).toBe('speaking');
    a.speaker.drain();
    await waitFor(() => phase(a) === 'idle', 'idle');
    expect(transcripts).toEqual(['partial:halo apa kabar', 'final:halo apa kabar']);
    expect(a.speaker.writes[0]!.format.sampleRate).toBe(22050);
    // Two sentences of 600 ms each at 22.05 kHz: at least one second of PCM reached the speaker.
    expect(a.speaker.bytes).toBeGreaterThan(22050 * 2);
    expect(fake.autoAnswers).toBe(1);
  });

  it('a follow-up reopens the mic without a wake word', async () => {
    const { a, fake } = await soca(true);
    a.agent.session.trigger('control');
    utter(a);
    await waitFor(() => a.speaker.ends > 0, 'first reply', 10_000);
    a.speaker.drain();
    await waitFor(() => phase(a) === 'listening' && a.agent.session.status().followUp, 'follow-up listening');
    utter(a);
    await waitFor(() => fake.autoAnswers === 2, 'second answer');
    await waitFor(() => a.speaker.ends > 1, 'second reply', 10_000);
  });

  it('the button during speech barges in: playback stops and Soca gets barge', async () => {
    const { a, fake } = await soca(false, false); // the answer is still being generated
    a.agent.session.trigger('control');
    utter(a);
    await waitFor(() => phase(a) === 'speaking' && a.speaker.bytes > 0, 'speaking');
    a.gpio.button('press');
    expect(a.speaker.stops).toBe(1);
    expect(phase(a)).toBe('listening');
    await waitFor(() => fake.last.control.length > 0, 'control message at Soca');
    expect(fake.last.control).toEqual([{ type: 'barge' }]);
  });
});

describe('soca streamWhileSpeaking through the session', () => {
  it.each([
    [false, 'the mic is not sent while the answer plays'],
    [true, 'the mic goes to Soca while the answer plays, so Soca can barge in'],
  ])('streamWhileSpeaking %s: %s', async (on) => {
    const { a, fake } = await soca(false, false, { streamWhileSpeaking: on });
    a.agent.session.trigger('control');
    utter(a);
    await waitFor(() => phase(a) === 'speaking' && a.speaker.bytes > 0, 'speaking');
    // The utterance may still be on its way to the fake: count from when all of it has arrived.
    let seen = -1;
    while (seen !== fake.last.audioBytes) {
      seen = fake.last.audioBytes;
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = fake.last.audioBytes;
    a.mic.push(speech(400)); // the user talks over the answer
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.last.audioBytes - before).toBe(on ? 400 * 32 : 0);
    if (!on) return;
    fake.barge(fake.nextSeq());
    await waitFor(() => phase(a) === 'idle', 'playback stopped by the server barge');
    expect(a.speaker.stops).toBeGreaterThan(0);
  });
});

describe('pipeline through the session', () => {
  it('a full turn: ForceEndpoint on local end of speech, skill, TTS PCM played, AssemblyAI terminated', async () => {
    const { a, aai, skill } = await pipeline();
    const replies: string[] = [];
    a.agent.session.on('replyText', (t) => replies.push(t.text));
    a.agent.session.trigger('control');
    utter(a);
    await waitFor(() => a.speaker.ends > 0, 'reply ended', 10_000);
    a.speaker.drain();
    await waitFor(() => phase(a) === 'idle', 'idle');
    expect(replies).toEqual(['It is noon.']);
    expect(skill.requests[0]!.body.transcript).toBe('what time is it');
    expect(a.speaker.bytes).toBe(25 * 640);
    expect(a.speaker.writes[0]!.format).toEqual({ sampleRate: 16000, channels: 1 });
    expect(aai.sessions[0]!.forceEndpoints).toBe(1);
    expect(await aai.leaked()).toEqual([]);
  });

  it('follows up when the skill asks', async () => {
    const { a, aai } = await pipeline(true);
    a.agent.session.trigger('control');
    utter(a);
    await waitFor(() => a.speaker.ends > 0, 'reply', 10_000);
    a.speaker.drain();
    await waitFor(() => phase(a) === 'listening' && a.agent.session.status().followUp, 'follow-up listening');
    utter(a);
    await waitFor(() => a.speaker.ends > 1, 'second reply', 10_000);
    expect(aai.sessions).toHaveLength(2);
  });

  it('stopping the agent mid-utterance terminates the AssemblyAI session', async () => {
    const { a, aai } = await pipeline();
    a.agent.session.trigger('control');
    a.mic.push(speech(400));
    await waitFor(() => aai.sessions.length === 1 && aai.sessions[0]!.audioMs > 0, 'audio at AssemblyAI');
    await a.close();
    expect(await aai.leaked()).toEqual([]);
  });
});

describe('typed requests', () => {
  it('soca refuses `say` with a clear error and the session returns to idle', async () => {
    const { a } = await soca();
    const errors: string[] = [];
    a.agent.session.on('error', (e) => errors.push(e.message));
    expect(a.agent.session.say('hello').ok).toBe(true);
    await waitFor(() => errors.length > 0, 'error');
    expect(errors[0]).toMatch(/takes speech only/);
    await waitFor(() => phase(a) === 'idle', 'idle');
  });

  it('pipeline answers `say` through the skill and TTS', async () => {
    const { a, skill } = await pipeline();
    expect(a.agent.session.say('what time is it').ok).toBe(true);
    await waitFor(() => a.speaker.ends > 0, 'reply', 10_000);
    expect(skill.requests[0]!.body.transcript).toBe('what time is it');
  });
});
