/**
 * The gateway client (and the whole agent) against a fake gateway that speaks like the one the
 * public reference client expects (docs/protocol.md "Audio gateway"): `speech` and `voice` on a
 * `text` reply, `prompt` there, stt_options per connection, transaction ids, unannounced audio,
 * and a token command re-run on every (re)connect.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../../src/agent.js';
import { wavHeader } from '../../src/audio/wav.js';
import { deepMerge, parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { FakeGpio, FakeMic, FakeSpeaker, FakeWake } from '../fakes/index.js';
import { GatewayClient } from '../../src/gateway/client.js';
import { memoryLogger } from '../../src/log/logger.js';
import type { BackendEvents } from '../../src/ports/backend.js';
import { FakeReferenceGateway, type FakeReferenceGatewayOptions } from '../fakes/reference-gateway.js';
import { FAST, silence, speech, waitFor } from '../support/harness.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fake(o: FakeReferenceGatewayOptions): Promise<FakeReferenceGateway> {
  const f = await new FakeReferenceGateway(o).start();
  cleanups.push(() => f.close());
  return f;
}

type Recorded = { event: keyof BackendEvents; args: unknown };
function client(url: string, gateway: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) {
  const config = parseConfig({ gateway: { url, reconnectMinMs: 50, reconnectMaxMs: 200, authRetryMs: 60_000, ...gateway } });
  const mem = memoryLogger();
  const c = new GatewayClient(config.gateway, mem.logger, { env });
  cleanups.push(() => c.stop());
  const events: Recorded[] = [];
  for (const event of ['transcript', 'replyText', 'replyAudioStart', 'replyAudio', 'replyAudioEnd', 'replyEnd', 'turnError', 'connected', 'disconnected'] as const) {
    c.on(event, ((...a: unknown[]) => void events.push({ event, args: a[0] })) as never);
  }
  const names = () => events.map((e) => e.event).filter((e) => e !== 'connected' && e !== 'disconnected');
  return { c, mem, events, names };
}

/** One spoken turn on the wire: audio until the gateway's transcript, then audio_end. */
async function turn(c: GatewayClient, events: Recorded[], id: string): Promise<void> {
  c.beginTurn(id);
  for (let i = 0; i < 20; i++) c.sendAudio(id, new Int16Array(320).fill(100));
  await waitFor(() => events.some((e) => e.event === 'transcript'), 'the transcript');
  c.endTurn(id);
}

const pcm = Buffer.alloc(6400, 7);
const wav = Buffer.concat([wavHeader({ sampleRate: 16000, channels: 1 }, pcm.length), pcm]);

