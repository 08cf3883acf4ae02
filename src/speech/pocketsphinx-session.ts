/**
 * One utterance of the pocketsphinx recogniser (./pocketsphinx.ts): the audio is noise-filtered
 * in arrival order, then fed to both decoders (grammar and phone loop) on koffi's worker
 * threads, one call at a time. A speech detector on the filtered audio ends the utterance when
 * a complete sentence is followed by `completeSilenceMs` of silence (`NOISY_EXTRA_MS` more when
 * the filter estimates the SNR below `NOISY_SNR_DB`), when `INCOMPLETE_SILENCE_MS` of
 * silence followed speech that is no sentence, or sooner when the recogniser finds that speech
 * hopeless (no sentence near it: `SessionHost.hopeless`), or when ending the grammar search once
 * after `SessionHost.sentenceCheckMs` of silence finds a sentence it would accept, or one so far
 * from acceptance that the recogniser gives up (`SessionHost.givesUp`).
 */
import { concatPcm, rmsDb } from '../audio/pcm.js';
import { EnergyVad } from '../audio/vad.js';
import { ServiceError } from '../backends/service-error.js';
import type { SttEvents, SttResult, SttSession } from '../backends/stt/types.js';
import { errorMessage } from '../errors.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { DEFAULT_ALPHA, WienerFilter, type WienerOptions } from './denoise.js';
import type { Grammar } from './phrases.js';
import type { PocketsphinxLib, Ptr } from './pocketsphinx-lib.js';

/** A decoder for the grammars and one for the phone loop, used by one utterance at a time. */
export interface Pair {
  grammar: Ptr;
  loop: Ptr;
  /** The word loop (common English words), when the recogniser has one. */
  words: Ptr | undefined;
  generation: number;
  /** The decoders for noise (adapted model, its own garbage weight and curve: `noiseModel`). */
  noisy: boolean;
}

/** What both decoders made of one utterance, for the recogniser to judge (./confidence.ts). */
export interface Evidence {
  /** The grammar decoder's best sentence and its path score. */
  grammar: { text: string | null; score: number };
  /** The phone loop's path score over the same frames. */
  loop: { score: number };
  /** The word loop's best words and path score over the same frames (undefined without a word loop). */
  wordLoop: { text: string | null; score: number } | undefined;
  // The rest is read only when the host asks for `detail` (diagnostics: none of it is needed to judge).
  /** The grammar decoder's best distinct sentences in its lattice (N-best), best first, with their path scores. */
  nbest: { text: string; score: number }[];
  /** The best sentence's words with their frames and acoustic scores (silences and fillers included). */
  words: { word: string; start: number; end: number; ascr: number }[];
  /** The phone loop's phones, the same way. */
  phones: { word: string; start: number; end: number; ascr: number }[];
  /** The log posterior of the best sentence in the grammar decoder's lattice (ps_get_prob). */
  prob: number;
  /** Every frame decoded (100 per second). */
  frames: number;
  /** The speech detector heard speech. */
  heard: boolean;
  /** The noise filter's SNR estimate, dB (undefined without the filter). */
  snrDb: number | undefined;
  /** Decoded by the decoders for noise. */
  noisy: boolean;
}

/** How many of the grammar decoder's best sentences a session reads (the best and its rivals). */
const N_BEST = 3;

/** What a session needs from its recogniser. */
export interface SessionHost {
  readonly lib: PocketsphinxLib;
  /** Read the N-best, the segments and the posterior after each utterance (for `onHypothesis`). */
  readonly detail: boolean;
  /** A free decoder pair and the grammars, once they are loaded. */
  acquire(): Promise<{ pair: Pair; grammars: Map<string, Grammar> }>;
  /** Returns a pair after its utterance ended. */
  release(pair: Pair): void;
  /** The decoders for noise, when the recogniser has them (`noiseModel`). */
  acquireNoisy(): Pair | undefined;
  /** When an utterance moves to the decoders for noise (undefined: never). */
  readonly noiseModel: { belowSnrDb: number; speechFrames: number } | undefined;
  /** Text, confidence and rejection from the two decoders' results. */
  judge(grammar: Grammar, evidence: Evidence): SttResult;
  /** Silence after speech that no sentence is near (`hopeless`) which ends the utterance, ms (0: never). */
  readonly hopelessSilenceMs: number;
  /**
   * Whether no sentence can be near the speech so far: its best hypothesis `text` went through
   * the garbage path, or it fits the grammar so much worse than the phone loop (path scores so far).
   */
  hopeless(partial: { silenceMs: number; text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined; noisy?: boolean }): boolean;
  /** Silence after speech whose best partial hypothesis is no complete sentence, after which the grammar search is ended once to look for one (`sentenceCheck`), ms (0: never). */
  readonly sentenceCheckMs: number;
  /** Whether the grammar search's final hypothesis (scores as for `hopeless`) is a sentence the recogniser would accept. */
  accepts(final: { text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined; noisy?: boolean }): boolean;
  /**
   * Whether a final hypothesis of the sentence check that `accepts` refused (`sentence`: it is a
   * sentence of the grammar, not the garbage path) ends the speech anyway, as not understood
   * (`giveUpAtCheck`): more audio would not make it a sentence the recogniser accepts.
   */
  givesUp(final: { text: string | null; grammar: number; loop: number; frames: number; snrDb: number | undefined; noisy?: boolean; sentence: boolean }): boolean;
}

