/**
 * The offline recogniser on real speech: Debian's pocketsphinx through koffi, on utterances that
 * flite says here (16 kHz mono via sox). These tests need pocketsphinx, pocketsphinx-en-us and
 * flite (scripts/lib/setup.sh installs them) and fail without them: recognition is the feature.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SttResult, SttSession } from '../../src/backends/stt/types.js';
import { builtinSkills, skillGrammars } from '../../src/local-gateway/assistant.js';
import { concatPcm } from '../../src/audio/pcm.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { WienerFilter } from '../../src/speech/denoise.js';
import { PhraseError } from '../../src/speech/phrases.js';
import { DEFAULT_NOISE_MODEL, mergedVowels, PocketsphinxStt, thresholdAt } from '../../src/speech/pocketsphinx.js';
import { RecognizerUnavailableError } from '../../src/speech/pocketsphinx-lib.js';
import { garbageGuess, GARBAGE_CURVE, throughGarbage } from '../../src/speech/rejection.js';
import { padded, speechEnd, spoken, withNoise } from '../support/speech-fixtures.js';

let stt: PocketsphinxStt;
beforeAll(() => {
  stt = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), log: silentLogger() });
});
afterAll(() => stt.close());

const concat = (...parts: Int16Array[]): Int16Array => concatPcm(parts);

/** Streams `pcm` in 20 ms chunks, then asks for the final transcript. */
/**
 * Feeds `pcm` (`speech` with what follows it) whole, in 20 ms frames, to a session that ends
 * itself (what follows its end is not decoded): where it ended in audio, ms after the last word
 * of `speech` (from the frames the recogniser's last hypothesis counted, `frames.n`), and the text.
 */
async function endAfterLastWord(on: PocketsphinxStt, frames: { n: number }, speech: Int16Array, pcm: Int16Array): Promise<{ ms: number; text: string }> {
  const s = on.open();
  const final = s.next('final');
  for (let i = 0; i < pcm.length; i += 320) s.send(pcm.subarray(i, i + 320));
  const [r] = await final;
  await s.close();
  return { ms: frames.n * 10 - (speechEnd(speech) / 16000) * 1000, text: r.text };
}

async function recognise(pcm: Int16Array, grammar?: string, on: PocketsphinxStt = stt): Promise<SttResult> {
  const s = on.open(grammar ? { grammar } : {});
  const final = s.next('final');
  for (let i = 0; i < pcm.length; i += 320) s.send(pcm.subarray(i, i + 320));
  s.finalize();
  const [r] = await final;
  await s.close();
  return r;
}