describe('replies as the reference client reads them', () => {
  it('plays a `text` reply whose text is in `speech` and whose audio is a `voice` URL, keeping its prompt', async () => {
    const f = await fake({ reply: { speech: 'The blinds are open.', prompt: true, voice: { body: wav, contentType: 'audio/wav' } } });
    const { c, mem, events, names } = client(f.url);
    await c.start();
    await waitFor(() => c.connected, 'connected');
    await turn(c, events, 't1');
    await waitFor(() => names().includes('replyEnd'), 'the reply end');
    expect(names()).toEqual(['transcript', 'replyText', 'replyAudioStart', ...names().filter((n) => n === 'replyAudio'), 'replyAudioEnd', 'replyEnd']);
    expect(events.find((e) => e.event === 'replyText')!.args).toEqual({ turnId: 't1', text: 'The blinds are open.', prompt: true });
    expect(events.find((e) => e.event === 'replyAudioStart')!.args).toEqual({ turnId: 't1', format: { codec: 'pcm', sampleRate: 16000, channels: 1 } });
    const played = Buffer.concat(events.filter((e) => e.event === 'replyAudio').map((e) => (e.args as { data: Buffer }).data));
    expect(played.equals(pcm)).toBe(true);
    expect(events.find((e) => e.event === 'replyEnd')!.args).toEqual({ turnId: 't1', prompt: true });
    expect(f.voiceRequests).toHaveLength(1);
    expect(mem.text()).toContain('voice-fetch');
    expect(mem.text()).not.toContain('SECRET-SIG'); // the signed URL's query never reaches the log
  });

  it('audio the gateway streams first wins over the URL, which is then not played', async () => {
    const streamed = Buffer.alloc(640, 3);
    const f = await fake({ reply: { speech: 'Streamed.', voice: { body: wav, contentType: 'audio/wav', delayMs: 300 } }, stream: streamed });
    const { c, events, names } = client(f.url);
    await c.start();
    await waitFor(() => c.connected, 'connected');
    await turn(c, events, 't1');
    await waitFor(() => names().includes('replyEnd'), 'the reply end');
    expect(names()).toEqual(['transcript', 'replyText', 'replyAudioStart', 'replyAudio', 'replyAudioEnd', 'replyEnd']);
    expect(events.find((e) => e.event === 'replyAudioStart')!.args).toMatchObject({ format: { codec: 'unknown' } });
    expect((events.find((e) => e.event === 'replyAudio')!.args as { data: Buffer }).data.equals(streamed)).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
    expect(names().filter((n) => n === 'replyAudio')).toHaveLength(1);
  });

  it('a voice URL that cannot be played is a turn error naming the URL without its query', async () => {
    const f = await fake({ reply: { speech: 'Gone.', voice: { body: Buffer.from('nope'), contentType: 'text/plain', status: 404 } } });
    const { c, mem, events, names } = client(f.url);
    await c.start();
    await waitFor(() => c.connected, 'connected');
    await turn(c, events, 't1');
    await waitFor(() => names().includes('turnError'), 'the turn error');
    const err = events.find((e) => e.event === 'turnError')!.args as { message: string };
    expect(err.message).toMatch(/reply audio could not be played: .*\/tts\/reply: HTTP 404/);
    expect(err.message).not.toContain('SECRET-SIG');
    expect(names()).not.toContain('replyAudioStart');
    expect(mem.text()).toContain('voice-fetch-failed');
  });

  it('audio_data whose id no audio_start announced is dropped with a log line, not played', async () => {
    const f = await fake({});
    const { c, mem, names } = client(f.url);
    await c.start();
    await waitFor(() => c.connected && f.sockets.length === 1, 'connected');
    f.push({ id: 'never-announced', action: 'audio_data', data: Buffer.alloc(320, 1).toString('base64'), encoding: 'base64' });
    f.push({ id: 'r1', action: 'audio_start' });
    f.push({ id: 'r1', action: 'audio_data', data: Buffer.alloc(320, 2).toString('base64') });
    f.push({ id: 'r1', action: 'audio_end' });
    f.push({ id: 'r1', action: 'audio_data', data: Buffer.alloc(320, 3).toString('base64') }); // after its end
    await waitFor(() => names().includes('replyEnd'), 'the reply');
    await waitFor(() => (mem.text().match(/reply-audio-dropped/g) ?? []).length === 2, 'two drop lines');
    expect(names()).toEqual(['replyAudioStart', 'replyAudio', 'replyAudioEnd', 'replyEnd']);
    expect(mem.text()).toContain('never-announced');
  });

  it('logs the transcript transaction id with a gateway error for that turn', async () => {
    const f = await fake({});
    const { c, mem, events } = client(f.url);
    await c.start();
    await waitFor(() => c.connected, 'connected');
    await turn(c, events, 'turn-42');
    f.push({ id: 'turn-42', action: 'error', error: { message: 'skill failed' } });
    await waitFor(() => mem.text().includes('gateway-error'), 'the error line');
    const line = mem.lines().find((l) => l.event === 'gateway-error')!;
    expect(line).toMatchObject({ turnId: 'turn-42', transactionId: 'tx-turn-4', message: 'skill failed' });
  });
});

describe('stt_options', () => {
  it('goes once per connection before its first turn, under that turn id; content_type is never overridden per turn', async () => {
    const options = { engine: 'watson', content_type: 'audio/l16; rate=16000; channels=1', inactivity_timeout: -1, smart_formatting: true };
    const f = await fake({});
    const { c, mem } = client(f.url, { sttOptions: options, ttsOptions: { voice: 'en-US_LisaVoice' } });
    await c.start();
    await waitFor(() => c.connected && f.messages.length === 1, 'tts_options on connect');
    expect(f.actions()).toEqual(['tts_options']);
    c.beginTurn('t1');
    c.endTurn('t1');
    c.beginTurn('t2', { stt: { model: 'yes-no', content_type: 'audio/mpeg' } });
    c.endTurn('t2');
    await waitFor(() => f.messages.length === 6, 'both turns');
    expect(f.messages.map((m) => [m.action, m.id])).toEqual([
      ['tts_options', f.messages[0]!.id],
      ['stt_options', 't1'],
      ['audio_start', 't1'],
      ['audio_end', 't1'],
      ['audio_start', 't2'],
      ['audio_end', 't2'],
    ]);
    expect(f.messages[1]!.options).toEqual(options);
    expect(f.messages[2]!.options).toBeUndefined();
    expect(f.messages[4]!.options).toEqual({ stt: { model: 'yes-no' } });
    expect(mem.text()).toContain('stt-option-ignored');
    // A new connection sends them again before its first turn.
    f.sockets[0]!.terminate();
    await waitFor(() => c.connected && f.sockets.length === 2, 'reconnected');
    c.beginTurn('t3');
    await waitFor(() => f.messages.some((m) => m.id === 't3'), 'turn 3');
    expect(f.messages.filter((m) => m.action === 'stt_options').map((m) => m.id)).toEqual(['t1', 't3']);
  });
});

