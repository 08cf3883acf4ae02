/**
 * Offline speech-to-text with pocketsphinx, constrained by grammars of known sentences: one
 * recogniser for the local gateway and for the pipeline backend (`pipeline.stt: pocketsphinx`).
 *
 * Each utterance runs on two decoders fed the same audio as it arrives: one searches the
 * grammar, the other an unconstrained loop of phones. The grammar has a garbage path (any
 * beginning of a sentence, then phones: Grammar.toJsgf), so speech that starts as a request and
 * goes on as something else is no sentence and is rejected. Otherwise the grammar finds its
 * closest sentence; the phone loop is what the audio sounds like with no constraint. Their
 * path-score difference per frame decoded (a log-likelihood ratio) says how well the sentence
 * explains the audio: below the threshold (`rejectThreshold` on the curve of ./rejection.ts)
 * the utterance is rejected (empty text), and a logistic of it is the reported confidence.
 *
 * End of speech: when the best hypothesis so far is a complete sentence and `completeSilenceMs`
 * of silence followed it (50 ms more in noise), the session ends itself (a `final` without
 * `finalize()`), so the transcript is ready a sixth of a second after the last word instead of
 * after the longer silence that ends an utterance in general. Speech that is no sentence ends
 * after 700 ms of silence, or after 300 when its ratio so far is already below the threshold or
 * it took the garbage path, or after 250 when the ratio is 2 or more below it (`hopeless` and its
 * early tier: a pause inside a fitting request still waits). The best
 * partial hypothesis is the best path so far, complete or not, so after 300 ms of silence with an
 * incomplete one the grammar search is ended once (`sentenceCheckMs`): a complete sentence it
 * would accept ends the utterance there, otherwise the search runs again over the audio so far.
 * Decoding keeps pace with the audio, so that end only finishes the search (audio queued behind
 * it is not decoded).
 *
 * Front end: pocketsphinx's own silence removal (`-remove_silence`) is off: its energy detector
 * cut frames inside noisy words (calibration, 10 dB: right sentences passing 66 -> 80 %).
 *
 * Decoders are made for the grammars' words only (a small dictionary taken from the model's),
 * which keeps start-up near 0.1 s per decoder, and are reused across utterances.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SttClient, SttOpenOptions, SttResult, SttSession } from '../backends/stt/types.js';
import type { Logger } from '../log/logger.js';
import { Grammar, PhraseError } from './phrases.js';
import { loadPocketsphinx, RecognizerUnavailableError, type PocketsphinxLib, type Ptr } from './pocketsphinx-lib.js';
import { features, scoreRatio } from './confidence.js';
import type { WienerOptions } from './denoise.js';
import { DEBIAN_MODEL_DIR, DEFAULT_GARBAGE, DEFAULT_NOISE_MODEL, DEFAULT_HOPELESS, DEFAULT_LEAD_IN, DEFAULT_REJECT_THRESHOLD, DEFAULT_SENTENCE_CHECK_MS, DEFAULT_GIVE_UP_AT_CHECK, DEFAULT_GIVE_UP_SNR_DB, DEFAULT_WORD_LOOP, type Grammars, type PocketsphinxOptions } from './pocketsphinx-options.js';
import { commonWords, leadInAlternatives, readDictionary, wordLoopArpa } from './pocketsphinx-model.js';
import { PocketsphinxSession, type Evidence, type Pair, type SessionHost } from './pocketsphinx-session.js';
import { NOISE_TRANSFORM } from './noise-transform.js';
import { garbageGuess, GARBAGE_CURVE, RATIO_CURVE, thresholdAt, throughGarbage, type ThresholdCurve } from './rejection.js';

export { leadInAlternatives, mergedVowels } from './pocketsphinx-model.js';
export { thresholdAt } from './rejection.js';
export { DEBIAN_MODEL_DIR, DEFAULT_GARBAGE, DEFAULT_NOISE_MODEL, DEFAULT_HOPELESS, DEFAULT_LEAD_IN, DEFAULT_REJECT_THRESHOLD, DEFAULT_SENTENCE_CHECK_MS, DEFAULT_GIVE_UP_AT_CHECK, DEFAULT_GIVE_UP_SNR_DB, DEFAULT_WORD_LOOP, type Grammars, type PocketsphinxOptions } from './pocketsphinx-options.js';

interface Compiled {
  grammars: Map<string, Grammar>;
  /** The model's phones: the phone loop's alphabet. */
  phones: string[];
  dictFile: string;
  dir: string;
  /** The word loop's unigram model (ARPA), when there is one. */
  wordLoopFile: string | undefined;
  /** The acoustic model's transform for noise (`-mllr`), when the recogniser has decoders for noise. */
  noiseTransformFile: string | undefined;
}