const WARM_UP_SAMPLES = 4800; // 300 ms
const MAX_HELD_SAMPLES = 16_000 * 30;
/**
 * In noise the filtered audio's level dips between words, so a short silence is not yet the
 * end: below this estimated SNR the detector waits `NOISY_EXTRA_MS` longer. Measured on
 * calibration sentences (docs/benchmarks.md): with 150 ms, none ended early in quiet, 5 of 64
 * ended before the last word at 10 dB; with 200 ms there, none.
 */
const NOISY_SNR_DB = 25;
const NOISY_EXTRA_MS = 50;
/**
 * Silence after speech that ends the utterance even when no complete sentence was heard (speech
 * outside the grammar), ms. The gateway's own end-pointing (700 ms on the unfiltered audio)
 * may never hear that silence in a noisy room; this detector, on the filtered audio, does.
 */
const INCOMPLETE_SILENCE_MS = 700;
/**
 * The speech detector hears the audio filtered with the textbook smoothing of the a-priori SNR
 * throughout (./denoise.ts): the decoders' sharper one in noise (`inNoise`, 0.85) leaves a residual
 * noise whose bursts kept the energy detector in speech after the last word (calibration, 20 dB:
 * requests' p95 from the last word to the end 251 -> 365 ms of audio; docs/benchmarks.md).
 */
const DETECTOR_ALPHA = 0.98;

/** A pair's decoders, each fed the same audio. */
const decoders = (p: Pair): Ptr[] => (p.words ? [p.grammar, p.loop, p.words] : [p.grammar, p.loop]);

type SessionState = 'waiting' | 'listening' | 'finishing' | 'done';

/** One utterance: both decoders fed in order on koffi's worker threads, one call at a time. */
export class PocketsphinxSession extends TypedEmitter<SttEvents> implements SttSession {
  readonly #stt: SessionHost;
  readonly #grammarName: string;
  /** Made once the first audio has shown the noise level (see #detect): for quiet rooms, and for noisy ones. */
  #vad: EnergyVad | undefined;
  #noisyVad: EnergyVad | undefined;
  readonly #hangoverMs: number;
  readonly #warmLevels: number[] = [];
  readonly #endOnComplete: boolean;
  readonly #filter: WienerFilter | undefined;
  /** The same filter with the steadier smoothing (`DETECTOR_ALPHA`, also in noise), for the speech detector only, when the decoders' may smooth otherwise. */
  readonly #detectorFilter: WienerFilter | undefined;
  #state: SessionState = 'waiting';
  #held: Int16Array[] = [];
  #heldSamples = 0;
  #pair: Pair | undefined;
  #grammar: Grammar | undefined;
  #chain: Promise<void> = Promise.resolve();
  #heard = false;
  /** Samples since the detector last heard speech (after the hangover). */
  #silentSamples = 0;
  /** Ended by its own end-of-speech rules (not `finalize()`). */
  #endedItself = false;
  /** The filtered audio fed so far, kept while the sentence check may still need it. */
  #fed: Int16Array[] | undefined;
  /** The sentence check ran (once per utterance). */
  #checked = false;
  /** The grammar decoder's utterance was ended by the sentence check, which found the sentence. */
  #grammarEnded = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The grammar searched (a name of the recogniser's grammars). */
  #search = 'default';
  /**
   * The filtered audio so far, kept until it is decided (once per utterance) whether to stay on
   * these decoders or move to those for noise; undefined once decided, or with nothing to decide.
   */
  #sinceStart: Int16Array[] | undefined;

