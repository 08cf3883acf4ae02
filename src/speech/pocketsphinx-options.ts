/**
 * The pocketsphinx recogniser's options and their defaults (./pocketsphinx.ts), apart from the
 * recogniser itself.
 */
import type { Logger } from '../log/logger.js';
import type { Features } from './confidence.js';
import type { WienerOptions } from './denoise.js';
import type { GrammarSpec } from './phrases.js';
import type { Evidence } from './pocketsphinx-session.js';

/** Where Debian's pocketsphinx-en-us puts the US English model. */
export const DEBIAN_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

export type Grammars = Record<string, GrammarSpec>;

export interface PocketsphinxOptions {
  /** Model directory; `hmm` defaults to `<modelDir>/en-us`, `dict` to `<modelDir>/cmudict-en-us.dict`. */
  modelDir?: string;
  hmm?: string;
  dict?: string;
  /**
   * Named grammars; sessions use `default` unless they ask for another. A function is called
   * on the first `open()` (e.g. to fetch a skill's declared phrases); sessions hold their
   * audio until it resolves, and a failure fails those sessions (the next open retries).
   */
  grammars: Grammars | (() => Promise<Grammars>);
  /** Log-likelihood ratio per frame (path-score units) below which speech is rejected (default DEFAULT_REJECT_THRESHOLD). */
  rejectThreshold?: number;
  /** Silence after a complete sentence that ends the utterance, ms (default 150, 50 more in noise; 0 disables). */
  completeSilenceMs?: number;
  /**
   * What the device's pre-roll may carry before a request: the wake words (default
   * DEFAULT_LEAD_IN; those with a word the dictionary lacks are left out; [] for none). Heard and
   * dropped from the transcript.
   */
  leadIn?: string[];
  /** Noise reduction ahead of the decoders (./denoise.ts; default true; options tune the filter). */
  denoise?: boolean | WienerOptions;
  /** More decoder options, `-name value` pairs (tuning; see pocketsphinx_continuous -help). */
  decoderArgs?: string[];
  /**
   * How many common English words (./common-words.ts) the word-loop competitor knows besides the
   * grammars' own (default DEFAULT_WORD_LOOP; 0: no word loop).
   */
  wordLoop?: number;
  /** The word loop's own decoder options, after `decoderArgs` (default WORD_LOOP_ARGS). */
  wordLoopArgs?: string[];
  /**
   * Speech that fits no sentence ends sooner: when no complete sentence has been heard and the
   * score ratio so far is `margin` below the rejection threshold, `silenceMs` of silence end the
   * utterance (instead of the 700 ms that end speech that is no sentence in general; 0: never,
   * the early tier included). `early`: a shorter silence that ends speech whose ratio so far is
   * further below the threshold, its own `margin` below it (false: none). Default DEFAULT_HOPELESS.
   */
  hopeless?: { silenceMs?: number; margin?: number; early?: { silenceMs: number; margin: number } | false };
  /**
   * After this much silence following speech whose best partial hypothesis is no complete
   * sentence (and not hopeless), the grammar search is ended once to find its best complete
   * sentence: if the recogniser would accept it, the utterance ends there; otherwise the search
   * is run again over the audio so far and listening goes on. Default DEFAULT_SENTENCE_CHECK_MS; 0: never.
   */
  sentenceCheckMs?: number;
  /**
   * When the sentence check's final hypothesis is not accepted, the speech ends there as not
   * understood if the filter estimates the SNR below `belowSnrDb` (default DEFAULT_GIVE_UP_SNR_DB) and the
   * hypothesis went through the garbage path or its ratio is `margin` (default 0) or more below the
   * threshold; otherwise listening goes on as before. Default DEFAULT_GIVE_UP_AT_CHECK; false: never.
   */
  giveUpAtCheck?: { belowSnrDb?: number; margin?: number } | false;
  /**
   * Weight of each phone of the grammar's garbage path (Grammar.toJsgf; a word weighs 1): speech
   * that takes it is rejected. Default DEFAULT_GARBAGE; 0: no garbage path (and RATIO_CURVE).
   */
  garbage?: number;
  /**
   * The decoders for noise (DEFAULT_NOISE_MODEL; false: none, and without the garbage path never):
   * once the noise filter has heard `speechFrames` speech-like frames and estimates the SNR below
   * `belowSnrDb`, the utterance moves to a second pair of decoders whose acoustic model is adapted
   * to filtered noisy speech (./noise-transform.ts, `-mllr`), with garbage weight `garbage`,
   * judged by the curve moved by `offset`; the audio so far is fed to them again.
   */
  noiseModel?: { belowSnrDb?: number; speechFrames?: number; garbage?: number; offset?: number } | false;
  /**
   * Also read each utterance's N-best, word and phone segments (`evidence` and `features` for
   * `onHypothesis`; default false: they cost CPU and the rejection does not use them).
   */
  detail?: boolean;
  /**
   * Called with every hypothesis and its score ratio before the threshold applies (benchmarks,
   * diagnostics); its `evidence` and `features` are whole only with `detail`.
   */
  onHypothesis?: (h: { text: string; ratio: number; frames: number; snrDb: number | undefined; threshold: number; noisy: boolean; features: Features; evidence: Evidence }) => void;
  log: Logger;
}

