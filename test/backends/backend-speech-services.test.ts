import { afterEach, describe, expect, it } from 'vitest';
import { speechServicesFromConfig, synthesize, transcribe } from '../../src/backends/speech-services.js';
import { ServiceError } from '../../src/backends/service-error.js';
import { AssemblyAiStt } from '../../src/backends/stt/assemblyai.js';
import { SlngTts } from '../../src/backends/tts/slng.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log/logger.js';
import { FakeAssemblyAi } from '../fakes/assemblyai.js';
import { FakeSlngTts } from '../fakes/slng.js';

const KEY = 'svc-key-123456';
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

describe('speech services for other users (local gateway)', () => {
  it('transcribes a whole utterance and terminates the AssemblyAI session', async () => {
    const aai = await new FakeAssemblyAi({ key: KEY, transcript: 'Open the blinds.' }).start();
    cleanups.push(() => aai.close());
    const p = ConfigSchema.parse({ pipeline: { assemblyai: { url: aai.url } } }).pipeline;
    const stt = new AssemblyAiStt({ config: p.assemblyai, key: KEY, log: silentLogger(), connectTimeoutMs: 5000 });
    expect(await transcribe(stt, new Int16Array(16000).fill(300))).toBe('open the blinds');
    expect(await aai.leaked()).toEqual([]);
    expect(aai.sessions[0]!.audioMs).toBe(1000);
  });

  it('transcription errors reject with the service error, and the session still ends', async () => {
    const aai = await new FakeAssemblyAi({ key: KEY, transcript: 'x', fault: 'not-json' }).start();
    cleanups.push(() => aai.close());
    const p = ConfigSchema.parse({ pipeline: { assemblyai: { url: aai.url } } }).pipeline;
    const stt = new AssemblyAiStt({ config: p.assemblyai, key: KEY, log: silentLogger(), connectTimeoutMs: 5000 });
    await expect(transcribe(stt, new Int16Array(3200))).rejects.toBeInstanceOf(ServiceError);
    expect(await aai.leaked()).toEqual([]);
  });

  it('synthesizes a whole reply', async () => {
    const tts = await new FakeSlngTts({ key: KEY, chunks: 4 }).start();
    cleanups.push(() => tts.close());
    const p = ConfigSchema.parse({ pipeline: { slngTts: { url: tts.url } } }).pipeline;
    const client = new SlngTts({ config: p.slngTts, key: KEY, authScheme: 'Bearer', log: silentLogger(), connectTimeoutMs: 5000 });
    const r = await synthesize(client, 'The blinds are open.');
    expect(r.format).toEqual({ codec: 'pcm', sampleRate: 16000, channels: 1 });
    expect(r.audio.length).toBe(4 * 640);
  });

  it('builds only the services whose keys are present', () => {
    const p = ConfigSchema.parse({}).pipeline;
    expect(speechServicesFromConfig(p, silentLogger(), { env: {} })).toEqual({});
    const both = speechServicesFromConfig(p, silentLogger(), { env: { ASSEMBLYAI_API_KEY: 'a-123456', SLNG_API_KEY: 's-123456' } });
    expect(both.stt?.name).toBe('assemblyai');
    expect(both.tts?.name).toBe('slng');
    const withFile = ConfigSchema.parse({ pipeline: { slngTts: { keyFile: '/nonexistent/slng.key' } } }).pipeline;
    expect(() => speechServicesFromConfig(withFile, silentLogger(), { env: {} })).toThrow('pipeline.slngTts.keyFile: cannot read /nonexistent/slng.key (ENOENT)');
  });
});
