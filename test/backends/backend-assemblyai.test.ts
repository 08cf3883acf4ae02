import { afterEach, describe, expect, it } from 'vitest';
import { AssemblyAiStt } from '../../src/backends/stt/assemblyai.js';
import type { SttSession } from '../../src/backends/stt/types.js';
import { ConfigSchema, type AssemblyAiConfig } from '../../src/config/schema.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { FakeAssemblyAi, MEAN_WORD_CONFIDENCE, type FakeAssemblyAiOptions } from '../fakes/assemblyai.js';
import { until } from '../fakes/ws-server.js';

const KEY = 'aai-key-0123456789';
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup(fake: Partial<FakeAssemblyAiOptions> = {}, config: Partial<AssemblyAiConfig> = {}, key = KEY, log = silentLogger()) {
  const server = await new FakeAssemblyAi({ key: KEY, transcript: 'What time is it?', ...fake }).start();
  cleanups.push(() => server.close());
  const base = ConfigSchema.parse({ pipeline: { assemblyai: { url: server.url } } }).pipeline.assemblyai;
  const stt = new AssemblyAiStt({ config: { ...base, ...config }, key, log, connectTimeoutMs: 5000 });
  return { server, stt };
}

function collect(session: SttSession) {
  const out = { partials: [] as string[], finals: [] as string[], confidences: [] as (number | undefined)[], errors: [] as string[], closed: false };
  session.on('partial', (r) => out.partials.push(r.text));
  session.on('final', (r) => {
    out.finals.push(r.text);
    out.confidences.push(r.confidence);
  });
  session.on('error', (e) => out.errors.push(`${e.kind}: ${e.message}`));
  session.on('closed', () => (out.closed = true));
  return out;
}

const frame = (samples = 320) => new Int16Array(samples).fill(500);