const MAX_FREE_PAIRS = 4;
/** The word loop needs its best path's score only: the first (tree) pass, no rescoring. */
const WORD_LOOP_ARGS = ['-fwdflat', 'no', '-bestpath', 'no'];
/** Decoder options both decoders get unless `decoderArgs` set them (see the module comment). */
const FRONT_END: [string, string][] = [['-remove_silence', 'no']];

/** FRONT_END without the options `args` set themselves (pocketsphinx refuses an option given twice). */
function frontEnd(args: string[]): string[] {
  return FRONT_END.filter(([name]) => !args.includes(name)).flat();
}
/** Width of the logistic that maps the ratio to a confidence, in path-score units per frame. */
const CONFIDENCE_SCALE = 4;

export class PocketsphinxStt implements SttClient, SessionHost {
  readonly name = 'pocketsphinx';
  readonly #lib: PocketsphinxLib;
  readonly #hmm: string;
  readonly #dict: string;
  readonly #log: Logger;
  readonly #threshold: number;
  readonly #completeSilenceMs: number;
  readonly #source: PocketsphinxOptions['grammars'];
  readonly #onHypothesis: PocketsphinxOptions['onHypothesis'];
  readonly #detail: boolean;
  readonly #args: string[];
  readonly #denoise: false | WienerOptions;
  readonly #leadIn: string[];
  readonly #wordLoop: number;
  readonly #hopelessSilenceMs: number;
  readonly #hopelessMargin: number;
  readonly #hopelessEarly: { silenceMs: number; margin: number } | undefined;
  readonly #wordLoopArgs: string[];
  readonly #garbage: number;
  readonly #sentenceCheckMs: number;
  readonly #giveUpAtCheck: { belowSnrDb: number; margin: number } | false;
  readonly #noiseModel: { belowSnrDb: number; speechFrames: number; garbage: number; offset: number } | undefined;
  #compiled: Compiled | undefined;
  #loading: Promise<Compiled> | undefined;
  readonly #free: Pair[] = [];
  readonly #freeNoisy: Pair[] = [];
  /** Bumped by close(): pairs of an older generation are freed when their utterance ends. */
  #generation = 0;

