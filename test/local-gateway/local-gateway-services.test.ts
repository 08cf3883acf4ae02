/**
 * The bundled local gateway with real speech services: the pipeline backend's AssemblyAI / SLNG
 * STT and SLNG TTS clients against the faithful fake servers on loopback, through the real agent
 * (harness) and through a raw WebSocket client; and the `gateway --config` CLI verb.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AssemblyAiStt } from '../../src/backends/stt/assemblyai.js';
import { SlngStt } from '../../src/backends/stt/slng.js';
import { SlngTts } from '../../src/backends/tts/slng.js';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { mp3BytesPerSecond } from '../../src/local-gateway/mp3.js';
import { LocalGateway, type LocalGatewayOptions } from '../../src/local-gateway/server.js';
import { encodeMp3, toneFor } from '../../src/local-gateway/speech.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { FakeAssemblyAi, type FakeAssemblyAiOptions } from '../fakes/assemblyai.js';
import { FakeSlngStt, FakeSlngTts, type FakeSlngTtsOptions } from '../fakes/slng.js';
import { connected, phase, silence, speech, startHarness, waitFor, type Harness } from '../support/harness.js';

const KEY = 'gw-svc-key-9f8e7d6c';
const CLI = path.resolve('dist/src/cli.js');

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function pipeline(input: ConfigInput['pipeline']) {
  return ConfigSchema.parse({ pipeline: input }).pipeline;
}

async function fakeAai(o: Partial<FakeAssemblyAiOptions> = {}): Promise<FakeAssemblyAi> {
  const aai = await new FakeAssemblyAi({ key: KEY, transcript: 'Turn on the kitchen light.', ...o }).start();
  cleanups.push(() => aai.close());
  return aai;
}

async function fakeTts(o: Partial<FakeSlngTtsOptions> = {}): Promise<FakeSlngTts> {
  const tts = await new FakeSlngTts({ key: KEY, chunks: 4, ...o }).start();
  cleanups.push(() => tts.close());
  return tts;
}

function aaiClient(aai: FakeAssemblyAi): AssemblyAiStt {
  return new AssemblyAiStt({ config: pipeline({ assemblyai: { url: aai.url } }).assemblyai, key: KEY, log: silentLogger(), connectTimeoutMs: 5000 });
}

function ttsClient(tts: FakeSlngTts, slngTts: NonNullable<ConfigInput['pipeline']>['slngTts'] = {}): SlngTts {
  const config = pipeline({ slngTts: { url: tts.url, rateLimitRetries: 0, ...slngTts } }).slngTts;
  return new SlngTts({ config, key: KEY, authScheme: 'Bearer', log: silentLogger(), connectTimeoutMs: 5000 });
}

async function gateway(o: Partial<LocalGatewayOptions>): Promise<{ gw: LocalGateway; log: ReturnType<typeof memoryLogger> }> {
  const log = memoryLogger('debug');
  const gw = new LocalGateway({ log: log.logger, speech: 'tone', pace: 0, followUp: 'never', ...o });
  await gw.start();
  cleanups.push(() => gw.stop());
  return { gw, log };
}

async function harness(gw: LocalGateway): Promise<Harness> {
  const h = await startHarness({ gw });
  // The harness stops the gateway too; stopping twice is harmless.
  cleanups.push(() => h.close());
  await connected(h);
  return h;
}

/** One spoken turn: trigger, speech, then enough silence for end of speech. */
function speakTurn(h: Harness): void {
  h.agent.session.trigger('control');
  h.mic.push(speech(600));
  h.mic.push(silence(1500));
}