  constructor(stt: SessionHost, grammar: string, completeSilenceMs: number, denoise: false | WienerOptions) {
    super();
    this.#filter = denoise ? new WienerFilter(denoise) : undefined;
    // Its own copy only when the decoders' filter smooths otherwise (the default is the same).
    const steady = denoise && (denoise.alpha ?? DEFAULT_ALPHA) === DETECTOR_ALPHA && denoise.inNoise === false;
    this.#detectorFilter = denoise && !steady ? new WienerFilter({ ...denoise, alpha: DETECTOR_ALPHA, inNoise: false }) : undefined;
    this.#stt = stt;
    this.#grammarName = grammar;
    this.#hangoverMs = completeSilenceMs || 150;
    this.#endOnComplete = completeSilenceMs > 0;
    if (this.#endOnComplete && stt.sentenceCheckMs > 0) this.#fed = [];
    if (stt.noiseModel && this.#filter) this.#sinceStart = [];
    this.#chain = this.#start();
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(pcm: Int16Array): void {
    if (this.#state === 'waiting') {
      if (this.#heldSamples + pcm.length > MAX_HELD_SAMPLES) return; // bounded, like the cloud clients
      this.#held.push(pcm);
      this.#heldSamples += pcm.length;
      return;
    }
    if (this.#state !== 'listening') return;
    this.#enqueue(pcm);
  }

  finalize(): void {
    if (this.#state === 'done' || this.#state === 'finishing') return;
    this.#finish();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const wasOpen = this.#state !== 'done';
      this.#state = 'done';
      await this.#chain.catch(() => undefined);
      const pair = this.#pair;
      this.#pair = undefined;
      if (pair) {
        // An abandoned utterance still has to end before its decoders serve another.
        if (wasOpen) await Promise.all(decoders(pair).map((d) => (d === pair.grammar && this.#grammarEnded ? 0 : this.#stt.lib.endUtt(d)))).catch(() => undefined);
        this.#stt.release(pair);
      }
      this.#closed = true;
      this.emit('closed');
    })();
    return this.#closing;
  }

  async #start(): Promise<void> {
    let acquired;
    try {
      acquired = await this.#stt.acquire();
    } catch (err) {
      this.#fail(err instanceof ServiceError ? err : new ServiceError('pocketsphinx', 'config', errorMessage(err)));
      return;
    }
    const { pair, grammars } = acquired;
    const lib = this.#stt.lib;
    const name = grammars.has(this.#grammarName) ? this.#grammarName : 'default';
    this.#search = name;
    this.#grammar = grammars.get(name)!;
    if (this.#state === 'done') {
      this.#stt.release(pair);
      return;
    }
    this.#pair = pair;
    if (lib.setSearch(pair.grammar, name) !== 0 || decoders(pair).some((d) => lib.startUtt(d) < 0)) {
      this.#fail(new ServiceError('pocketsphinx', 'provider', 'pocketsphinx could not start an utterance'));
      return;
    }
    const wantedFinal = this.#state === 'finishing';
    this.#state = 'listening';
    this.emit('ready');
    const held = this.#held;
    this.#held = [];
    for (const pcm of held) this.#enqueue(pcm);
    if (wantedFinal) this.#finish();
  }

  #enqueue(raw: Int16Array): void {
    // Filtered here, in arrival order; the decoders see whole 16 ms hops.
    const pcm = this.#filter ? this.#filter.process(raw) : raw;
    const forDetector = this.#detectorFilter ? this.#detectorFilter.process(raw) : pcm;
    if (pcm.length) this.#chain = this.#chain.then(() => this.#process(pcm, forDetector));
  }

  /** Decodes `pcm` and runs the end-of-speech rules, the speech detector hearing `forDetector` (the same audio, filtered for it). */
  async #process(pcm: Int16Array, forDetector: Int16Array = pcm): Promise<void> {
    let pair = this.#pair;
    // Audio queued behind the chunk that ended the utterance is the silence after it: not decoded.
    if (!pair || this.#state === 'done' || this.#endedItself) return;
    const lib = this.#stt.lib;
    const searched = await Promise.all(decoders(pair).map((d) => lib.processRaw(d, pcm)));
    this.#fed?.push(pcm);
    this.#sinceStart?.push(pcm);
    if (searched.some((n) => n < 0)) {
      this.#fail(new ServiceError('pocketsphinx', 'provider', 'pocketsphinx failed to process audio'));
      return;
    }
    if (this.#sinceStart) {
      pair = await this.#decide(pair, this.#sinceStart);
      if (!pair) return;
    }
    const vad = this.#detect(forDetector);
    if (!vad) return;
    if (vad.inSpeech) this.#silentSamples = 0;
    else if (this.#heard) this.#silentSamples += pcm.length;
    if (!this.#endOnComplete || !this.#heard || vad.inSpeech || this.#state !== 'listening') return;
    // The user paused after what is already a whole sentence: that is the end of the utterance.
    const partial = lib.hyp(pair.grammar);
    const complete = !!partial.text && !!this.#grammar?.matches(partial.text);
    // Silence heard: the detector's hangover, then what followed it (16 samples per ms).
    const silenceMs = this.#hangoverMs + this.#silentSamples / 16;
    if (complete || silenceMs >= INCOMPLETE_SILENCE_MS) {
      this.#endItself();
      return;
    }
    // No sentence yet, and what was said so far fits no sentence of the grammar at all: a
    // pause inside a request would still fit one, so this speech is over.
    const giveUp = this.#stt.hopelessSilenceMs;
    const loop = lib.hyp(pair.loop).score;
    if (giveUp > 0 && silenceMs >= giveUp && this.#stt.hopeless({ silenceMs, text: partial.text, grammar: partial.score, loop, frames: lib.nFrames(pair.grammar), snrDb: this.#filter?.snrDb, noisy: pair.noisy })) {
      this.#endItself();
      return;
    }
    const check = this.#stt.sentenceCheckMs;
    if (check > 0 && !this.#checked && silenceMs >= check && (await this.#sentenceCheck(pair, loop)) && this.#state === 'listening') this.#endItself();
  }

  /**
   * Once the filter has heard `noiseModel.speechFrames` speech-like frames: when it estimates the
   * SNR below `noiseModel.belowSnrDb`, the utterance moves to the decoders for noise, which are fed
   * the audio so far again (decoding runs several times faster than the audio, so they catch up
   * long before the speech ends); the first pair is released. Returns the pair decoding now
   * (undefined after a failure).
   */
  async #decide(pair: Pair, audio: Int16Array[]): Promise<Pair | undefined> {
    // Set together with #sinceStart (constructor).
    const rule = this.#stt.noiseModel!;
    const filter = this.#filter!;
    if (filter.speechFrames < rule.speechFrames) return pair;
    this.#sinceStart = undefined;
    const snr = filter.snrDb;
    if (snr === undefined || snr >= rule.belowSnrDb) return pair;
    const noisy = this.#stt.acquireNoisy();
    if (!noisy) return pair;
    const lib = this.#stt.lib;
    if (lib.setSearch(noisy.grammar, this.#search) !== 0 || decoders(noisy).some((d) => lib.startUtt(d) < 0)) {
      this.#stt.release(noisy);
      this.#fail(new ServiceError('pocketsphinx', 'provider', 'pocketsphinx could not start an utterance on the decoders for noise'));
      return undefined;
    }
    const all = concatPcm(audio);
    const [fed, ended] = await Promise.all([Promise.all(decoders(noisy).map((d) => lib.processRaw(d, all))), Promise.all(decoders(pair).map((d) => lib.endUtt(d)))]);
    this.#stt.release(pair);
    this.#pair = noisy;
    if (fed.some((n) => n < 0) || ended.some((n) => n < 0)) {
      this.#fail(new ServiceError('pocketsphinx', 'provider', 'pocketsphinx failed to move the utterance to the decoders for noise'));
      return undefined;
    }
    return noisy;
  }

  /**
   * The best partial hypothesis is the best path so far, complete or not: a request whose words
   * are all said may still end on an incomplete one (in noise, often), and would then wait for
   * `INCOMPLETE_SILENCE_MS`. Ending the grammar search forces its final state: when that best
   * complete sentence would be accepted, or the recogniser gives up on it (`givesUp`: rejected and
   * hopeless, judged then as not understood), the utterance is over (the grammar decoder stays
   * ended); otherwise the search starts again on the audio so far, as if never ended. Once per utterance.
   */
  async #sentenceCheck(pair: Pair, loop: number): Promise<boolean> {
    this.#checked = true;
    const fed = this.#fed;
    this.#fed = undefined;
    if (!fed) return false;
    const lib = this.#stt.lib;
    if ((await lib.endUtt(pair.grammar)) < 0) {
      this.#fail(new ServiceError('pocketsphinx', 'provider', 'pocketsphinx failed to end the utterance'));
      return false;
    }
    const final = lib.hyp(pair.grammar);
    const scores = { text: final.text, grammar: final.score, loop, frames: lib.nFrames(pair.grammar), snrDb: this.#filter?.snrDb, noisy: pair.noisy };
    const sentence = !!this.#grammar?.matches(final.text ?? '');
    // Accepted, or so far from any sentence it would accept that the speech is over (not understood).
    if ((sentence && this.#stt.accepts(scores)) || this.#stt.givesUp({ ...scores, sentence })) {
      this.#grammarEnded = true;
      return true;
    }
    const all = concatPcm(fed);
    if (lib.startUtt(pair.grammar) < 0 || (await lib.processRaw(pair.grammar, all)) < 0) {
      this.#fail(new ServiceError('pocketsphinx', 'provider', 'pocketsphinx could not search the utterance again'));
    }
    return false;
  }

  /**
   * Speech detection on the filtered audio. The first 300 ms (the agent's pre-roll, before the user speaks) only
   * measure the noise left after filtering: a detector starting from a guessed floor took the
   * filter's first, less suppressed frames for speech and then never heard the speech end.
   * Returns the detector whose hangover suits the noise estimated so far.
   */
  #detect(pcm: Int16Array): EnergyVad | undefined {
    if (!this.#vad || !this.#noisyVad) {
      this.#warmLevels.push(rmsDb(pcm));
      if (this.#warmLevels.length * pcm.length < WARM_UP_SAMPLES) return undefined;
      // The median, past the filter's first hops (its priming silence, then its learning frames).
      const levels = this.#warmLevels.slice(2).sort((a, b) => a - b);
      const initialFloorDb = levels[Math.floor(levels.length / 2)] ?? -60;
      this.#vad = new EnergyVad({ hangoverMs: this.#hangoverMs, initialFloorDb });
      this.#noisyVad = new EnergyVad({ hangoverMs: this.#hangoverMs + NOISY_EXTRA_MS, initialFloorDb });
      return undefined;
    }
    const ev = this.#vad.process(pcm);
    this.#noisyVad.process(pcm);
    if (ev === 'speech-start') this.#heard = true;
    const snr = this.#filter?.snrDb;
    return snr !== undefined && snr < NOISY_SNR_DB ? this.#noisyVad : this.#vad;
  }

  /** The session's own end of speech: what is still queued, and the filter's tail, are the silence after it. */
  #endItself(): void {
    this.#endedItself = true;
    this.#finish();
  }

  #finish(): void {
    if (this.#state === 'waiting') {
      this.#state = 'finishing'; // #start finishes once the decoders are there
      return;
    }
    this.#state = 'finishing';
    const rest = this.#endedItself ? undefined : this.#filter?.flush();
    const restHeard = this.#endedItself ? undefined : this.#detectorFilter?.flush();
    if (rest?.length) this.#chain = this.#chain.then(() => this.#process(rest, restHeard));
    this.#chain = this.#chain.then(async () => {
      const pair = this.#pair;
      if (!pair) return;
      const lib = this.#stt.lib;
      const ended = await Promise.all(decoders(pair).map((d) => (d === pair.grammar && this.#grammarEnded ? 0 : lib.endUtt(d))));
      if (ended.some((n) => n < 0)) {
        this.#fail(new ServiceError('pocketsphinx', 'provider', 'pocketsphinx failed to end the utterance'));
        return;
      }
      // Every frame decoded, pre-roll and trailing silence included: speech frames counted by the
      // detector, fewer and erratic in noise, made right sentences' ratios there fall apart.
      const best = lib.hyp(pair.grammar);
      const detail = this.#stt.detail;
      const evidence: Evidence = {
        grammar: best,
        loop: lib.hyp(pair.loop),
        wordLoop: pair.words ? lib.hyp(pair.words) : undefined,
        nbest: detail ? lib.nbest(pair.grammar, N_BEST) : [],
        words: detail ? lib.segments(pair.grammar) : [],
        phones: detail ? lib.segments(pair.loop) : [],
        prob: detail ? lib.prob(pair.grammar) : 0,
        frames: lib.nFrames(pair.grammar),
        heard: this.#heard,
        snrDb: this.#filter?.snrDb,
        noisy: pair.noisy,
      };
      const result = this.#stt.judge(this.#grammar!, evidence);
      const abandoned = this.#state === 'done'; // closed while the utterance ended
      this.#state = 'done';
      this.#pair = undefined;
      this.#stt.release(pair);
      if (!abandoned) this.emit('final', result);
    });
  }

  #fail(err: ServiceError): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.emit('error', err);
    void this.close();
  }
}
