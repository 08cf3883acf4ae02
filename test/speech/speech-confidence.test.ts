/**
 * The recogniser's confidence measures (src/speech/confidence.ts): on made-up decoder results,
 * and on what real pocketsphinx (through koffi) returns for utterances flite says here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinSkills, skillGrammars } from '../../src/local-gateway/assistant.js';
import { silentLogger } from '../../src/log/logger.js';
import { features, MAX_MARGIN, type Features } from '../../src/speech/confidence.js';
import { PocketsphinxStt } from '../../src/speech/pocketsphinx.js';
import type { Evidence } from '../../src/speech/pocketsphinx-session.js';
import { padded, spoken } from '../support/speech-fixtures.js';

const seg = (word: string, start: number, end: number, ascr = 0) => ({ word, start, end, ascr });

function evidence(over: Partial<Evidence> = {}): Evidence {
  return {
    grammar: { text: 'turn it up', score: -1000 },
    loop: { score: -1400 },
    wordLoop: undefined,
    nbest: [
      { text: 'turn it up', score: -1000 },
      { text: 'turn it down', score: -1100 },
    ],
    words: [seg('<sil>', 0, 49), seg('turn', 50, 79), seg('it', 80, 89), seg('<sil>', 90, 99), seg('up', 100, 129), seg('<sil>', 130, 199)],
    phones: [],
    prob: 0,
    frames: 200,
    heard: true,
    snrDb: undefined,
    noisy: false,
    ...over,
  };
}

describe('confidence measures', () => {
  it('divides the score difference by every frame, and by the frames the words span', () => {
    const f = features(evidence());
    expect(f.ratio).toBe(2); // 400 / 200
    expect(f.speechFrames).toBe(80); // frames 50-129, the pause inside included
    expect(f.speechRatio).toBe(5);
    expect(f.words).toBe(3);
    expect(f.snrDb).toBe(60);
  });

  it('measures the margin to the best rival sentence in the N-best, even when the N-best ranks another first', () => {
    expect(features(evidence()).margin).toBe(100 / 80);
    const f = features(evidence({ nbest: [{ text: 'turn it down', score: -990 }, { text: 'turn it up', score: -1000 }] }));
    expect(f.margin).toBe(-10 / 80);
    expect(features(evidence({ nbest: [{ text: 'turn it up', score: -1000 }] })).margin).toBe(MAX_MARGIN);
  });

  it('leaves silences, fillers, the lattice\'s start node and alternate pronunciations out of the words', () => {
    const f = features(evidence({ words: [seg('(NULL)', 0, 0), seg('<sil>', 1, 9), seg('turn', 10, 19), seg('++noise++', 20, 29), seg('off(2)', 30, 49), seg('[breath]', 50, 55)] }));
    expect(f.words).toBe(2);
    expect(f.speechFrames).toBe(40);
  });
});

describe('confidence measures from real pocketsphinx', () => {
  let stt: PocketsphinxStt;
  let seen: { text: string; features: Features; evidence: Evidence }[] = [];
  beforeAll(() => {
    stt = new PocketsphinxStt({ grammars: skillGrammars(builtinSkills()), log: silentLogger(), detail: true, onHypothesis: (h) => seen.push(h) });
  });
  afterAll(() => stt.close());

  async function decode(voice: string, text: string) {
    seen = [];
    const pcm = padded(spoken(voice, text), 500, 800);
    const s = stt.open();
    const final = s.next('final');
    for (let i = 0; i < pcm.length; i += 320) s.send(pcm.subarray(i, i + 320));
    s.finalize();
    const [r] = await final;
    await s.close();
    expect(seen).toHaveLength(1);
    return { result: r, ...seen[0]! };
  }

  it('reads the N-best, the words and the phones of an utterance', async () => {
    const { result, evidence: e, features: f } = await decode('flite/kal16', 'set a timer for five minutes');
    expect(result.text).toBe('set a timer for five minutes');
    // Distinct sentences, the recognised one among them.
    expect(e.nbest.length).toBeGreaterThan(1);
    expect(new Set(e.nbest.map((h) => h.text)).size).toBe(e.nbest.length);
    expect(e.nbest.map((h) => h.text)).toContain('set a timer for five minutes');
    // The words in order inside the utterance; the phone loop covers the same frames.
    // (Frame numbers count from the lattice's start node, "(NULL)", not from 0.)
    const segs = e.words.filter((w) => w.word !== '(NULL)');
    const words = segs.filter((w) => !w.word.startsWith('<') && !w.word.startsWith('['));
    expect(words.map((w) => w.word.replace(/\(\d+\)$/, ''))).toEqual(['set', 'a', 'timer', 'for', 'five', 'minutes']);
    for (let i = 1; i < segs.length; i++) expect(segs[i]!.start).toBe(segs[i - 1]!.end + 1);
    expect(e.phones[0]!.start).toBe(segs[0]!.start);
    expect(e.phones[e.phones.length - 1]!.end).toBe(segs[segs.length - 1]!.end);
    const spanned = segs[segs.length - 1]!.end - segs[0]!.start + 1;
    expect(spanned).toBeGreaterThanOrEqual(e.frames - 2); // the search's last frame or two may be left out
    expect(spanned).toBeLessThanOrEqual(e.frames);
    // 0.5 s before and 0.8 s after the words: they span less than the utterance.
    expect(f.speechFrames).toBeLessThan(e.frames - 80);
    expect(f.words).toBe(6);
  });

  it('a sentence outside the grammar scores below a request said by the same voice', async () => {
    const right = await decode('flite/rms', 'turn on the kitchen light');
    const wrong = await decode('flite/rms', 'play some jazz music');
    expect(right.features.ratio).toBeGreaterThan(wrong.features.ratio);
    expect(wrong.result.rejected).toBe(true);
  });
});
