import { afterEach, describe, expect, it } from 'vitest';
import { SlngStt } from '../../src/backends/stt/slng.js';
import type { SttSession } from '../../src/backends/stt/types.js';
import { SlngTts, type TtsSession } from '../../src/backends/tts/slng.js';
import type { ServiceError } from '../../src/backends/service-error.js';
import { ConfigSchema, type SlngSttConfig, type SlngTtsConfig } from '../../src/config/schema.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { FakeSlngStt, FakeSlngTts, type FakeSlngSttOptions, type FakeSlngTtsOptions } from '../fakes/slng.js';
import { until } from '../fakes/ws-server.js';

const KEY = 'slng-key-abcdef123';
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function sttSetup(fake: Partial<FakeSlngSttOptions> = {}, config: Partial<SlngSttConfig> = {}, key = KEY) {
  const server = await new FakeSlngStt({ key: KEY, transcript: 'turn on the lights', ...fake }).start();
  cleanups.push(() => server.close());
  const base = ConfigSchema.parse({ pipeline: { slngStt: { url: server.url } } }).pipeline.slngStt;
  const stt = new SlngStt({ config: { ...base, url: server.url, ...config }, key, authScheme: 'Bearer', log: silentLogger(), connectTimeoutMs: 5000 });
  return { server, stt };
}

async function ttsSetup(fake: Partial<FakeSlngTtsOptions> = {}, config: Partial<SlngTtsConfig> = {}, log = silentLogger(), connectTimeoutMs = 5000) {
  const server = await new FakeSlngTts({ key: KEY, ...fake }).start();
  cleanups.push(() => server.close());
  const base = ConfigSchema.parse({ pipeline: { slngTts: { url: server.url, voice: 'aura-2-thalia-en' } } }).pipeline.slngTts;
  const tts = new SlngTts({ config: { ...base, rateLimitRetryMs: 10, ...config }, key: KEY, authScheme: 'Bearer', log, connectTimeoutMs });
  return { server, tts };
}

function collectStt(s: SttSession) {
  const out = { partials: [] as string[], finals: [] as string[], errors: [] as ServiceError[] };
  s.on('partial', (r) => out.partials.push(r.text));
  s.on('final', (r) => out.finals.push(r.text));
  s.on('error', (e) => out.errors.push(e));
  return out;
}

function collectTts(s: TtsSession) {
  const out = { starts: [] as unknown[], audio: [] as Buffer[], ended: false, errors: [] as ServiceError[] };
  s.on('start', (f) => out.starts.push(f));
  s.on('audio', (b) => out.audio.push(b));
  s.on('end', () => (out.ended = true));
  s.on('error', (e) => out.errors.push(e));
  return out;
}

const frame = () => new Int16Array(320).fill(700);