describe('token command', () => {
  function script(dir: string, body: string): string {
    const file = path.join(dir, 'get-token');
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  }

  it('is run before every (re)connect; a 401 after the token changed retries at once, once; the token is never logged', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-token-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // Each run exchanges for a new token: tok-1, tok-2, ... (a counter file stands in for the exchange).
    const cmd = script(dir, `n=$(cat "${dir}/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${dir}/n"; echo "tok-$n"; echo "exchanging key" >&2`);
    let accepted = ['tok-2'];
    const f = await fake({ tokens: () => accepted });
    const { c, mem, events } = client(f.url, { tokenCommand: [cmd, '--audience', 'gateway'] });
    await c.start();
    // tok-1 is refused; the command runs again at once and tok-2 is accepted.
    await waitFor(() => c.connected, 'connected with the second token', 5000);
    expect(f.authHeaders).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(events.find((e) => e.event === 'disconnected')!.args).toMatchObject({ auth: true, retryInMs: 0 });
    // A reconnect runs the command again.
    accepted = ['tok-3'];
    f.sockets[0]!.terminate();
    await waitFor(() => f.authHeaders.length === 3 && c.connected, 'reconnected with a fresh token');
    expect(f.authHeaders[2]).toBe('Bearer tok-3');
    // Refused with a fresh token twice in a row: only one immediate retry, then the slow one.
    accepted = [];
    f.sockets[1]!.terminate();
    await waitFor(() => f.authHeaders.length === 5, 'the refusals');
    await new Promise((r) => setTimeout(r, 200));
    expect(f.authHeaders).toHaveLength(5);
    const downs = events.filter((e) => e.event === 'disconnected').map((e) => (e.args as { retryInMs: number }).retryInMs);
    expect(downs.slice(-2)).toEqual([0, 60_000]);
    const log = mem.text();
    for (const t of ['tok-1', 'tok-2', 'tok-3', 'tok-4', 'tok-5', 'exchanging key', '--audience']) expect(log).not.toContain(t);
    expect(readFileSync(path.join(dir, 'n'), 'utf8').trim()).toBe('5');
    // Only the latest tokens stay registered as secrets: the masking set does not grow per exchange.
    mem.logger.info('probe', { note: 'tok-5 tok-4 tok-2' });
    expect(mem.lines().find((l) => l.event === 'probe')!.note).toBe('[redacted] [redacted] tok-2');
  });

  it('a failing or silent command is reported with a fix, its output never logged, and retried slowly', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-token-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const f = await fake({});
    const failing = client(f.url, { tokenCommand: script(dir, 'echo "secret-key-123 rejected" >&2; exit 3') });
    await failing.c.start();
    await waitFor(() => failing.mem.text().includes('token-unavailable'), 'the report');
    const line = failing.mem.lines().find((l) => l.event === 'token-unavailable')!;
    expect(line.problem).toMatch(/token command get-token failed \(exit code 3\)|token command .*get-token failed \(exit code 3\)/);
    expect(String(line.fix)).toMatch(/by hand/);
    expect(failing.mem.text()).not.toContain('secret-key-123');
    expect(failing.events.find((e) => e.event === 'disconnected')!.args).toMatchObject({ auth: true, retryInMs: 60_000 });
    expect(f.authHeaders).toHaveLength(0);
  });
});

describe('the agent against the reference-style gateway', () => {
  async function agent(f: FakeReferenceGateway, config: ConfigInput = {}): Promise<{ agent: Agent; mic: FakeMic; speaker: FakeSpeaker }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-interop-'));
    const socket = path.join(dir, 'control.sock');
    const cfg = parseConfig(deepMerge(deepMerge(FAST as Record<string, unknown>, { gateway: { url: f.url }, control: { socket } }), config as Record<string, unknown>));
    const mic = new FakeMic();
    const speaker = new FakeSpeaker();
    const a = await createAgent(cfg, { log: memoryLogger('debug').logger, controlSocket: socket, overrides: { mic, speaker, wake: new FakeWake(), gpio: new FakeGpio() } });
    await a.start();
    cleanups.push(async () => {
      await a.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    return { agent: a, mic, speaker };
  }

  it('listens until the gateway transcript (the default end of listening), plays the voice URL, then follows up on the text prompt', async () => {
    const f = await fake({ endAfterMs: 2500, reply: { speech: 'Which room?', prompt: true, voice: { body: wav, contentType: 'audio/wav' } } });
    const { agent: a, mic, speaker } = await agent(f);
    await waitFor(() => a.session.state.connected, 'connected');
    mic.push(silence(500)); // the room before the trigger: the VAD learns its floor
    expect(a.session.trigger('control')).toEqual({ ok: true });
    const id = a.session.status().turnId!;
    // Speech, then a long silence: local end of speech does not end the turn; the transcript
    // (after 2.5 s of audio: 0.5 s pre-roll, 0.6 s speech, 1.4 s silence) does, and audio_end follows it.
    mic.push(speech(600));
    mic.push(silence(2500));
    await waitFor(() => f.messages.some((m) => m.action === 'audio_end' && m.id === id), 'audio_end after the transcript');
    const audioEndAt = f.messages.findIndex((m) => m.action === 'audio_end' && m.id === id);
    expect(f.transcriptsAfter).toHaveLength(1);
    expect(audioEndAt).toBeGreaterThanOrEqual(f.transcriptsAfter[0]!);
    await waitFor(() => speaker.ends > 0, 'the fetched reply played to its end');
    expect(Buffer.concat(speaker.writes.map((w) => w.pcm)).equals(pcm)).toBe(true);
    speaker.drain();
    await waitFor(() => a.session.state.phase.kind === 'listening' && a.session.status().followUp, 'the follow-up the text prompt asked for');
  });
});
