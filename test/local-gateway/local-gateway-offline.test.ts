/**
 * The offline assistant end to end: the real agent (createAgent with a WAV microphone that
 * speaks flite-made requests, one per listen, and a WAV speaker) over WebSocket to the real
 * local gateway with the pocketsphinx recogniser, its skills and the flite voice; and the
 * `speaker-agent gateway` CLI, which recognises by default. Needs pocketsphinx,
 * pocketsphinx-en-us and flite (scripts/lib/setup.sh installs them); fails without them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAgent, type Agent } from '../../src/agent.js';
import { parseWav } from '../../src/audio/wav.js';
import { parseConfig } from '../../src/config/load.js';
import { builtinSkills, skillGrammars } from '../../src/local-gateway/assistant.js';
import { LocalGateway } from '../../src/local-gateway/server.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { PocketsphinxStt } from '../../src/speech/pocketsphinx.js';
import { NO_EARCONS, waitFor } from '../support/harness.js';
import { padded, spoken } from '../support/speech-fixtures.js';
import { writeWav } from '../support/wav.js';

const CLI = path.resolve('dist/src/cli.js');
let dir: string;
let stt: PocketsphinxStt;
let gw: LocalGateway;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sa-offline-'));
  const skills = builtinSkills({ lights: { reportDelayMs: 300 } });
  stt = new PocketsphinxStt({ grammars: skillGrammars(skills), log: silentLogger() });
  gw = new LocalGateway({ log: silentLogger(), stt, skills, speech: 'flite', pace: 0, announceGapMs: 200 });
  await gw.start();
});
afterAll(async () => {
  await gw.stop();
  stt.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  agent: Agent;
  log: ReturnType<typeof memoryLogger>;
  speakerFile: string;
  transcripts: { turnId: string | null; text: string; confidence?: number }[];
  replies: { turnId: string | null; text: string }[];
  spoken: Set<string | null>;
}
let run: Run | undefined;
afterEach(async () => {
  await run?.agent.stop();
  run = undefined;
});

/** The agent with a microphone that says `requests` in turn (voice/text), one per listen. */
async function agentSaying(name: string, requests: [string, string][]): Promise<Run> {
  const files = requests.map(([voice, text], i) => {
    const file = path.join(dir, `${name}-${i}.wav`);
    writeWav(file, padded(spoken(voice, text), 300, 0), 16000);
    return file;
  });
  const speakerFile = path.join(dir, `${name}-speaker.wav`);
  const config = parseConfig({
    gateway: { url: gw.url, reconnectMinMs: 50, reconnectMaxMs: 400 },
    audio: { mic: `wav:${files.join(',')}`, micCue: 'listen', micRealtime: false, speaker: `wav:${speakerFile}`, speakerRealtime: false, earcons: NO_EARCONS },
    conversation: { settleMs: 100, noSpeechTimeoutMs: 4000, thinkingTimeoutMs: 8000, expectSpeechTimeoutMs: 4000 },
    wake: { engine: 'none' },
    gpio: { driver: 'none' },
  });
  const log = memoryLogger('debug');
  const agent = await createAgent(config, { log: log.logger, controlSocket: null });
  const r: Run = { agent, log, speakerFile, transcripts: [], replies: [], spoken: new Set() };
  agent.session.on('transcript', (t) => t.final && r.transcripts.push({ turnId: t.turnId, text: t.text, ...(t.confidence !== undefined ? { confidence: t.confidence } : {}) }));
  agent.session.on('replyText', (t) => r.replies.push(t));
  agent.session.on('state', (s) => s.phase === 'speaking' && r.spoken.add(s.turnId));
  await agent.start();
  await waitFor(() => agent.session.state.connected, 'connected', 5000);
  return r;
}

/** One triggered turn (and its follow-ups): waits until `transcripts` more were heard and the agent is idle. */
async function turn(r: Run, transcripts = 1): Promise<{ heard: string[]; said: string[] }> {
  const t0 = r.transcripts.length;
  const p0 = r.replies.length;
  expect(r.agent.session.trigger('control')).toEqual({ ok: true });
  await waitFor(
    () => r.transcripts.length >= t0 + transcripts && r.replies.length >= p0 + transcripts && r.agent.session.state.phase.kind === 'idle',
    `${transcripts} transcript(s) and the replies (have ${r.transcripts.length - t0}, ${r.replies.length - p0}; phase ${r.agent.session.state.phase.kind})`,
    15_000,
  );
  return { heard: r.transcripts.slice(t0).map((t) => t.text), said: r.replies.slice(p0).map((t) => t.text) };
}