describe('AssemblyAI streaming client (docs/protocol.md "AssemblyAI")', () => {
  it('aggregates 20 ms frames into 100 ms binary messages, forces the endpoint, and terminates', async () => {
    const { server, stt } = await setup();
    const s = stt.open();
    const got = collect(s);
    s.send(frame(8000)); // 500 ms pre-roll before Begin
    await s.next('ready');
    for (let i = 0; i < 12; i++) s.send(frame()); // 240 ms
    await until(() => got.partials.length > 0, 'partial');
    expect(got.partials).toEqual(['what']);
    s.finalize();
    await s.next('final');
    expect(got.finals).toEqual(['what time is it']);
    await s.close();
    const [sess] = server.sessions;
    expect(sess!.query.get('sample_rate')).toBe('16000');
    expect(sess!.query.get('encoding')).toBe('pcm_s16le');
    expect(sess!.chunksMs).toEqual([100, 100, 100, 100, 100, 100, 100, 50]); // 740 ms; the 40 ms tail padded to 50
    expect(sess!.forceEndpoints).toBe(1);
    expect(sess!.violations).toEqual([]);
    expect(await server.leaked()).toEqual([]);
    expect(got.closed).toBe(true);
    expect(got.errors).toEqual([]);
  });

  it('with formatTurns waits for the formatted end-of-turn message', async () => {
    const { server, stt } = await setup({}, { formatTurns: true, query: { max_turn_silence: '700' } });
    const s = stt.open();
    const got = collect(s);
    s.send(frame(1600));
    s.finalize();
    await s.next('final');
    expect(got.finals).toEqual(['What time is it?']);
    expect(server.sessions[0]!.query.get('format_turns')).toBe('true');
    expect(server.sessions[0]!.query.get('max_turn_silence')).toBe('700');
    await s.close();
  });

  it('reports the service end of turn without ForceEndpoint', async () => {
    const { server, stt } = await setup({ endOfTurnAfterMs: 300 });
    const s = stt.open();
    const got = collect(s);
    for (let i = 0; i < 20; i++) s.send(frame());
    await s.next('final');
    expect(got.finals).toEqual(['what time is it']);
    expect(server.sessions[0]!.forceEndpoints).toBe(0);
    await s.close();
    expect(await server.leaked()).toEqual([]);
  });

  it('close() while still connecting sends Terminate as soon as the socket opens', async () => {
    const { server, stt } = await setup();
    const s = stt.open();
    await s.close();
    await until(() => server.sessions.length === 1 && server.sessions[0]!.socketClosed, 'server saw the socket close');
    expect(server.sessions[0]!.terminated).toBe(true);
    expect(await server.leaked()).toEqual([]);
  });

  it('a refused key is an auth error with a clear message, and the key is never logged', async () => {
    const mem = memoryLogger();
    const { stt } = await setup({}, {}, 'wrong-key-999999', mem.logger);
    const s = stt.open();
    const got = collect(s);
    await s.next('closed');
    expect(got.errors).toEqual([expect.stringMatching(/^auth: assemblyai refused the API key \(HTTP 401/)]);
    expect(mem.text()).not.toContain('wrong-key-999999');
  });

  it('a message that is not JSON is a protocol error, and the session is still terminated', async () => {
    const { server, stt } = await setup({ fault: 'not-json' });
    const s = stt.open();
    const got = collect(s);
    await s.next('closed');
    expect(got.errors).toEqual(['protocol: assemblyai sent a message that is not JSON']);
    expect(server.sessions[0]!.terminated).toBe(true);
  });

  it('a server close reports the code and reason', async () => {
    const { stt } = await setup({ fault: 'close-1011' });
    const s = stt.open();
    const got = collect(s);
    await s.next('closed');
    expect(got.errors).toEqual(['provider: assemblyai closed the session (1011 internal error)']);
  });

  it('sends the required speech_model (the documented English model by default, or the configured one)', async () => {
    const { server, stt } = await setup();
    const s = stt.open();
    await s.next('ready');
    await s.close();
    expect(server.sessions[0]!.query.get('speech_model')).toBe('universal-streaming-english');
    const other = await setup({}, { speechModel: 'universal-streaming-multilingual' });
    const s2 = other.stt.open();
    await s2.next('ready');
    await s2.close();
    expect(other.server.sessions[0]!.query.get('speech_model')).toBe('universal-streaming-multilingual');
  });

  it('reports the recognition confidence of the words, not end_of_turn_confidence', async () => {
    const { stt } = await setup();
    const s = stt.open();
    const got = collect(s);
    s.send(frame(1600));
    s.finalize();
    await s.next('final');
    expect(got.confidences).toHaveLength(1);
    expect(got.confidences[0]).toBeCloseTo(MEAN_WORD_CONFIDENCE, 9);
    await s.close();
  });

  it('paces audio held before Begin at real time, so the service never closes with 4029', async () => {
    const { server, stt } = await setup({ beginDelayMs: 300 });
    const s = stt.open();
    const got = collect(s);
    s.send(frame(16000)); // 1 s held: the pre-roll and the slow handshake
    await s.next('ready');
    const started = Date.now();
    s.finalize();
    await s.next('final');
    const sess = server.sessions[0]!;
    expect(sess.violations).toEqual([]);
    expect(sess.chunksMs).toEqual([100, 100, 100, 100, 100, 100, 100, 100, 100, 100]);
    // Chunk i arrives no earlier than i chunks of audio after the first (a few ms of timer slack).
    for (const [i, t] of sess.arrivals.entries()) expect(t - sess.arrivals[0]!).toBeGreaterThanOrEqual(i * 100 - 15);
    expect(Date.now() - started).toBeGreaterThanOrEqual(850);
    expect(got.errors).toEqual([]);
    await s.close();
  });

  it('maps the account close codes 4002 and 4003 to account errors with their fix, and 4029 to rate_limit', async () => {
    const cases: [[number, string], RegExp][] = [
      [[4002, 'Insufficient Funds'], /^auth: assemblyai closed the session \(4002 Insufficient Funds\): the account has insufficient funds: add funds/],
      [[4003, 'This feature is paid-only'], /^auth: .*\(4003 This feature is paid-only\): streaming needs a paid account: add a payment method/],
      [[4029, 'Client sent audio too fast'], /^rate_limit: .*audio was sent faster than real time/],
    ];
    for (const [closeWith, expected] of cases) {
      const { stt } = await setup({ closeWith });
      const s = stt.open();
      const got = collect(s);
      await s.next('closed');
      expect(got.errors).toEqual([expect.stringMatching(expected)]);
    }
  });

  it('rejects chunk sizes outside 50-1000 ms in the schema', () => {
    const r = ConfigSchema.safeParse({ pipeline: { assemblyai: { chunkMs: 20 } } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path.join('.')).toBe('pipeline.assemblyai.chunkMs');
  });
});