describe('pocketsphinx with the gateway skills\' grammar', () => {
  it.each(['flite/rms', 'flite/awb', 'flite/kal16'])('recognises requests said by %s, with a confidence', async (voice) => {
    for (const text of ['what time is it', 'set a timer for five minutes', 'turn off the living room light', 'turn the volume up', 'how are you today']) {
      const r = await recognise(padded(spoken(voice, text), 500, 800));
      expect(r, `${voice}: "${text}"`).toMatchObject({ text });
      expect(r.rejected).toBeUndefined();
      expect(r.confidence!).toBeGreaterThan(0.5);
      expect(r.confidence!).toBeLessThanOrEqual(1);
    }
  });

  it('rejects sentences outside the grammar instead of guessing, with a low confidence', async () => {
    for (const text of ['play some jazz music', 'the quick brown fox jumps over the lazy dog', 'call my mother']) {
      const r = await recognise(padded(spoken('flite/rms', text), 500, 800));
      expect(r.text, text).toBe('');
      expect(r.rejected, text).toBe(true);
      expect(r.confidence!).toBeLessThan(0.5);
    }
  });

  it('rejects speech that starts as a request and goes on as something else: the grammar\'s garbage path takes it', async () => {
    const easter = padded(spoken('flite/slt', 'what is the date of easter'), 500, 800);
    const r = await recognise(easter);
    expect(r).toMatchObject({ text: '', rejected: true, confidence: 0 });
    expect(r.guess).toMatch(/^what is the date .*\.\.\.$/);
    expect(await recognise(padded(spoken('flite/awb', 'tell me a joke'), 500, 800))).toMatchObject({ text: '', rejected: true, guess: expect.stringMatching(/^tell me .*\.\.\.$/) as unknown });
    // Without it, the closest sentence scores well enough to pass: what the garbage path is for.
    const plain = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), garbage: 0, log: silentLogger() });
    try {
      expect(await recognise(easter, undefined, plain)).toMatchObject({ text: 'what is the date today' });
    } finally {
      plain.close();
    }
  });

  it('hears the end of the wake word that the pre-roll carries before a request, and leaves it out', async () => {
    const tail = (pcm: Int16Array, ms: number) => pcm.subarray(Math.max(0, speechEnd(pcm) - ms * 16), speechEnd(pcm));
    const pause = new Int16Array(150 * 16);
    const cases: [string, Int16Array][] = [];
    for (const voice of ['flite/rms', 'flite/awb', 'flite/kal16']) {
      const keyword = spoken(voice, 'hey jarvis');
      const request = spoken(voice, 'what time is it');
      cases.push([`${voice}, whole keyword`, padded(concat(keyword, pause, request), 300, 800)]);
      cases.push([`${voice}, its last 300 ms`, padded(concat(tail(keyword, 300), pause, request), 0, 800)]);
    }
    const plain = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), leadIn: [], log: silentLogger() });
    try {
      let withoutLeadIn = 0;
      for (const [what, pcm] of cases) {
        expect(await recognise(pcm), what).toMatchObject({ text: 'what time is it' });
        if ((await recognise(pcm, undefined, plain)).text === 'what time is it') withoutLeadIn++;
      }
      // Without the lead-in most of them are lost (rejected or misheard): it is what makes them work.
      expect(withoutLeadIn).toBeLessThan(cases.length / 2);
    } finally {
      plain.close();
    }
  });

  it('reports silence as nothing heard, not as a rejection', async () => {
    const r = await recognise(new Int16Array(16000));
    expect(r).toEqual({ text: '', confidence: 0 });
  });

  it('listens with a follow-up grammar when asked: the answer to "For how long?"', async () => {
    const answer = padded(spoken('flite/awb', 'ten seconds'), 500, 800);
    expect(await recognise(answer, 'timer.duration')).toMatchObject({ text: 'ten seconds' });
    // A bare duration is no request: with the default grammar it is not understood.
    expect((await recognise(answer)).text).toBe('');
    // An unknown grammar name falls back to the requests.
    expect(await recognise(padded(spoken('flite/awb', 'what time is it'), 500, 800), 'no.such')).toMatchObject({ text: 'what time is it' });
  });

  it('still understands a request in pink noise at 20 dB SNR', async () => {
    const r = await recognise(withNoise(padded(spoken('flite/rms', 'turn on the kitchen light'), 500, 800), 20, 3));
    expect(r).toMatchObject({ text: 'turn on the kitchen light' });
  });

  it('moves an utterance in noise to the decoders adapted to it, fed the audio again, and judges it by their curve; quiet and 20 dB stay', async () => {
    const seen: { text: string; noisy: boolean; threshold: number; snrDb: number | undefined }[] = [];
    const own = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), onHypothesis: (h) => seen.push(h), log: silentLogger() });
    const plain = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), noiseModel: false, onHypothesis: (h) => seen.push(h), log: silentLogger() });
    try {
      const speech = padded(spoken('flite/slt', 'turn the volume up'), 500, 800);
      for (const [snr, moves] of [[null, false], [20, false], [10, true]] as const) {
        seen.length = 0;
        const r = await recognise(snr === null ? speech : withNoise(speech, snr, 4), undefined, own);
        // "volume up" is the same request (a fresh pair starts from the model's CMN, not the room's).
        expect(r.text, `${snr ?? 'quiet'}`).toMatch(/^(turn the )?volume up$/);
        expect(seen.map((h) => h.noisy), `${snr ?? 'quiet'} dB`).toEqual([moves]);
        if (moves) expect(seen[0]!.threshold).toBeCloseTo(thresholdAt(0.5, seen[0]!.snrDb, GARBAGE_CURVE) + DEFAULT_NOISE_MODEL.offset, 6);
      }
      // Without the decoders for noise, the same 10 dB request stays on the first pair.
      seen.length = 0;
      await recognise(withNoise(speech, 10, 4), undefined, plain);
      expect(seen.map((h) => h.noisy)).toEqual([false]);
      // A second noisy utterance moves too (which of the two pairs gets it right depends on what
      // each heard before, live CMN: the bench measures the gain).
      seen.length = 0;
      await recognise(withNoise(padded(spoken('flite/awb', 'what time is it'), 500, 800), 10, 4), undefined, own);
      expect(seen.map((h) => h.noisy)).toEqual([true]);
    } finally {
      own.close();
      plain.close();
    }
  });
  it('ends the utterance itself about a sixth of a second after a complete sentence', async () => {
    const speech = padded(spoken('flite/rms', 'turn the volume down'), 500, 0);
    const end = speechEnd(speech);
    const pcm = padded(speech, 0, 3000);
    const s = stt.open();
    let sentAtFinal = -1;
    let sent = 0;
    s.once('final', () => (sentAtFinal = sent));
    // Four times real time, so the decoder keeps up as it would live.
    for (let i = 0; i < pcm.length && sentAtFinal < 0; i += 320) {
      s.send(pcm.subarray(i, i + 320));
      sent = i + 320;
      await new Promise((r) => setTimeout(r, 5));
    }
    await s.close();
    expect(sentAtFinal, 'final before finalize()').toBeGreaterThan(0);
    const afterMs = ((sentAtFinal - end) / 16000) * 1000;
    expect(afterMs).toBeGreaterThan(120);
    expect(afterMs).toBeLessThan(500);
  });

  it('decodes no further than its own end of speech: audio queued behind it is the silence after it', async () => {
    let frames = 0;
    const own = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), onHypothesis: (h) => (frames = h.frames), log: silentLogger() });
    try {
      const speech = padded(spoken('flite/rms', 'turn the volume down'), 500, 0);
      const pcm = padded(speech, 0, 3000);
      const s = own.open();
      const final = s.next('final');
      // All at once, faster than it decodes: what was queued after the end is not decoded.
      for (let i = 0; i < pcm.length; i += 320) s.send(pcm.subarray(i, i + 320));
      expect((await final)[0]).toMatchObject({ text: 'turn the volume down' });
      await s.close();
      const afterMs = frames * 10 - (speechEnd(speech) / 16000) * 1000;
      expect(afterMs).toBeGreaterThan(100);
      expect(afterMs).toBeLessThan(500);
    } finally {
      own.close();
    }
  });

  it('ends speech that fits no sentence after 300 ms of silence, and a request as before', async () => {
    /** Streams at four times real time (the decoder keeps up as live); ms of audio after `end` when the session ended itself. */
    const endsAfter = async (on: PocketsphinxStt, speech: Int16Array): Promise<{ ms: number; text: string }> => {
      const pcm = padded(speech, 0, 2000);
      const s = on.open();
      let at = -1;
      let sent = 0;
      let text = '';
      s.once('final', (r) => {
        at = sent;
        text = r.text;
      });
      for (let i = 0; i < pcm.length && at < 0; i += 320) {
        s.send(pcm.subarray(i, i + 320));
        sent = i + 320;
        await new Promise((r) => setTimeout(r, 5));
      }
      await s.close();
      return { ms: ((at - speechEnd(speech)) / 16000) * 1000, text };
    };
    const patient = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), hopeless: { silenceMs: 0 }, log: silentLogger() });
    try {
      const outside = padded(spoken('flite/rms', 'play some jazz music'), 500, 0);
      const soon = await endsAfter(stt, outside);
      expect(soon.text).toBe('');
      expect(soon.ms).toBeGreaterThan(250);
      expect(soon.ms).toBeLessThan(550);
      expect((await endsAfter(patient, outside)).ms).toBeGreaterThan(650);
      // A request fits: it ends where it would without the rule, understood.
      const request = padded(spoken('flite/awb', 'switch off the living room light'), 500, 0);
      const withRule = await endsAfter(stt, request);
      expect(withRule.text).toBe('switch off the living room light');
      expect(withRule.ms).toBeLessThan(350);
      expect((await endsAfter(patient, request)).text).toBe(withRule.text);
    } finally {
      patient.close();
    }
  });

  it('ends speech far below the threshold after 250 ms of silence (the early tier), and requests as before', async () => {
    const endOf = (on: PocketsphinxStt, frames: { n: number }, speech: Int16Array, snr: number | null) => {
      const clean = padded(speech, 0, 1500);
      return endAfterLastWord(on, frames, speech, snr === null ? clean : withNoise(clean, snr, 3));
    };
    const early = { n: 0 };
    const late = { n: 0 };
    const withTier = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), onHypothesis: (h) => (early.n = h.frames), log: silentLogger() });
    const without = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), hopeless: { early: false }, onHypothesis: (h) => (late.n = h.frames), log: silentLogger() });
    try {
      const sooner: number[] = [];
      for (const snr of [null, 10]) {
        for (const text of ['play some jazz music', 'call my mother', 'what is the capital of france']) {
          const speech = padded(spoken('flite/rms', text), 500, 0);
          const a = await endOf(withTier, early, speech, snr);
          const b = await endOf(without, late, speech, snr);
          expect(a.text, `${text} at ${snr ?? 'quiet'}`).toBe('');
          expect(b.text).toBe('');
          expect(a.ms).toBeLessThanOrEqual(b.ms);
          if (a.ms < b.ms) sooner.push(b.ms - a.ms);
        }
        // A request that fits ends where it did, understood.
        const request = padded(spoken('flite/awb', 'switch off the living room light'), 500, 0);
        const a = await endOf(withTier, early, request, snr);
        expect(a).toEqual(await endOf(without, late, request, snr));
        expect(a.text).toBe('switch off the living room light');
      }
      expect(sooner.length).toBeGreaterThanOrEqual(2);
      for (const ms of sooner) expect(ms).toBeGreaterThanOrEqual(30);
    } finally {
      withTier.close();
      without.close();
    }
  });

  it('in noise, ends a request whose best partial hypothesis is no sentence once the final search finds it (the sentence check)', async () => {
    const endOf = (on: PocketsphinxStt, frames: { n: number }, speech: Int16Array, seed: number) => endAfterLastWord(on, frames, speech, withNoise(padded(speech, 0, 1500), 10, seed));
    const checked = { n: 0 };
    const patient = { n: 0 };
    const withCheck = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), onHypothesis: (h) => (checked.n = h.frames), log: silentLogger() });
    const without = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), sentenceCheckMs: 0, onHypothesis: (h) => (patient.n = h.frames), log: silentLogger() });
    try {
      // flite rms at 10 dB, in the same order to both (the decoders adapt from one utterance to
      // the next): some of these end on an incomplete partial hypothesis, which without the check
      // waits for 700 ms of silence.
      const sooner: number[] = [];
      for (const text of ['turn it up', 'start a timer for a minute']) {
        const speech = padded(spoken('flite/rms', text), 500, 0);
        for (const seed of [1, 2, 3, 4]) {
          const a = await endOf(withCheck, checked, speech, seed);
          const b = await endOf(without, patient, speech, seed);
          expect(a.ms).toBeLessThanOrEqual(b.ms);
          // Never later, and what it changes it changes to a sentence it accepts: a check that finds
          // none searches the audio again (the words are the same, or the speech ends as no sentence).
          if (a.text !== b.text) expect(a.text, `${text} ${seed}`).not.toBe('');
          if (a.text === text && b.ms - a.ms >= 300) sooner.push(a.ms);
        }
      }
      expect(sooner.length).toBeGreaterThanOrEqual(2);
      // The check runs after 300 ms of silence as the speech detector hears it; in noise the last
      // word's weak tail can count as silence already (235 ms with the decoders' filter sharper in noise).
      for (const ms of sooner) {
        expect(ms).toBeGreaterThan(200);
        expect(ms).toBeLessThan(450);
      }
    } finally {
      withCheck.close();
      without.close();
    }
  });

  it('with a word loop, hears what a sentence outside the grammar said, and scores it against the grammar', async () => {
    const seen: { text: string; wordLoop: string | null; wordRatio: number | undefined }[] = [];
    const own = new PocketsphinxStt({
      grammars: skillGrammars(builtinSkills()),
      wordLoop: 2000,
      rejectThreshold: -1e9,
      onHypothesis: (h) => seen.push({ text: h.text, wordLoop: h.evidence.wordLoop?.text ?? null, wordRatio: h.features.wordRatio }),
      log: silentLogger(),
    });
    try {
      await recognise(padded(spoken('flite/slt', 'how old is the president'), 500, 800), undefined, own);
      await recognise(padded(spoken('flite/slt', 'set a timer for five minutes'), 500, 800), undefined, own);
      const [outside, inside] = seen;
      expect(outside!.wordLoop).toContain('president');
      expect(outside!.text).not.toContain('president');
      // The grammar beats the word loop by far more on its own sentence.
      expect(inside!.wordRatio!).toBeGreaterThan(outside!.wordRatio! + 5);
    } finally {
      own.close();
    }
  });

  it('holds audio until grammars given as a function are loaded (a skill that declares its phrases)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const late = new PocketsphinxStt({
      grammars: async () => {
        await gate;
        return { default: { phrases: ['open the (door | window)'] } };
      },
      log: silentLogger(),
    });
    try {
      const s: SttSession = late.open();
      const final = s.next('final');
      const pcm = padded(spoken('flite/awb', 'open the window'), 500, 800);
      for (let i = 0; i < pcm.length; i += 320) s.send(pcm.subarray(i, i + 320));
      s.finalize();
      release();
      expect((await final)[0]).toMatchObject({ text: 'open the window' });
      await s.close();
      // Closing frees the decoders; the next session builds them again.
      late.close();
      expect(await recognise(pcm, undefined, late)).toMatchObject({ text: 'open the window' });
    } finally {
      late.close();
    }
  });

  it('fails a session whose grammars cannot be loaded, and retries on the next', async () => {
    let calls = 0;
    const flaky = new PocketsphinxStt({
      grammars: async () => {
        calls++;
        if (calls === 1) throw new Error('the skill is not up yet');
        return { default: { phrases: ['hello there'] } };
      },
      log: silentLogger(),
    });
    try {
      const s = flaky.open();
      const [err] = await s.next('error');
      expect(err).toMatchObject({ service: 'pocketsphinx', kind: 'config', message: 'the skill is not up yet' });
      await s.next('closed');
      expect(await recognise(padded(spoken('flite/rms', 'hello there'), 500, 800), undefined, flaky)).toMatchObject({ text: 'hello there' });
    } finally {
      flaky.close();
    }
  });

  it('names words the dictionary lacks, and a missing model', () => {
    expect(() => new PocketsphinxStt({ grammars: { default: { phrases: ['turn on the flibbertigibbetoscope'] } }, log: silentLogger() })).toThrow(
      /phrase "flibbertigibbetoscope": not in the pronunciation dictionary/,
    );
    expect(() => new PocketsphinxStt({ grammars: { other: { phrases: ['hello'] } }, log: silentLogger() })).toThrow(PhraseError);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-model-'));
    try {
      expect(() => new PocketsphinxStt({ modelDir: dir, grammars: { default: { phrases: ['hello'] } }, log: silentLogger() })).toThrow(RecognizerUnavailableError);
      expect(() => new PocketsphinxStt({ modelDir: dir, grammars: { default: { phrases: ['hello'] } }, log: silentLogger() })).toThrow(/install pocketsphinx-en-us, or set pipeline\.pocketsphinx\.modelDir/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logs each hypothesis with its score at debug level', async () => {
    const mem = memoryLogger('debug');
    const own = new PocketsphinxStt({ grammars: { default: { phrases: ['what time is it'] } }, log: mem.logger });
    try {
      await recognise(padded(spoken('flite/rms', 'what time is it'), 500, 800), undefined, own);
      expect(mem.lines().find((l) => l.event === 'hypothesis')).toMatchObject({ ns: 'pocketsphinx', text: 'what time is it' });
    } finally {
      own.close();
    }
  });
});