const SKILL_TURNS: { say: string[]; hear: string[]; reply: (RegExp | string)[] }[] = [
  { say: ['what time is it'], hear: ['what time is it'], reply: [/^It is [a-z' ]+\.$/] },
  { say: ['set a timer for ten minutes'], hear: ['set a timer for ten minutes'], reply: ['OK, a timer for ten minutes, starting now.'] },
  { say: ['turn off the bedroom light'], hear: ['turn off the bedroom light'], reply: ['The bedroom light is already off.'] },
  { say: ['turn the volume down'], hear: ['turn the volume down'], reply: ['Turning the volume down.'] },
  // The greeting asks back (prompt=true): the answer is a follow-up turn, heard without a wake word.
  { say: ['how are you today', 'i am fine thank you'], hear: ['how are you today', 'i am fine thank you'], reply: ['I am very well, thank you. And how are you?', 'Glad to hear it!'] },
];

describe('the offline assistant, through the real agent', () => {
  // Three flite voices. flite's rms is not among them: it says "ten" so that the recogniser hears
  // "two" ("set a timer for two minutes"); bench/recognition.ts measures every voice.
  it.each(['flite/awb', 'flite/kal16', 'flite/slt'])("recognises and answers every skill's requests said by %s", async (voice) => {
    run = await agentSaying(voice.replace('/', '-'), SKILL_TURNS.flatMap((t) => t.say.map((s): [string, string] => [voice, s])));
    for (const t of SKILL_TURNS) {
      const { heard, said } = await turn(run, t.say.length);
      expect(heard, `${voice} said ${JSON.stringify(t.say)}`).toEqual(t.hear);
      t.reply.forEach((want, i) => (typeof want === 'string' ? expect(said[i]).toBe(want) : expect(said[i]).toMatch(want)));
    }
    // Transcripts carry the recogniser's confidence.
    expect(run.transcripts.every((t) => t.confidence! > 0.5 && t.confidence! <= 1)).toBe(true);
    // The volume reply carried a command the agent applied to its speaker: 100 -> 90.
    expect(run.log.lines().filter((l) => l.event === 'volume-command')).toEqual([expect.objectContaining({ from: 100, to: 90 })]);
    // Every reply was spoken: the speaker file holds seconds of audio.
    await run.agent.stop();
    const wav = parseWav(readFileSync(run.speakerFile));
    expect(wav.dataBytes / 32000).toBeGreaterThan(6);
  });

  it('answers a sentence outside its grammar honestly, not with a guess', async () => {
    run = await agentSaying('oog', [
      ['flite/rms', 'play some jazz music'],
      ['flite/awb', 'what is the weather like tomorrow'],
    ]);
    for (let i = 0; i < 2; i++) {
      const { heard, said } = await turn(run);
      expect(heard).toEqual(['']);
      expect(said[0]).toBe('Sorry, I did not understand that. You can ask me the time or the date, set a timer, turn a light on or off, or turn the volume up or down.');
    }
    expect(run.transcripts.every((t) => t.confidence! < 0.5)).toBe(true);
    expect(run.log.lines().some((l) => l.event === 'volume-command')).toBe(false);
  });

  it('plays the unsolicited replies: a light reporting back, and a timer set in a follow-up going off', async () => {
    run = await agentSaying('unsolicited', [
      ['flite/kal16', 'turn on the kitchen light'],
      ['flite/kal16', 'set a timer'],
      ['flite/kal16', 'two seconds'],
    ]);
    const light = await turn(run);
    expect(light).toEqual({ heard: ['turn on the kitchen light'], said: ['OK, turning on the kitchen light.'] });
    await waitFor(() => run!.replies.some((r) => r.text === 'The kitchen light is now on.'), 'the light reporting back', 8000);
    const report = run.replies.find((r) => r.text === 'The kitchen light is now on.')!;
    const lightTurn = run.transcripts[0]!.turnId;
    expect(report.turnId).not.toBe(lightTurn); // its own id: no turn was open
    await waitFor(() => run!.spoken.has(report.turnId) && run!.agent.session.state.phase.kind === 'idle', 'the report played');

    // "Set a timer" -> "For how long?" (prompt=true) -> the answer, heard without a trigger.
    const timer = await turn(run, 2);
    expect(timer).toEqual({ heard: ['set a timer', 'two seconds'], said: ['For how long?', 'OK, a timer for two seconds, starting now.'] });
    expect(run.log.lines().some((l) => l.event === 'state' && l.phase === 'listening' && l.followUp === true)).toBe(true);
    await waitFor(() => run!.replies.some((r) => r.text === 'Your timer for two seconds is done.'), 'the timer going off', 8000);
    const done = run.replies.find((r) => r.text === 'Your timer for two seconds is done.')!;
    await waitFor(() => run!.spoken.has(done.turnId) && run!.agent.session.state.phase.kind === 'idle', 'the timer announcement played');
    expect(run.log.lines().some((l) => l.event === 'reply-audio-dropped')).toBe(false);
  });
});

describe('speaker-agent gateway', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    child = undefined;
  });

  it('recognises by default: the transcript is the words said, in lower case, with a confidence', async () => {
    statSync(CLI);
    let out = '';
    child = spawn('node', [CLI, 'gateway', '--port', '0', '--log-format', 'json', '--pace', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /GATEWAY_URL=ws:\/\/127\.0\.0\.1:\d+\//.test(out), 'GATEWAY_URL', 15_000);
    const listening = JSON.parse(out.split('\n').find((l) => l.includes('"event":"listening"'))!) as Record<string, unknown>;
    expect(listening).toMatchObject({ stt: 'pocketsphinx', tts: 'flite', skills: ['time', 'timer', 'lights', 'volume', 'greeting'] });
    const ws = new WebSocket(/GATEWAY_URL=(\S+)/.exec(out)![1]!);
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    const pcm = padded(spoken('flite/awb', 'turn on the living room light'), 500, 1500);
    ws.send(JSON.stringify({ id: 'c1', action: 'audio_start' }));
    for (let i = 0; i < pcm.length; i += 320) {
      ws.send(JSON.stringify({ id: 'c1', action: 'audio_data', data: Buffer.from(pcm.buffer, pcm.byteOffset + i * 2, Math.min(640, (pcm.length - i) * 2)).toString('base64'), encoding: 'base64' }));
    }
    await waitFor(() => messages.some((m) => m.action === 'stt_transcript'), 'the transcript', 10_000);
    ws.send(JSON.stringify({ id: 'c1', action: 'audio_end' }));
    const t = messages.find((m) => m.action === 'stt_transcript')!;
    expect(t.transcript).toBe('turn on the living room light');
    expect(t.confidence as number).toBeGreaterThan(0.5);
    await waitFor(() => messages.some((m) => m.action === 'audio_end'), 'the reply', 10_000);
    expect(messages.find((m) => m.action === 'text')).toMatchObject({ text: 'OK, turning on the living room light.' });
    ws.close();
  });

  it('without the recogniser\'s model it starts anyway, says why recognition is off, and every reply says so', async () => {
    const cfg = path.join(dir, 'no-model.yaml');
    writeFileSync(cfg, `pipeline:\n  pocketsphinx:\n    modelDir: ${path.join(dir, 'no-such-model')}\n`);
    let out = '';
    child = spawn('node', [CLI, 'gateway', '--port', '0', '--log-format', 'json', '--pace', '0', '--tts', 'tone', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('GATEWAY_URL='), 'GATEWAY_URL', 15_000);
    const why = `the pocketsphinx acoustic model is missing (${path.join(dir, 'no-such-model', 'en-us')}): install pocketsphinx-en-us, or set pipeline.pocketsphinx.modelDir`;
    expect(out).toContain(`"event":"recognition-off","reason":${JSON.stringify(why)}`);
    const ws = new WebSocket(/GATEWAY_URL=(\S+)/.exec(out)![1]!);
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ id: 'n1', action: 'audio_start' }));
    const pcm = padded(spoken('flite/awb', 'what time is it'), 300, 300);
    ws.send(JSON.stringify({ id: 'n1', action: 'audio_data', data: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64'), encoding: 'base64' }));
    ws.send(JSON.stringify({ id: 'n1', action: 'audio_end' }));
    await waitFor(() => messages.some((m) => m.action === 'text'), 'the reply', 10_000);
    expect(messages.find((m) => m.action === 'stt_transcript')).toMatchObject({ transcript: '', confidence: 0 });
    expect(messages.find((m) => m.action === 'text')).toMatchObject({ text: `Speech recognition is off on this gateway: ${why}.` });
    ws.close();
  });
});