  /**
   * Loads the library and checks the model files now (throws RecognizerUnavailableError, or
   * PhraseError for a bad or unpronounceable phrase); with static grammars, also builds the
   * first decoders, so the first utterance starts at once.
   */
  constructor(options: PocketsphinxOptions) {
    this.#log = options.log.child('pocketsphinx');
    const modelDir = options.modelDir ?? DEBIAN_MODEL_DIR;
    this.#hmm = options.hmm ?? path.join(modelDir, 'en-us');
    this.#dict = options.dict ?? path.join(modelDir, 'cmudict-en-us.dict');
    this.#threshold = options.rejectThreshold ?? DEFAULT_REJECT_THRESHOLD;
    this.#completeSilenceMs = options.completeSilenceMs ?? 150;
    this.#source = options.grammars;
    this.#onHypothesis = options.onHypothesis;
    this.#detail = options.detail ?? false;
    this.#args = options.decoderArgs ?? [];
    this.#denoise = options.denoise === false ? false : options.denoise === true || options.denoise === undefined ? {} : options.denoise;
    this.#leadIn = options.leadIn ?? DEFAULT_LEAD_IN;
    this.#wordLoop = options.wordLoop ?? DEFAULT_WORD_LOOP;
    this.#hopelessSilenceMs = options.hopeless?.silenceMs ?? DEFAULT_HOPELESS.silenceMs;
    this.#hopelessMargin = options.hopeless?.margin ?? DEFAULT_HOPELESS.margin;
    const early = options.hopeless?.early ?? DEFAULT_HOPELESS.early;
    this.#hopelessEarly = early && early.silenceMs > 0 ? early : undefined;
    this.#wordLoopArgs = options.wordLoopArgs ?? WORD_LOOP_ARGS;
    this.#garbage = options.garbage ?? DEFAULT_GARBAGE;
    this.#sentenceCheckMs = options.sentenceCheckMs ?? DEFAULT_SENTENCE_CHECK_MS;
    const giveUp = options.giveUpAtCheck ?? DEFAULT_GIVE_UP_AT_CHECK;
    const noise = options.noiseModel ?? DEFAULT_NOISE_MODEL;
    this.#noiseModel = noise && this.#garbage > 0 && this.#denoise ? { ...DEFAULT_NOISE_MODEL, ...noise } : undefined;
    this.#giveUpAtCheck = giveUp && { belowSnrDb: giveUp.belowSnrDb ?? DEFAULT_GIVE_UP_SNR_DB, margin: giveUp.margin ?? 0 };
    for (const [what, file, dir] of [
      ['acoustic model', this.#hmm, true],
      ['pronunciation dictionary', this.#dict, false],
    ] as const) {
      let ok = false;
      try {
        ok = dir ? statSync(path.join(file, 'mdef')).isFile() : statSync(file).isFile();
      } catch {
        ok = false;
      }
      if (!ok) {
        throw new RecognizerUnavailableError(`the pocketsphinx ${what} is missing (${file}): install pocketsphinx-en-us, or set pipeline.pocketsphinx.modelDir`);
      }
    }
    this.#lib = loadPocketsphinx();
    if (typeof this.#source !== 'function') {
      this.#compiled = this.#compile(this.#source);
      this.#free.push(this.#makePair(this.#compiled));
    }
  }

  /** The grammar a session with these options listens with (undefined until loaded). */
  grammar(name = 'default'): Grammar | undefined {
    return this.#compiled?.grammars.get(name) ?? this.#compiled?.grammars.get('default');
  }

  /** Loads the grammars (when given as a function) and builds the first decoders. */
  async warmUp(): Promise<void> {
    const c = await this.#ready();
    if (!this.#free.length) this.#free.push(this.#makePair(c));
  }

  open(options: SttOpenOptions = {}): SttSession {
    return new PocketsphinxSession(this, options.grammar ?? 'default', this.#completeSilenceMs, this.#denoise);
  }

  /**
   * Frees every idle decoder and the temporary dictionary (sessions in progress free theirs when
   * they end). Idempotent; a later `open()` builds them again.
   */
  close(): void {
    for (const p of [...this.#free.splice(0), ...this.#freeNoisy.splice(0)]) this.#freePair(p);
    if (this.#compiled) rmSync(this.#compiled.dir, { recursive: true, force: true });
    this.#compiled = undefined;
    this.#loading = undefined;
    this.#generation++;
  }

  /** The compiled grammars, loading (or, after close(), rebuilding) them first when needed. */
  #ready(): Promise<Compiled> {
    const source = this.#source;
    if (this.#compiled) return Promise.resolve(this.#compiled);
    if (typeof source !== 'function') {
      try {
        this.#compiled = this.#compile(source);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      return Promise.resolve(this.#compiled);
    }
    this.#loading ??= source().then(
      (g) => {
        this.#compiled = this.#compile(g);
        return this.#compiled;
      },
      (err: unknown) => {
        this.#loading = undefined;
        throw err;
      },
    );
    return this.#loading;
  }

  /** @internal A free decoder pair for one utterance. */
  async acquire(): Promise<{ pair: Pair; grammars: Map<string, Grammar> }> {
    const compiled = await this.#ready();
    const pair = this.#free.pop() ?? this.#makePair(compiled);
    return { pair, grammars: compiled.grammars };
  }

  /** @internal Returns a pair after its utterance ended. */
  release(pair: Pair): void {
    const free = pair.noisy ? this.#freeNoisy : this.#free;
    if (pair.generation !== this.#generation || free.length >= MAX_FREE_PAIRS) this.#freePair(pair);
    else free.push(pair);
  }

  /** @internal A free pair of decoders for noise (undefined without `noiseModel`, or before the grammars are loaded). */
  acquireNoisy(): Pair | undefined {
    const c = this.#compiled;
    if (!this.#noiseModel || !c) return undefined;
    const pair = this.#freeNoisy.pop() ?? this.#makePair(c, true);
    this.#log.debug('noise-decoders', () => ({ free: this.#freeNoisy.length }));
    return pair;
  }

  /** @internal */
  get noiseModel(): { belowSnrDb: number; speechFrames: number } | undefined {
    return this.#noiseModel;
  }

  /** @internal The first silence at which `hopeless` may end speech (the early tier's, when there is one; 0: never). */
  get hopelessSilenceMs(): number {
    const early = this.#hopelessEarly;
    return this.#hopelessSilenceMs && early ? Math.min(this.#hopelessSilenceMs, early.silenceMs) : this.#hopelessSilenceMs;
  }

  /**
   * @internal After the hopeless silence, the partial hypothesis through the garbage path, or its ratio below
   * the threshold the utterance would be judged by (by the margin); after the early tier's shorter
   * silence, its ratio far below it (by the early tier's wider margin).
   */
  hopeless(p: { silenceMs: number; text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined; noisy?: boolean }): boolean {
    const below = thresholdAt(this.#threshold, p.snrDb, this.curveFor(p.noisy)) - scoreRatio(p.grammar, p.loop, p.frames);
    if (p.silenceMs >= this.#hopelessSilenceMs && ((p.text && throughGarbage(p.text)) || below > this.#hopelessMargin)) return true;
    const early = this.#hopelessEarly;
    return !!early && p.silenceMs >= early.silenceMs && below > early.margin;
  }

  /** @internal */
  get sentenceCheckMs(): number {
    return this.#sentenceCheckMs;
  }

  /** @internal The grammar search's final hypothesis is no garbage and its ratio passes the threshold (the grammar itself is checked by the session). */
  accepts(f: { text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined; noisy?: boolean }): boolean {
    const text = (f.text ?? '').trim();
    if (!text || throughGarbage(text)) return false;
    return scoreRatio(f.grammar, f.loop, f.frames) >= thresholdAt(this.#threshold, f.snrDb, this.curveFor(f.noisy));
  }

  /**
   * @internal The sentence check's rejected final hypothesis ends the speech (`giveUpAtCheck`): in noise (the
   * SNR estimate below `belowSnrDb`), when it went through the garbage path (or is no sentence)
   * or its ratio is `margin` or more below the threshold.
   */
  givesUp(f: { text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined; noisy?: boolean; sentence: boolean }): boolean {
    const rule = this.#giveUpAtCheck;
    if (!rule || f.snrDb === undefined || f.snrDb >= rule.belowSnrDb) return false;
    const text = (f.text ?? '').trim();
    if (!f.sentence || !text || throughGarbage(text)) return true;
    return scoreRatio(f.grammar, f.loop, f.frames) < thresholdAt(this.#threshold, f.snrDb, this.curveFor(f.noisy)) - rule.margin;
  }

  /** The threshold curve the ratio is judged by (GARBAGE_CURVE with the garbage path, else RATIO_CURVE). */
  get curve(): ThresholdCurve {
    return this.#garbage > 0 ? GARBAGE_CURVE : RATIO_CURVE;
  }

  /** The curve for the decoders that judged: the decoders for noise have theirs moved by `noiseModel.offset`. */
  curveFor(noisy: boolean | undefined): ThresholdCurve {
    const curve = this.curve;
    return noisy && this.#noiseModel ? { ...curve, offset: curve.offset + this.#noiseModel.offset } : curve;
  }

  /** @internal */
  get detail(): boolean {
    return this.#detail;
  }

  /** @internal */
  get lib(): PocketsphinxLib {
    return this.#lib;
  }

  /** @internal Maps what both decoders made of an utterance to text, confidence and rejection. */
  judge(grammar: Grammar, e: Evidence): SttResult {
    const text = (e.grammar.text ?? '').trim();
    if (!text) return e.heard ? { text: '', confidence: 0, rejected: true } : { text: '', confidence: 0 };
    const ratio = scoreRatio(e.grammar.score, e.loop.score, e.frames);
    const snrDb = e.snrDb;
    const frames = e.frames;
    const threshold = thresholdAt(this.#threshold, snrDb, this.curveFor(e.noisy));
    // Through the garbage path, the speech fits no sentence better than every sentence: no sentence has a confidence.
    const garbage = throughGarbage(text);
    const confidence = garbage ? 0 : Math.round((1 / (1 + Math.exp(-(ratio - threshold) / CONFIDENCE_SCALE))) * 1000) / 1000;
    this.#log.debug('hypothesis', () => ({ text, ratio: Math.round(ratio * 100) / 100, threshold, snrDb, confidence, frames, noisy: e.noisy }));
    this.#onHypothesis?.({ text, ratio, frames, snrDb, threshold, noisy: e.noisy, features: features(e), evidence: e });
    if (garbage) return { text: '', confidence, rejected: true, guess: garbageGuess(text) };
    if (ratio < threshold || !grammar.matches(text)) return { text: '', confidence, rejected: true, guess: text };
    return { text: grammar.stripLeadIn(text), confidence };
  }

  #compile(specs: Grammars): Compiled {
    if (!specs.default) throw new PhraseError('', 'the recogniser needs a grammar named "default"');
    const plain = Object.entries(specs).map(([name, spec]) => [name, new Grammar(spec)] as const);
    const words = new Set<string>();
    for (const [, g] of plain) for (const w of g.words()) words.add(w);
    const leadWords = this.#leadIn.map((t) => t.split(' ').filter(Boolean));
    const common = commonWords(this.#wordLoop);
    const { entries, phones } = readDictionary(this.#dict, new Set([...words, ...leadWords.flat(), ...common.keys()]));
    const leadIn = leadInAlternatives(leadWords, entries);
    for (const alt of leadIn) for (const w of alt.split(' ')) words.add(w);
    const grammars = new Map<string, Grammar>();
    for (const [name, g] of plain) grammars.set(name, leadIn.length && !g.spec.leadIn ? new Grammar({ ...g.spec, leadIn }) : g);
    const missing = [...words].filter((w) => !entries.some((e) => e.word === w));
    if (missing.length) {
      throw new PhraseError(missing.join(', '), `not in the pronunciation dictionary ${this.#dict}: use other words, or a dictionary that has them (pipeline.pocketsphinx.dict)`);
    }
    const lines = entries.map((e) => `${e.entry} ${e.phones}`);
    // The phone loop's "words" are single phones; the prefix keeps them apart from real words.
    for (const p of phones) lines.push(`ph_${p.toLowerCase()} ${p}`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'speaker-agent-ps-'));
    const dictFile = path.join(dir, 'grammar.dict');
    writeFileSync(dictFile, lines.join('\n') + '\n');
    let wordLoopFile: string | undefined;
    if (common.size) {
      const known = new Set(entries.map((e) => e.word));
      wordLoopFile = path.join(dir, 'word-loop.arpa');
      writeFileSync(wordLoopFile, wordLoopArpa(common, [...words].filter((w) => !w.startsWith('lead_')), (w) => known.has(w)));
    }
    let noiseTransformFile: string | undefined;
    if (this.#noiseModel) {
      noiseTransformFile = path.join(dir, 'noise.mllr');
      writeFileSync(noiseTransformFile, NOISE_TRANSFORM);
    }
    this.#log.info('grammars-ready', { grammars: [...grammars.keys()], words: words.size, wordLoop: common.size, noiseModel: !!this.#noiseModel });
    return { grammars, phones, dictFile, dir, wordLoopFile, noiseTransformFile };
  }

  /** Decoders for one utterance; `noisy`: with the acoustic model adapted to noise and `noiseModel.garbage`. */
  #makePair(c: Compiled, noisy = false): Pair {
    const lib = this.#lib;
    const adapt = noisy && c.noiseTransformFile ? ['-mllr', c.noiseTransformFile] : [];
    const decoder = (extra: string[] = []): Ptr => {
      const cfg = lib.parseConfig(['-hmm', this.#hmm, '-dict', c.dictFile, '-logfn', '/dev/null', ...frontEnd(this.#args), ...this.#args, ...adapt, ...extra]);
      if (!cfg) throw new RecognizerUnavailableError(`pocketsphinx refused its configuration (model ${this.#hmm})`);
      const ps = lib.init(cfg);
      lib.freeConfig(cfg);
      if (!ps) throw new RecognizerUnavailableError(`pocketsphinx could not load the model ${this.#hmm}`);
      return ps;
    };
    const grammar = decoder();
    const phones = c.phones.map((p) => `ph_${p.toLowerCase()}`);
    const weight = noisy && this.#noiseModel ? this.#noiseModel.garbage : this.#garbage;
    const garbage = this.#garbage > 0 ? { words: phones, weight } : undefined;
    for (const [name, g] of c.grammars) {
      if (lib.setJsgf(grammar, name, g.toJsgf(name, garbage)) !== 0) {
        lib.free(grammar);
        throw new PhraseError(name, 'pocketsphinx could not compile this grammar');
      }
    }
    lib.setSearch(grammar, 'default');
    const loop = decoder();
    const loopJsgf = `#JSGF V1.0;\ngrammar loop;\npublic <loop> = <phone>+;\n<phone> = ${phones.join(' | ')};\n`;
    if (lib.setJsgf(loop, 'loop', loopJsgf) !== 0 || lib.setSearch(loop, 'loop') !== 0) {
      lib.free(grammar);
      lib.free(loop);
      throw new RecognizerUnavailableError('pocketsphinx could not build its phone loop');
    }
    let words: Ptr | undefined;
    if (c.wordLoopFile) {
      words = decoder(this.#wordLoopArgs);
      if (lib.setLmFile(words, 'words', c.wordLoopFile) !== 0 || lib.setSearch(words, 'words') !== 0) {
        for (const d of [grammar, loop, words]) lib.free(d);
        throw new RecognizerUnavailableError('pocketsphinx could not build its word loop');
      }
    }
    return { grammar, loop, words, generation: this.#generation, noisy };
  }

  #freePair(p: Pair): void {
    this.#lib.free(p.grammar);
    this.#lib.free(p.loop);
    if (p.words) this.#lib.free(p.words);
  }
}