/** The default `rejectThreshold` (also the config's default, pipeline.pocketsphinx.rejectThreshold). */
export const DEFAULT_REJECT_THRESHOLD = 0.5;

/** The bundled openWakeWord keywords and Porcupine's usual ones, as a pre-roll may carry them. */
export const DEFAULT_LEAD_IN = ['hey jarvis', 'alexa', 'hey mycroft', 'hey rhasspy', 'computer'];

/**
 * The default `hopeless`: 300 ms of silence after speech whose ratio so far is below the
 * threshold. On the calibration utterances (bench/recognition-ends.ts, 160 requests per level),
 * the 10 dB requests' p95 from the last word to the end fell from 615 to 279 ms of audio, speech
 * outside the grammar ended about 250 ms after its last word instead of 650-700, and one request
 * at 10 dB (one that was not understood either way) ended before its last word; 200 ms cut 7.
 *
 * Its early tier: 250 ms of silence when the ratio is 2 or more below the threshold. On the same
 * utterances with the sentence check (docs/benchmarks.md, "Earlier ends for speech that will not
 * be understood"), no request understood without it was lost or cut, requests over 300 ms after
 * their last word went from 10 to 8 of 480 (10 dB 5 -> 3), and speech outside the grammar ended
 * sooner at every level (p50 quiet 285 -> 245 ms, 20 dB 325 -> 282, 10 dB 300 -> 249). The same
 * tier for the garbage path too (as the 300 ms rule has it) lost one request, 200 ms at margin 2
 * lost two, and margins 4 and 6 gained nothing.
 */
export const DEFAULT_HOPELESS: { silenceMs: number; margin: number; early: { silenceMs: number; margin: number } | false } = { silenceMs: 300, margin: 0, early: { silenceMs: 250, margin: 2 } };
/**
 * The default `sentenceCheckMs` (docs/benchmarks.md, "The sentence check"): on the calibration
 * utterances at 10 dB, requests whose best partial hypothesis never became a complete sentence
 * waited 700 ms of silence although the final search found them.
 */
export const DEFAULT_SENTENCE_CHECK_MS = 300;
/**
 * The default `giveUpAtCheck`: never. On the calibration utterances (docs/benchmarks.md, "Earlier
 * ends for speech that will not be understood"), every setting of it ended one request at 10 dB
 * that is understood without it (the detector heard 300 ms of silence inside it) for one request
 * fewer over 300 ms.
 */
export const DEFAULT_GIVE_UP_AT_CHECK: { belowSnrDb?: number; margin?: number } | false = false;
/** The default `giveUpAtCheck.belowSnrDb`. */
export const DEFAULT_GIVE_UP_SNR_DB = 15;
/** The default `garbage`, per phone (calibration: 1e-16 took requests, 1e-45 too few out-of-grammar sentences; docs/benchmarks.md). */
export const DEFAULT_GARBAGE = 1e-25;
/**
 * The default `noiseModel` (docs/benchmarks.md, "MLLR judged on the bench set"): garbage 1e-35 is
 * what the adapted model needs (the garbage path took 9 of 160 calibration requests at 1e-25, 3 at
 * 1e-35); the offset +3.5 accepts as many out-of-grammar sentences at 10 dB on the calibration set
 * as the unadapted decoders do there (8 of 120); 15 dB is where the filter's estimate separates
 * 10 dB audio (7-13 dB) from 20 dB (15-22) after half a second; 15 speech-like frames are 240 ms.
 */
export const DEFAULT_NOISE_MODEL = { belowSnrDb: 15, speechFrames: 15, garbage: 1e-35, offset: 3.5 } as const;
/** The default `wordLoop`. */
export const DEFAULT_WORD_LOOP = 0;