describe('noise filter and threshold', () => {
  it('leaves clean audio as it is (delayed by 256 samples), estimates the SNR of noisy audio, and smooths its gains faster only in noise', () => {
    const clean = padded(spoken('flite/rms', 'what time is it'), 500, 500);
    const f = new WienerFilter();
    const parts: Int16Array[] = [];
    for (let i = 0; i < clean.length; i += 320) parts.push(f.process(clean.subarray(i, i + 320)));
    parts.push(f.flush());
    const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    expect(out.length).toBe(clean.length + 256);
    let diff = 0;
    for (let i = 0; i < clean.length; i++) diff = Math.max(diff, Math.abs(out[i + 256]! - clean[i]!));
    expect(diff).toBeLessThanOrEqual(1);
    expect(f.snrDb).toBe(60);
    const noisy = new WienerFilter();
    expect(noisy.alpha, 'before any speech').toBe(0.98);
    noisy.process(withNoise(clean, 10, 5));
    expect(noisy.snrDb!).toBeGreaterThan(7);
    expect(noisy.snrDb!).toBeLessThan(15);
    // The sharper smoothing in noise only: 0.98 on clean speech and at 20 dB, 0.85 at 10 dB.
    expect(f.alpha).toBe(0.98);
    expect(noisy.alpha).toBe(0.85);
    const at20 = new WienerFilter();
    at20.process(withNoise(clean, 20, 5));
    expect(at20.alpha).toBe(0.98);
    const steady = new WienerFilter({ inNoise: false });
    steady.process(withNoise(clean, 10, 5));
    expect(steady.alpha).toBe(0.98);
  });

  it('the rejection threshold falls with the SNR, by at most 4', () => {
    expect(thresholdAt(0.5, undefined)).toBe(0.5);
    expect(thresholdAt(0.5, 60)).toBe(0.5);
    expect(thresholdAt(0.5, 30)).toBe(0.5);
    expect(thresholdAt(0.5, 26)).toBeCloseTo(-1.5);
    expect(thresholdAt(0.5, 10)).toBe(-3.5);
  });

  it('with the garbage path, the threshold sits 11.5 lower and falls by at most 3 more', () => {
    expect(stt.curve).toBe(GARBAGE_CURVE);
    expect(thresholdAt(0.5, 60, GARBAGE_CURVE)).toBe(-11);
    expect(thresholdAt(0.5, 25, GARBAGE_CURVE)).toBeCloseTo(-12);
    expect(thresholdAt(0.5, 10, GARBAGE_CURVE)).toBe(-13.5);
    expect(thresholdAt(0.5, 0, GARBAGE_CURVE)).toBe(-14);
    expect(throughGarbage('what is the date ph_ah ph_v')).toBe(true);
    expect(throughGarbage('what is the date today')).toBe(false);
    expect(garbageGuess('lead_jarvis_2 tell me ph_jh ph_ow ph_k')).toBe('lead_jarvis_2 tell me ...');
  });

  it('gives up at a rejected sentence check only in noise, on the garbage path or far below the threshold', () => {
    const on = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), giveUpAtCheck: { belowSnrDb: 15, margin: 2 }, log: silentLogger() });
    const never = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), giveUpAtCheck: false, log: silentLogger() });
    try {
      /** A final hypothesis whose ratio (per frame, 100 frames) is `below` under the threshold at `snrDb`. */
      const final = (below: number, snrDb: number | undefined, text = 'what time is it', sentence = true) => ({ text, grammar: (thresholdAt(0.5, snrDb, GARBAGE_CURVE) - below) * 100, loop: 0, frames: 100, snrDb, sentence });
      expect(on.givesUp(final(3, 10))).toBe(true);
      expect(on.givesUp(final(1, 10))).toBe(false);
      expect(on.givesUp(final(3, 20))).toBe(false);
      expect(on.givesUp(final(3, undefined))).toBe(false);
      // The garbage path (or no sentence at all) is given up in noise whatever its ratio, never in quiet.
      expect(on.givesUp(final(-5, 10, 'what is the date ph_ah ph_v', false))).toBe(true);
      expect(on.givesUp(final(-5, 10, '', false))).toBe(true);
      expect(on.givesUp(final(-5, 40, 'what is the date ph_ah ph_v', false))).toBe(false);
      expect(never.givesUp(final(10, 5, 'what is the date ph_ah ph_v', false))).toBe(false);
    } finally {
      on.close();
      never.close();
    }
  });

  it('adds the merged-vowel pronunciation of "off" and "long", never of "four"', () => {
    expect(mergedVowels('AO F')).toBe('AA F');
    expect(mergedVowels('L AO NG')).toBe('L AA NG');
    expect(mergedVowels('AO F AH S')).toBe('AA F AH S');
    expect(mergedVowels('F AO R T IY')).toBe('F AO R T IY');
    expect(mergedVowels('AA N')).toBe('AA N');
  });
});