describe('local gateway with real speech services, through the agent', () => {
  it('sends the STT service\'s transcript, says what was heard, and plays the TTS audio as sent', async () => {
    const aai = await fakeAai();
    const tts = await fakeTts();
    const { gw } = await gateway({ stt: aaiClient(aai), tts: ttsClient(tts) });
    expect([gw.sttEngine, gw.ttsEngine]).toEqual(['assemblyai', 'slng']);
    const h = await harness(gw);
    const transcripts: string[] = [];
    const replies: string[] = [];
    h.agent.session.on('transcript', (t) => transcripts.push(t.text));
    h.agent.session.on('replyText', (t) => replies.push(t.text));
    speakTurn(h);
    await waitFor(() => h.speaker.ends > 0, 'reply audio ended', 8000);
    h.speaker.drain();
    await waitFor(() => phase(h) === 'idle', 'idle');

    expect(transcripts).toEqual(['turn on the kitchen light']);
    // The transcript goes to the gateway's skills: the lights skill answers.
    expect(replies[0]).toBe('OK, turning on the kitchen light.');
    expect(tts.conns[0]!.texts[0]!.text).toBe(replies[0]);
    // Exactly the service's audio, in its format (16 kHz mono linear16 by default).
    const expected = Buffer.concat([0, 1, 2, 3].map((i) => FakeSlngTts.chunk(i, 640)));
    expect(Buffer.concat(h.speaker.writes.map((w) => w.pcm))).toEqual(expected);
    expect(h.speaker.writes[0]!.format).toEqual({ sampleRate: 16000, channels: 1 });
    // The utterance was streamed to AssemblyAI, ended with ForceEndpoint, and its session terminated.
    const s = aai.sessions[0]!;
    expect(s.violations).toEqual([]);
    expect(s.forceEndpoints).toBe(1);
    expect(s.audioMs).toBeGreaterThanOrEqual(600);
    expect(await aai.leaked()).toEqual([]);
  });

  it('passes the TTS service\'s sample rate on to the player (audio/l16; rate=24000)', async () => {
    const aai = await fakeAai();
    const tts = await fakeTts({ chunks: 2, chunkBytes: 960 });
    const { gw } = await gateway({ stt: aaiClient(aai), tts: ttsClient(tts, { sampleRate: 24000 }) });
    const h = await harness(gw);
    speakTurn(h);
    await waitFor(() => h.speaker.ends > 0, 'reply audio ended', 8000);
    expect(tts.conns[0]!.init).toMatchObject({ config: { sample_rate: 24000, encoding: 'linear16' } });
    expect(h.speaker.writes.length).toBeGreaterThan(0);
    expect(h.speaker.writes.every((w) => w.format.sampleRate === 24000 && w.format.channels === 1)).toBe(true);
    expect(Buffer.concat(h.speaker.writes.map((w) => w.pcm))).toEqual(Buffer.concat([FakeSlngTts.chunk(0, 960), FakeSlngTts.chunk(1, 960)]));
  });

  it('an STT failure becomes a gateway error for that turn, which the agent shows, and no reply', async () => {
    const aai = await fakeAai({ fault: 'close-1011' });
    const { gw, log } = await gateway({ stt: aaiClient(aai) });
    const h = await harness(gw);
    const errors: string[] = [];
    const replies: string[] = [];
    h.agent.session.on('error', (e) => errors.push(e.message));
    h.agent.session.on('replyText', (t) => replies.push(t.text));
    speakTurn(h);
    await waitFor(() => errors.length > 0, 'error event', 8000);
    expect(errors[0]).toBe('assemblyai closed the session (1011 internal error)');
    await waitFor(() => phase(h) === 'idle', 'idle');
    expect(h.agent.session.status().led).toBe('error');
    expect(log.lines().some((l) => l.event === 'stt-failed')).toBe(true);
    // No transcript and no reply instead.
    await new Promise((r) => setTimeout(r, 300));
    expect(replies).toEqual([]);
    expect(h.speaker.writes).toEqual([]);
  });

  it('a refused STT key is reported as the service says, and the next turn still works', async () => {
    const aai = await fakeAai();
    const wrongKey = new AssemblyAiStt({ config: pipeline({ assemblyai: { url: aai.url } }).assemblyai, key: 'wrong-key-123456', log: silentLogger(), connectTimeoutMs: 5000 });
    const { gw } = await gateway({ stt: wrongKey });
    const h = await harness(gw);
    const errors: string[] = [];
    h.agent.session.on('error', (e) => errors.push(e.message));
    speakTurn(h);
    await waitFor(() => errors.length > 0, 'error event', 8000);
    expect(errors[0]).toMatch(/assemblyai/i);
    expect(errors[0]).toMatch(/401/);
    expect(errors[0]).not.toContain('wrong-key-123456');
    await waitFor(() => phase(h) === 'idle', 'idle');
    // The gateway is still serving: a typed turn gets an answer.
    const replies: string[] = [];
    h.agent.session.on('replyText', (t) => replies.push(t.text));
    expect(h.agent.session.say('hello').ok).toBe(true);
    await waitFor(() => replies.length > 0, 'typed reply');
    expect(replies[0]).toMatch(/^You typed "hello", but I cannot help with that\./);
  });

  it('a TTS failure falls back to the local voice with a warning; the text reply still arrives', async () => {
    const aai = await fakeAai();
    const tts = await fakeTts({ initError: 'auth_error' });
    const { gw, log } = await gateway({ stt: aaiClient(aai), tts: ttsClient(tts) });
    const h = await harness(gw);
    const replies: string[] = [];
    h.agent.session.on('replyText', (t) => replies.push(t.text));
    speakTurn(h);
    await waitFor(() => h.speaker.ends > 0, 'fallback audio ended', 8000);
    expect(replies[0]).toBe('OK, turning on the kitchen light.');
    // The tone (0.4-3 s of 16 kHz mono), not the service's audio.
    const played = Buffer.concat(h.speaker.writes.map((w) => w.pcm));
    expect(played.length).toBe(toneFor(replies[0]!).length * 2);
    const warn = log.lines().find((l) => l.event === 'tts-failed');
    expect(warn).toMatchObject({ level: 'warn', service: 'slng', fallback: 'tone' });
    expect(String(warn!.error)).toMatch(/auth/i);
    expect(log.text()).not.toContain(KEY);
  });

  it('with SLNG STT too: the service\'s final transcript is the request', async () => {
    const stt = await new FakeSlngStt({ key: KEY, transcript: 'what time is it' }).start();
    cleanups.push(() => stt.close());
    const p = pipeline({ stt: 'slng', slngStt: { url: stt.url } });
    const client = new SlngStt({ config: { ...p.slngStt, url: stt.url }, key: KEY, authScheme: 'Bearer', log: silentLogger(), connectTimeoutMs: 5000 });
    const { gw } = await gateway({ stt: client, plan: (u) => ({ text: `heard ${u.transcript} recognized=${u.recognized} speech=${u.speechMs > 0}` }) });
    const h = await harness(gw);
    const replies: string[] = [];
    h.agent.session.on('replyText', (t) => replies.push(t.text));
    speakTurn(h);
    await waitFor(() => replies.length > 0, 'reply', 8000);
    expect(replies[0]).toBe('heard what time is it recognized=true speech=true');
    expect(stt.conns[0]!.finalizes).toBe(1);
    await waitFor(() => stt.conns[0]!.socketClosed, 'SLNG STT socket closed');
    expect(stt.conns[0]!.closeReceived).toBe(true);
  });
});

