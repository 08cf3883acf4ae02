/**
 * The real daemon (`speaker-agent run --wake openwakeword`) with a WAV microphone holding spoken
 * audio generated at test time: "hey jarvis", then a question. No `listen` command is sent: the
 * keyword alone opens the turn, the question streams to the gateway sample for sample, and the
 * pre-roll reaches back into the keyword.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atLevel, mix, roomNoise, sequence, synth, ttsMissing, type Voice } from '../../../bench/fixtures/tts.js';
import { request } from '../../../src/control/client.js';
import { LocalGateway } from '../../../src/local-gateway/server.js';
import { silentLogger } from '../../../src/log/logger.js';
import { received, waitFor } from '../../support/harness.js';
import { writeWav } from '../../support/wav.js';

const CLI = path.resolve('dist/src/cli.js');
const TOKEN = 'oww-test-token-1234';
const missing = ttsMissing();

let gw: LocalGateway;
let dir: string;
beforeAll(async () => {
  // The agent's own end-of-speech detector ends the turn; the stand-in gateway's cruder one
  // (an energy threshold) is given more patience so it does not cut the question short.
  gw = new LocalGateway({ log: silentLogger(), token: TOKEN, speech: 'tone', pace: 0, followUp: 'never', endSilenceMs: 2000 });
  await gw.start();
  dir = mkdtempSync(path.join(os.tmpdir(), 'sa-oww-'));
  writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
});
afterAll(async () => {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Finds `needle` (exactly) in `hay`; -1 when absent. */
function indexOf(hay: Int16Array, needle: Int16Array): number {
  outer: for (let k = 0; k + needle.length <= hay.length; k++) {
    for (let j = 0; j < needle.length; j++) if (hay[k + j] !== needle[j]) continue outer;
    return k;
  }
  return -1;
}

function startDaemon(name: string, mic: string, extra: string[] = []): { child: ChildProcess; socket: string; log: () => string } {
  const socket = path.join(dir, `${name}.sock`);
  let log = '';
  const args = [CLI, 'run', '--wake', 'openwakeword', '--wake-keyword', 'hey_jarvis', '--gateway', gw.url, '--token-file', path.join(dir, 'token')];
  args.push('--mic', `wav:${mic}`, '--speaker', `wav:${path.join(dir, `${name}-reply.wav`)}`, '--gpio', 'none', '--control', socket, ...extra);
  const child = spawn('node', args, { env: { ...process.env, SPEAKER_AGENT_LOG_LEVEL: 'debug' } });
  child.stdout!.on('data', (d) => (log += d.toString()));
  child.stderr!.on('data', (d) => (log += d.toString()));
  return { child, socket, log: () => log };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
}

