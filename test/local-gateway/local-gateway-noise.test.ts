/**
 * The bundled gateway in a noisy room: requests said by three voices over pink noise at 15 dB
 * SNR (a kitchen fan, a television in the next room), streamed over WebSocket on loopback to the
 * real gateway with the pocketsphinx recogniser. Each request comes back as its own words and
 * the skill's answer; a sentence outside the grammar, in the same noise, gets the honest reply.
 * Needs pocketsphinx, pocketsphinx-en-us and flite (scripts/lib/setup.sh installs them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { builtinSkills, skillGrammars } from '../../src/local-gateway/assistant.js';
import { LocalGateway } from '../../src/local-gateway/server.js';
import { silentLogger } from '../../src/log/logger.js';
import { PocketsphinxStt } from '../../src/speech/pocketsphinx.js';
import { waitFor } from '../support/harness.js';
import { padded, spoken, withNoise } from '../support/speech-fixtures.js';

let stt: PocketsphinxStt;
let gw: LocalGateway;

beforeAll(async () => {
  const skills = builtinSkills({ lights: { reportDelayMs: 60_000 } });
  stt = new PocketsphinxStt({ grammars: skillGrammars(skills), log: silentLogger() });
  gw = new LocalGateway({ log: silentLogger(), stt, skills, speech: 'tone', pace: 0 });
  await gw.start();
});
afterAll(async () => {
  await gw.stop();
  stt.close();
});

/** One utterance over one connection: the transcript, its confidence, and the reply text. */
async function ask(pcm: Int16Array): Promise<{ transcript: string; confidence: number; reply: string }> {
  const ws = new WebSocket(gw.url);
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ id: 'n', action: 'audio_start' }));
  for (let i = 0; i < pcm.length; i += 320) {
    const chunk = pcm.subarray(i, i + 320);
    ws.send(JSON.stringify({ id: 'n', action: 'audio_data', data: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('base64'), encoding: 'base64' }));
  }
  await waitFor(() => messages.some((m) => m.action === 'stt_transcript'), 'the transcript', 10_000);
  ws.send(JSON.stringify({ id: 'n', action: 'audio_end' }));
  await waitFor(() => messages.some((m) => m.action === 'text'), 'the reply', 10_000);
  ws.close();
  const t = messages.find((m) => m.action === 'stt_transcript')!;
  return { transcript: t.transcript as string, confidence: t.confidence as number, reply: (messages.find((m) => m.action === 'text')!.text as string) ?? '' };
}

const REQUESTS: [string, RegExp][] = [
  ['what is the date today', /^Today is /],
  ['set a timer for five minutes', /^OK, a timer for five minutes/],
  // One gateway for all voices: the second time, the light is already on.
  ['switch on the kitchen light', /^(OK, turning on the kitchen light|The kitchen light is already on)\.$/],
  ['turn the volume up', /^Turning the volume up\.$/],
];

describe('the bundled gateway in pink noise at 15 dB SNR', () => {
  // In noise some right sentences score below the rejection threshold (docs/benchmarks.md has
  // the rates): those get the honest reply. A wrong transcript would be a command never given.
  it("recognises and answers requests said by three voices; what it does not recognise it says it did not understand", async () => {
    const outcomes: string[] = [];
    let seed = 11;
    for (const voice of ['flite/slt', 'flite/awb', 'flite/kal16']) {
      for (const [text, reply] of REQUESTS) {
        const r = await ask(withNoise(padded(spoken(voice, text), 500, 900), 15, seed++));
        if (r.transcript === '') {
          expect(r.reply, `${voice}: "${text}"`).toMatch(/^Sorry, I did not understand that\./);
          outcomes.push(`${voice}: "${text}" not understood`);
          continue;
        }
        expect(r.transcript, `${voice}: "${text}"`).toBe(text);
        expect(r.confidence).toBeGreaterThan(0.5);
        expect(r.reply).toMatch(reply);
        outcomes.push('right');
      }
    }
    expect(outcomes.filter((o) => o === 'right').length, outcomes.join('; ')).toBeGreaterThanOrEqual(10);
  });

  it('answers a sentence outside its grammar honestly, in the same noise', async () => {
    for (const [voice, text] of [
      ['flite/slt', 'play some jazz music'],
      ['flite/kal16', 'what is the capital of france'],
    ] as const) {
      const r = await ask(withNoise(padded(spoken(voice, text), 500, 900), 15, 5));
      expect(r.transcript, `${voice}: "${text}"`).toBe('');
      expect(r.reply).toMatch(/^Sorry, I did not understand that\./);
    }
  });
});