/** A bare protocol client, to see exactly what the gateway sends. */
async function rawClient(url: string): Promise<{ ws: WebSocket; messages: Record<string, unknown>[] }> {
  const ws = new WebSocket(url);
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (d, isBinary) => {
    if (!isBinary) messages.push(JSON.parse(d.toString()) as Record<string, unknown>);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  cleanups.push(() => ws.terminate());
  return { ws, messages };
}

function sendAudio(ws: WebSocket, id: string, pcm: Int16Array): void {
  for (let i = 0; i < pcm.length; i += 320) {
    const frame = pcm.subarray(i, i + 320);
    ws.send(JSON.stringify({ id, action: 'audio_data', data: Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64') }));
  }
}

describe('local gateway with real speech services, on the wire', () => {
  it('MP3 from the TTS service goes out as audio/mpeg, byte for byte', async () => {
    const tts = await fakeTts({ chunks: 3, chunkBytes: 500 });
    const { gw } = await gateway({ tts: ttsClient(tts, { encoding: 'mp3' }), replyFormat: 'pcm' });
    const { ws, messages } = await rawClient(gw.url);
    ws.send(JSON.stringify({ id: 't1', action: 'text', text: 'hi' }));
    await waitFor(() => messages.some((m) => m.action === 'audio_end'), 'audio_end');
    expect(messages.find((m) => m.action === 'audio_start')).toMatchObject({ options: { tts: { content_type: 'audio/mpeg' } } });
    const audio = Buffer.concat(messages.filter((m) => m.action === 'audio_data').map((m) => Buffer.from(String(m.data), 'base64')));
    expect(audio).toEqual(Buffer.concat([0, 1, 2].map((i) => FakeSlngTts.chunk(i, 500))));
  });

  it('the client going away mid-utterance ends the AssemblyAI session (Terminate)', async () => {
    const aai = await fakeAai();
    const { gw } = await gateway({ stt: aaiClient(aai) });
    const { ws } = await rawClient(gw.url);
    ws.send(JSON.stringify({ id: 'u1', action: 'audio_start' }));
    sendAudio(ws, 'u1', speech(400));
    await waitFor(() => (aai.sessions[0]?.audioMs ?? 0) >= 300, 'audio at AssemblyAI');
    ws.close();
    await waitFor(() => aai.sessions[0]!.socketClosed, 'session closed');
    expect(await aai.leaked()).toEqual([]);
  });

  it('stopping the gateway mid-utterance ends the AssemblyAI session (Terminate)', async () => {
    const aai = await fakeAai();
    const { gw } = await gateway({ stt: aaiClient(aai) });
    const { ws } = await rawClient(gw.url);
    ws.send(JSON.stringify({ id: 'u2', action: 'audio_start' }));
    sendAudio(ws, 'u2', speech(300));
    await waitFor(() => (aai.sessions[0]?.audioMs ?? 0) >= 200, 'audio at AssemblyAI');
    await gw.stop();
    expect(await aai.leaked()).toEqual([]);
  });

  it('a client that stops sending audio without audio_end still gets its session ended', async () => {
    const aai = await fakeAai();
    const { gw } = await gateway({ stt: aaiClient(aai), maxUtteranceMs: 400 });
    const { ws, messages } = await rawClient(gw.url);
    ws.send(JSON.stringify({ id: 'u4', action: 'audio_start' }));
    sendAudio(ws, 'u4', speech(200)); // then nothing: no end of speech, no length limit, no audio_end
    await waitFor(() => messages.some((m) => m.action === 'stt_transcript'), 'transcript after the guard', 3000);
    expect(aai.sessions[0]!.forceEndpoints).toBe(1);
    expect(await aai.leaked()).toEqual([]);
  });

  it('the service\'s own end of turn ends listening before the gateway\'s end-pointing', async () => {
    const aai = await fakeAai({ endOfTurnAfterMs: 300 });
    const { gw } = await gateway({ stt: aaiClient(aai) });
    const { ws, messages } = await rawClient(gw.url);
    ws.send(JSON.stringify({ id: 'u3', action: 'audio_start' }));
    sendAudio(ws, 'u3', speech(1000)); // still talking: no local end of speech yet
    await waitFor(() => messages.some((m) => m.action === 'stt_transcript'), 'transcript');
    expect(messages.find((m) => m.action === 'stt_transcript')).toMatchObject({ id: 'u3', transcript: 'turn on the kitchen light' });
    expect(aai.sessions[0]!.forceEndpoints).toBe(0);
    ws.send(JSON.stringify({ id: 'u3', action: 'audio_end' }));
    await waitFor(() => messages.some((m) => m.action === 'audio_end'), 'reply');
    expect(messages.filter((m) => m.action === 'stt_transcript')).toHaveLength(1);
    expect(await aai.leaked()).toEqual([]);
  });
});

describe('MP3 pacing', () => {
  it('reads the bit rate of real lame output, with or without an ID3v2 tag', async () => {
    const mp3 = await encodeMp3(toneFor('a reply of some length'));
    expect(mp3BytesPerSecond(mp3)).toBe(4000); // lame -b 32
    const id3 = Buffer.concat([Buffer.from('ID3'), Buffer.from([4, 0, 0, 0, 0, 0, 20]), Buffer.alloc(20, 0xff), mp3]);
    expect(mp3BytesPerSecond(id3)).toBe(4000);
    expect(mp3BytesPerSecond(Buffer.alloc(4000, 1))).toBeUndefined();
  });
});

describe('speaker-agent gateway --config', () => {
  beforeAll(() => {
    // The CLI tests run the built program; scripts/test.sh builds before testing.
    statSync(CLI);
  });

  function startCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
    const child = spawn('node', [CLI, 'gateway', '--port', '0', '--log-format', 'json', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    );
    return { child, output: () => out };
  }

  /** The environment without any service key, so the result does not depend on the machine. */
  function keylessEnv(): NodeJS.ProcessEnv {
    const env = { ...process.env };
    for (const k of ['ASSEMBLYAI_API_KEY', 'SLNG_API_KEY', 'CREDENTIALS_DIRECTORY', 'SPEAKER_AGENT_CONFIG']) delete env[k];
    return env;
  }

  function tmpDir(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-cli-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  function listeningLine(out: string): Record<string, unknown> | undefined {
    const line = out.split('\n').find((l) => l.includes('"event":"listening"'));
    return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
  }

  it('without keys and with recognition off it starts, says so, sends an empty transcript, prints GATEWAY_URL', async () => {
    const dir = tmpDir();
    const cfg = path.join(dir, 'agent.yaml');
    writeFileSync(cfg, 'backend: pipeline\npipeline:\n  stt: assemblyai\n');
    const { output } = startCli(['--config', cfg, '--speech', 'tone', '--recognition', 'off'], keylessEnv());
    await waitFor(() => /GATEWAY_URL=ws:\/\/127\.0\.0\.1:\d+\//.test(output()), 'GATEWAY_URL', 10_000);
    expect(listeningLine(output())).toMatchObject({ stt: 'off', recognition: 'off: it was turned off (--recognition off)', tts: 'tone' });
    const url = /GATEWAY_URL=(\S+)/.exec(output())![1]!;
    const { ws, messages } = await rawClient(url);
    ws.send(JSON.stringify({ id: 's1', action: 'audio_start' }));
    sendAudio(ws, 's1', speech(200));
    ws.send(JSON.stringify({ id: 's1', action: 'audio_end' }));
    await waitFor(() => messages.some((m) => m.action === 'stt_transcript'), 'transcript', 5000);
    expect(messages.find((m) => m.action === 'stt_transcript')).toMatchObject({ transcript: '', confidence: 0 });
    await waitFor(() => messages.some((m) => m.action === 'text'), 'reply', 5000);
    expect(String(messages.find((m) => m.action === 'text')!.text)).toMatch(/^Speech recognition is off on this gateway/);
  });

  it('with keys it uses the configured services, says which, and never prints a key', async () => {
    const aai = await fakeAai({ transcript: 'Play some jazz.' });
    const tts = await fakeTts();
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'aai.key'), `${KEY}\n`);
    const cfg = path.join(dir, 'agent.yaml');
    writeFileSync(
      cfg,
      [
        'pipeline:',
        '  assemblyai:',
        `    url: ${aai.url}`,
        `    keyFile: ${path.join(dir, 'aai.key')}`,
        '  slngTts:',
        `    url: ${tts.url}`,
        '',
      ].join('\n'),
    );
    // The TTS key comes from the environment, as it would on a Pi (or from LoadCredential=).
    const { output } = startCli(['--config', cfg, '--follow-up', 'never'], { ...keylessEnv(), SLNG_API_KEY: KEY });
    await waitFor(() => output().includes('GATEWAY_URL='), 'GATEWAY_URL', 10_000);
    expect(listeningLine(output())).toMatchObject({ stt: 'assemblyai', tts: 'slng' });
    const url = /GATEWAY_URL=(\S+)/.exec(output())![1]!;
    const { ws, messages } = await rawClient(url);
    ws.send(JSON.stringify({ id: 'k1', action: 'audio_start' }));
    sendAudio(ws, 'k1', speech(300));
    ws.send(JSON.stringify({ id: 'k1', action: 'audio_end' }));
    await waitFor(() => messages.some((m) => m.action === 'audio_end'), 'reply', 8000);
    expect(messages.find((m) => m.action === 'stt_transcript')).toMatchObject({ transcript: 'play some jazz' });
    // Free dictation no skill handles: the reply says what was heard, and that it cannot help.
    expect(String(messages.find((m) => m.action === 'text')!.text)).toMatch(/^I heard "play some jazz", but I cannot help with that\./);
    expect(messages.find((m) => m.action === 'audio_start')).toMatchObject({ options: { tts: { content_type: 'audio/l16; rate=16000; channels=1' } } });
    expect(output()).not.toContain(KEY);
  });

  it('a key file that cannot be read stops it with the config path', async () => {
    const dir = tmpDir();
    const cfg = path.join(dir, 'agent.yaml');
    writeFileSync(cfg, `pipeline:\n  slngTts:\n    keyFile: ${path.join(dir, 'missing.key')}\n`);
    const { child, output } = startCli(['--config', cfg], keylessEnv());
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(output()).toContain(`pipeline.slngTts.keyFile: cannot read ${path.join(dir, 'missing.key')} (ENOENT)`);
    expect(output()).not.toContain('GATEWAY_URL=');
  });
});
