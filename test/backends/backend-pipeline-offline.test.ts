/**
 * `backend: pipeline` with no cloud: `pipeline.stt: pocketsphinx` (its grammar from the text
 * skill's declared phrases) and `pipeline.tts: flite`, through the real agent (createAgent with a
 * WAV microphone and a WAV speaker, the backend built by the registry from the config) and a
 * skill HTTP server on loopback. Needs pocketsphinx, pocketsphinx-en-us and flite.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, type Agent } from '../../src/agent.js';
import { parseWav } from '../../src/audio/wav.js';
import { createPipelineBackend } from '../../src/backends/factory.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { FakeSkill } from '../fakes/skill.js';
import { NO_EARCONS, waitFor } from '../support/harness.js';
import { padded, spoken } from '../support/speech-fixtures.js';
import { writeWav } from '../support/wav.js';

const PHRASES = ['(open | close) the (garage door | front gate)', 'is the garage door open'];
let dir: string;
let skill: FakeSkill;
/** What the skill answers to GET: its declared phrases (or nothing, to test that). */
let declared: unknown = { phrases: PHRASES };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sa-pipeline-offline-'));
  skill = await new FakeSkill((body, req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.method === 'GET') {
      if (declared === undefined) res.statusCode = 404;
      res.end(JSON.stringify(declared ?? { error: 'no' }));
      return;
    }
    res.end(JSON.stringify({ text: `Done: ${String(body.transcript)}.` }));
  }).start();
});
afterAll(async () => {
  await skill.close();
  rmSync(dir, { recursive: true, force: true });
});

let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  declared = { phrases: PHRASES };
  skill.requests.length = 0;
});

function config(name: string, requests: string[], pipeline: NonNullable<ConfigInput['pipeline']> = {}) {
  const files = requests.map((text, i) => {
    const file = path.join(dir, `${name}-${i}.wav`);
    writeWav(file, padded(spoken('flite/awb', text), 300, 0), 16000);
    return file;
  });
  return parseConfig({
    backend: 'pipeline',
    pipeline: { stt: 'pocketsphinx', tts: 'flite', skill: { url: skill.url }, ...pipeline },
    audio: { mic: `wav:${files.join(',')}`, micCue: 'listen', micRealtime: false, speaker: `wav:${path.join(dir, `${name}.wav`)}`, speakerRealtime: false, earcons: NO_EARCONS },
    conversation: { settleMs: 50, noSpeechTimeoutMs: 4000, thinkingTimeoutMs: 8000 },
    wake: { engine: 'none' },
    gpio: { driver: 'none' },
  });
}

async function start(cfg: ReturnType<typeof config>) {
  const log = memoryLogger('debug');
  agent = await createAgent(cfg, { log: log.logger, controlSocket: null });
  const seen = { transcripts: [] as string[], replies: [] as string[], errors: [] as string[] };
  agent.session.on('transcript', (t) => t.final && seen.transcripts.push(t.text));
  agent.session.on('replyText', (t) => seen.replies.push(t.text));
  agent.session.on('error', (e) => seen.errors.push(e.message));
  await agent.start();
  await waitFor(() => agent!.session.state.connected, 'connected');
  return { log, seen };
}

async function turn(seen: { replies: string[]; errors: string[] }): Promise<void> {
  const n = seen.replies.length + seen.errors.length;
  expect(agent!.session.trigger('control')).toEqual({ ok: true });
  await waitFor(() => seen.replies.length + seen.errors.length > n && agent!.session.state.phase.kind === 'idle', 'the turn to end', 15_000);
}

describe('pipeline backend, offline', () => {
  it('recognises the phrases the skill declares, asks the skill, and speaks its answer with flite', async () => {
    const cfg = config('declared', ['open the garage door', 'what time is it']);
    const { seen } = await start(cfg);
    await turn(seen);
    expect(seen.transcripts).toEqual(['open the garage door']);
    expect(skill.requests.filter((r) => r.body.transcript)).toEqual([expect.objectContaining({ body: expect.objectContaining({ transcript: 'open the garage door' }) })]);
    expect(seen.replies).toEqual(['Done: open the garage door.']);
    // Outside the skill's phrases: not understood, and the skill never sees a guess.
    await turn(seen);
    expect(seen.transcripts[1]).toBe('');
    expect(seen.replies[1]).toBe('Sorry, I did not understand that.');
    expect(skill.requests.filter((r) => r.body.transcript)).toHaveLength(1);
    await agent!.stop();
    const wav = parseWav(readFileSync(path.join(dir, 'declared.wav')));
    expect(wav.format).toEqual({ sampleRate: 16000, channels: 1 });
    expect(wav.dataBytes / 32000).toBeGreaterThan(2); // both replies, spoken
  });

  it('takes the phrases from the config when they are listed there (no GET), with its own not-understood reply', async () => {
    declared = undefined;
    const cfg = config('configured', ['close the front gate', 'turn on the kitchen light'], {
      skill: { url: skill.url, phrases: ['(open | close) the <gate>'], rules: { gate: ['front gate | back gate'] } },
      pocketsphinx: { notUnderstood: 'Pardon?' },
    });
    const { seen } = await start(cfg);
    await turn(seen);
    expect(seen.transcripts).toEqual(['close the front gate']);
    expect(seen.replies).toEqual(['Done: close the front gate.']);
    await turn(seen);
    expect(seen.replies[1]).toBe('Pardon?');
    expect(skill.requests.some((r) => r.body.transcript === undefined)).toBe(false); // no GET either
  });

  it('a skill that declares no phrases fails the turn with what to do', async () => {
    declared = undefined;
    const { seen } = await start(config('undeclared', ['open the garage door']));
    await turn(seen);
    expect(seen.errors[0]).toMatch(/declared no phrases \(GET answered HTTP 404.*answer GET with \{"phrases": \[\.\.\.\]\}, or list them in pipeline\.skill\.phrases/);
  });

  it('a phrase with a word the dictionary lacks, or a missing voice, is a config error', () => {
    const bad = config('bad', [], { skill: { url: skill.url, phrases: ['open the zorbluxifier'] } });
    expect(() => createPipelineBackend(bad, silentLogger())).toThrow(/^pipeline\.skill\.phrases: phrase "zorbluxifier": not in the pronunciation dictionary/);
    const voice = config('voice', [], { skill: { url: skill.url, phrases: ['hello'] }, localTts: { voice: 'nobody' } });
    expect(() => createPipelineBackend(voice, silentLogger())).toThrow(/^pipeline\.tts: flite has no voice "nobody"/);
  });
});