describe.skipIf(missing)('speaker-agent run --wake openwakeword', () => {
  const cases: { name: string; voice: Voice; question: Voice }[] = [
    { name: 'espeak', voice: { engine: 'espeak', voice: 'en-us' }, question: { engine: 'flite', voice: 'slt' } },
    { name: 'flite', voice: { engine: 'flite', voice: 'kal16', rate: 1.1 }, question: { engine: 'espeak', voice: 'en-gb+f3' } },
  ];

  it.each(cases)('the spoken keyword ($name) opens a turn by itself and the question after it reaches the gateway', async ({ name, voice, question }) => {
    const keyword = atLevel(synth('hey jarvis', voice), -22);
    const ask = atLevel(synth('what time is it in tokyo', question), -22);
    const lead = 1200;
    const clean = sequence(lead, keyword, 250, ask, 2500);
    // A few dB of room noise under everything, as a real microphone hears.
    const pcm = mix(clean, roomNoise(clean.length, -58, 5));
    const file = path.join(dir, `${name}.wav`);
    writeWav(file, pcm, 16000);
    const keywordEnd = (lead * 16000) / 1000 + keyword.length;
    const askStart = keywordEnd + 4000;

    const before = gw.received.length;
    const d = startDaemon(name, file);
    try {
      await waitFor(() => gw.received.slice(before).some((r) => r.action === 'audio_end'), `the keyword to open a turn and the question to end it\n${d.log()}`, 20_000);
      const mine = gw.received.slice(before);
      const start = mine.find((r) => r.action === 'audio_start')!;
      expect(start).toBeDefined();
      expect(d.log()).toContain('"event":"wake-word"');
      expect(d.log()).toMatch(/"event":"detected","keyword":"hey jarvis"/);
      // Nothing else asked for this turn: the control socket was never used.
      const up = received(gw, start.id!);
      // The question is in the uplink, sample for sample, after the keyword.
      const probe = pcm.subarray(askStart + 8000, askStart + 8000 + 320);
      const at = indexOf(up, probe);
      expect(at, `the middle of the question is found in the uplink (${up.length} samples; keyword ends ${keywordEnd}, question ${askStart}-${askStart + ask.length})`).toBeGreaterThan(0);
      // Line the uplink up with the microphone file: its first sample is pre-roll from inside the keyword.
      const upStartInFile = askStart + 8000 - at;
      expect(upStartInFile).toBeLessThan(keywordEnd);
      expect(upStartInFile).toBeGreaterThan((lead * 16000) / 1000 - 16000);
      const want = pcm.subarray(upStartInFile, upStartInFile + Math.min(up.length, pcm.length - upStartInFile));
      expect(up.subarray(0, want.length)).toEqual(want);
      // The whole question made it.
      expect(upStartInFile + up.length).toBeGreaterThan(askStart + ask.length);
      const status = await request(d.socket, { cmd: 'status' });
      expect(status.ok && (status.status as { wake: unknown }).wake).toMatchObject({ available: true, engine: 'openwakeword', keywords: ['hey jarvis'] });
    } finally {
      await stop(d.child);
    }
  }, 40_000);

  it('the keyword spoken while the reply plays barges in: the reply stops and a new turn opens', async () => {
    const voice: Voice = { engine: 'flite', voice: 'slt' };
    const keyword = atLevel(synth('hey jarvis', voice), -22);
    const ask = atLevel(synth('what time is it', { engine: 'espeak', voice: 'en-us' }), -22);
    // keyword, question, then (while the 3 s reply plays) the keyword again and a second question.
    const clean = sequence(1200, keyword, 250, ask, 2300, keyword, 250, ask, 3000);
    const file = path.join(dir, 'barge.wav');
    writeWav(file, mix(clean, roomNoise(clean.length, -58, 7)), 16000);
    const before = gw.received.length;
    const d = startDaemon('barge', file);
    try {
      const starts = () => gw.received.slice(before).filter((r) => r.action === 'audio_start');
      await waitFor(() => starts().length >= 2, `two turns opened by the keyword\n${d.log()}`, 30_000);
      const log = d.log();
      // The second keyword came while the first reply was playing, and cut it.
      const speaking = log.indexOf('"phase":"speaking"');
      const secondWake = log.indexOf('"event":"wake-word"', log.indexOf('"event":"wake-word"') + 1);
      expect(speaking).toBeGreaterThan(0);
      expect(secondWake).toBeGreaterThan(speaking);
      expect(log.slice(speaking, secondWake)).not.toContain('"phase":"idle"');
    } finally {
      await stop(d.child);
    }
  }, 45_000);

  it('a question without the keyword opens no turn', async () => {
    const ask = atLevel(synth('what time is it in tokyo', { engine: 'flite', voice: 'slt' }), -22);
    const clean = sequence(800, ask, 2500);
    const file = path.join(dir, 'nokeyword.wav');
    writeWav(file, mix(clean, roomNoise(clean.length, -58, 6)), 16000);
    const before = gw.received.length;
    const d = startDaemon('nokeyword', file);
    try {
      await waitFor(() => d.log().includes('"event":"wake-ready"'), 'the wake word to load', 15_000);
      await waitFor(() => d.log().includes('"event":"connected"'), 'connected', 10_000);
      await new Promise((r) => setTimeout(r, (clean.length / 16000) * 1000 + 500));
      expect(gw.received.slice(before).filter((r) => r.action === 'audio_start')).toEqual([]);
    } finally {
      await stop(d.child);
    }
  }, 30_000);
});