describe('SLNG speech-to-text (docs/protocol.md "SLNG")', () => {
  it('init, ready, binary frames, partial and final transcripts, finalize, close', async () => {
    const { server, stt } = await sttSetup();
    const s = stt.open();
    const got = collectStt(s);
    for (let i = 0; i < 10; i++) s.send(frame()); // before ready: held
    await s.next('ready');
    for (let i = 0; i < 5; i++) s.send(frame());
    await until(() => got.partials.length === 1, 'partial');
    expect(got.partials).toEqual(['turn']);
    s.finalize();
    await s.next('final');
    expect(got.finals).toEqual(['turn on the lights']);
    await s.close();
    const c = server.conns[0]!;
    expect(c.init).toEqual({
      type: 'init',
      config: { language: 'en', sample_rate: 16000, encoding: 'linear16', enable_vad: true, enable_partials: true },
    });
    expect(c.binaryFrames).toBe(15);
    expect(c.base64Frames).toBe(0);
    expect(c.audioBytes).toBe(15 * 640);
    expect(c.finalizes).toBe(1);
    expect(c.closeReceived).toBe(true);
    expect(c.violations).toEqual([]);
    expect(got.errors).toEqual([]);
  });

  it('sends keepalive when no audio flows', async () => {
    const { server, stt } = await sttSetup({}, { keepaliveMs: 30 });
    const s = stt.open();
    await s.next('ready');
    await until(() => (server.conns[0]?.keepalives ?? 0) >= 2, 'two keepalives');
    await s.close();
  });

  it('the service end of speech gives a final without finalize', async () => {
    const { server, stt } = await sttSetup({ endAfterMs: 200 });
    const s = stt.open();
    const got = collectStt(s);
    for (let i = 0; i < 12; i++) s.send(frame());
    await s.next('final');
    expect(got.finals).toEqual(['turn on the lights']);
    expect(server.conns[0]!.finalizes).toBe(0);
    await s.close();
  });

  it('collects every final_transcript segment until the end of the utterance (the answer to finalize)', async () => {
    const { stt } = await sttSetup({ segments: ['turn on', 'the kitchen lights'], segmentMs: 200 });
    const s = stt.open();
    const got = collectStt(s);
    await s.next('ready');
    for (let i = 0; i < 15; i++) s.send(frame()); // 300 ms: the first segment is final
    await until(() => got.partials.includes('turn on'), 'the first segment shown');
    await new Promise((r) => setTimeout(r, 100));
    expect(got.finals).toEqual([]); // one segment is not the utterance
    s.finalize();
    await s.next('final');
    expect(got.finals).toEqual(['turn on the kitchen lights']);
    await s.close();
  });

  it('the service end of speech (utterance_end) ends the utterance with all its segments', async () => {
    const { server, stt } = await sttSetup({ segments: ['what is', 'the weather', 'tomorrow'], segmentMs: 100, endAfterMs: 400 });
    const s = stt.open();
    const got = collectStt(s);
    await s.next('ready');
    for (let i = 0; i < 25; i++) s.send(frame());
    await s.next('final');
    expect(got.finals).toEqual(['what is the weather tomorrow']);
    expect(server.conns[0]!.finalizes).toBe(0);
    await s.close();
  });

  it('a finalize answer without a from_finalize mark ends the utterance once the segments stop', async () => {
    const { stt } = await sttSetup({ segments: ['play', 'some jazz'], segmentMs: 1000, markFinalize: false });
    const s = stt.open();
    const got = collectStt(s);
    await s.next('ready');
    for (let i = 0; i < 10; i++) s.send(frame());
    const t0 = Date.now();
    s.finalize();
    await s.next('final');
    expect(got.finals).toEqual(['play some jazz']);
    expect(Date.now() - t0).toBeLessThan(1500);
    await s.close();
  });

  it.each([
    ['auth_error', 'auth', /check the key file or SLNG_API_KEY/],
    ['config_error', 'config', /check model, voice, language, sample rate and encoding/],
    ['rate_limit', 'rate_limit', /too many requests/],
    ['provider_error', 'provider', /upstream provider failed/],
  ])('error code %s is reported as %s with a clear message', async (code, kind, hint) => {
    const { stt } = await sttSetup({ initError: code });
    const s = stt.open();
    const got = collectStt(s);
    await s.next('closed');
    expect(got.errors).toHaveLength(1);
    expect(got.errors[0]!.kind).toBe(kind);
    expect(got.errors[0]!.message).toMatch(new RegExp(`^slng-stt ${code}: fake ${code}`));
    expect(got.errors[0]!.message).toMatch(hint);
  });

  it('a refused key on the upgrade is an auth error', async () => {
    const { stt } = await sttSetup({}, {}, 'bad-key-000000');
    const s = stt.open();
    const got = collectStt(s);
    await s.next('closed');
    expect(got.errors[0]!.kind).toBe('auth');
    expect(got.errors[0]!.message).toMatch(/slng-stt refused the API key \(HTTP 401/);
  });
});

describe('SLNG text-to-speech (docs/protocol.md "SLNG")', () => {
  it('init with model, voice, rate and encoding; text with flush; base64 audio_chunk played as it arrives', async () => {
    const { server, tts } = await ttsSetup({ chunks: 3, chunkDelayMs: 50 });
    const s = tts.open();
    const got = collectTts(s);
    s.speak('Hello there.');
    // The first chunk is delivered while the server is still synthesizing the rest.
    await s.next('audio');
    expect(server.conns[0]!.chunksSent).toBeLessThan(3);
    await s.next('end');
    expect(server.conns[0]!.init).toEqual({
      type: 'init',
      model: 'aura:2',
      voice: 'aura-2-thalia-en',
      config: { sample_rate: 16000, encoding: 'linear16' },
    });
    expect(server.conns[0]!.texts).toEqual([{ type: 'text', text: 'Hello there.', flush: true }]);
    expect(got.starts).toEqual([{ codec: 'pcm', sampleRate: 16000, channels: 1 }]);
    expect(Buffer.concat(got.audio)).toEqual(Buffer.concat([0, 1, 2].map((i) => FakeSlngTts.chunk(i, 640))));
    await until(() => server.conns[0]!.closeReceived, 'close after the reply');
  });

  it('defaults to the unified bridge endpoint, which answers init with ready before the text goes', async () => {
    expect(ConfigSchema.parse({}).pipeline.slngTts.url).toBe('wss://api.slng.ai/v1/bridges/unmute/tts/slng/deepgram/aura:2-en');
    const { server, tts } = await ttsSetup({ fault: 'no-ready' }, {}, silentLogger(), 300);
    const s = tts.open();
    const got = collectTts(s);
    s.speak('Hello.');
    await s.next('error');
    expect(server.conns[0]!.texts).toEqual([]); // held for ready, which never came
    expect(got.errors[0]!.kind).toBe('timeout');
    expect(got.errors[0]!.message).toMatch(/slng-tts at ws:\/\/127\.0\.0\.1:\d+\/v1\/bridges\/unmute\/tts\/slng\/deepgram\/aura:2-en did not send ready within 300 ms/);
  });

  it('a provider-native endpoint (no ready, binary audio, Flushed) is not waited on and plays', async () => {
    const { server, tts } = await ttsSetup({ protocol: 'native', chunks: 3 });
    const s = tts.open();
    const got = collectTts(s);
    s.speak('Hello there.');
    await s.next('end');
    expect(server.conns[0]!.texts).toHaveLength(1);
    expect(Buffer.concat(got.audio)).toEqual(Buffer.concat([0, 1, 2].map((i) => FakeSlngTts.chunk(i, 640))));
    expect(got.errors).toEqual([]);
  });

  it('an endpoint that goes silent after the text fails the reply with an error naming it', async () => {
    const { tts } = await ttsSetup({ fault: 'silent' }, { idleTimeoutMs: 500 });
    const s = tts.open();
    const got = collectTts(s);
    s.speak('Hello.');
    await s.next('error');
    expect(got.errors[0]!.message).toMatch(/slng-tts at ws:\/\/127\.0\.0\.1:\d+\/v1\/bridges\/.* sent nothing for 500 ms/);
  });

  it('a normal close right after the audio ends the reply', async () => {
    const { tts } = await ttsSetup({ fault: 'close-after-audio', chunks: 2 });
    const s = tts.open();
    const got = collectTts(s);
    s.speak('Bye.');
    await s.next('end');
    expect(got.audio).toHaveLength(2);
    expect(got.errors).toEqual([]);
  });

  it('plays raw binary frames and announces mp3 when configured', async () => {
    const { tts } = await ttsSetup({ binary: true, chunks: 2 }, { encoding: 'mp3' });
    const s = tts.open();
    const got = collectTts(s);
    s.speak('Hi');
    await s.next('end');
    expect(got.starts).toEqual([{ codec: 'mp3' }]);
    expect(got.audio).toHaveLength(2);
  });

  it('cancel during synthesis sends clear and close, and nothing more is emitted', async () => {
    const { server, tts } = await ttsSetup({ chunks: 50, chunkDelayMs: 10 });
    const s = tts.open();
    const got = collectTts(s);
    s.speak('A long story.');
    await s.next('audio');
    await s.cancel();
    const n = got.audio.length;
    await until(() => server.conns[0]!.clears === 1 && server.conns[0]!.closeReceived, 'clear and close');
    await new Promise((r) => setTimeout(r, 30));
    expect(got.audio.length).toBe(n);
    expect(got.ended).toBe(false);
  });

  it('retries after rate_limit and then plays', async () => {
    const { server, tts } = await ttsSetup({ rateLimitFirst: 2 });
    const s = tts.open();
    const got = collectTts(s);
    s.speak('Hello');
    await s.next('end');
    expect(server.conns).toHaveLength(3);
    expect(got.errors).toEqual([]);
    expect(got.audio.length).toBe(3);
  });

  it('gives up after the configured rate_limit retries with a clear error', async () => {
    const { server, tts } = await ttsSetup({ rateLimitFirst: 5 }, { rateLimitRetries: 1 });
    const s = tts.open();
    const got = collectTts(s);
    s.speak('Hello');
    await s.next('error');
    expect(server.conns).toHaveLength(2);
    expect(got.errors[0]!.kind).toBe('rate_limit');
    expect(got.errors[0]!.message).toBe('slng-tts rate_limit: Too many requests (too many requests for this key; retrying later)');
  });

  it.each([
    ['auth_error', 'auth'],
    ['config_error', 'config'],
    ['provider_error', 'provider'],
  ])('error code %s fails the reply without retry', async (code, kind) => {
    const mem = memoryLogger();
    const { server, tts } = await ttsSetup({ initError: code }, {}, mem.logger);
    const s = tts.open();
    const got = collectTts(s);
    s.speak('Hello');
    await s.next('error');
    expect(got.errors[0]!.kind).toBe(kind);
    expect(server.conns).toHaveLength(1);
    expect(mem.text()).not.toContain(KEY);
  });
});
