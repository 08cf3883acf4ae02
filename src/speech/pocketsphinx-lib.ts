/**
 * The C API of Debian's pocketsphinx 0.8+5prealpha (libpocketsphinx.so.3, libsphinxbase.so.3),
 * bound with koffi. Loaded on first use only: a machine without koffi or without the library
 * runs everything else, and gets one clear message naming the package to install.
 *
 * Decoding calls (`ps_process_raw`, `ps_end_utt`) run on koffi's worker threads (`.async`), so a
 * recogniser never blocks the event loop; calls on one decoder must not overlap (the caller
 * queues them).
 */
import { createRequire } from 'node:module';
import { AgentError } from '../errors.js';

/** An opaque C pointer (koffi 3 passes pointers as BigInt). */
export type Ptr = bigint;

export interface PocketsphinxLib {
  /** Parses `-name value` pairs into a decoder config; null on a bad option. */
  parseConfig(argv: string[]): Ptr | null;
  /** ps_init: null when the model or dictionary cannot be loaded. */
  init(config: Ptr): Ptr | null;
  freeConfig(config: Ptr): void;
  free(ps: Ptr): void;
  /** ps_set_jsgf_string: 0 on success. */
  setJsgf(ps: Ptr, name: string, jsgf: string): number;
  /** ps_set_lm_file (an ARPA or binary n-gram model): 0 on success. */
  setLmFile(ps: Ptr, name: string, file: string): number;
  /** ps_set_search: 0 on success. */
  setSearch(ps: Ptr, name: string): number;
  startUtt(ps: Ptr): number;
  /** ps_process_raw on a worker thread: frames searched, <0 on error. */
  processRaw(ps: Ptr, pcm: Int16Array): Promise<number>;
  endUtt(ps: Ptr): Promise<number>;
  /** Best hypothesis so far (or final after endUtt) and its path score; null when none. */
  hyp(ps: Ptr): { text: string | null; score: number };
  nFrames(ps: Ptr): number;
  /**
   * ps_get_prob after endUtt: the log posterior of the best hypothesis in the decoder's lattice
   * (log base 1.0001, as pocketsphinx's scores; 0 when there is no lattice, and, as measured on
   * 745 utterances, always 0 with this library's grammar search).
   */
  prob(ps: Ptr): number;
  /** Up to `n` of the final lattice's best distinct hypotheses, best first, with their path scores (after endUtt). */
  nbest(ps: Ptr, n: number): { text: string; score: number }[];
  /** The best hypothesis's words: frames (inclusive) and acoustic and language scores. */
  segments(ps: Ptr): { word: string; start: number; end: number; ascr: number; lscr: number }[];
}

/** pocketsphinx (or koffi) is not available on this machine. */
export class RecognizerUnavailableError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('recognizer-unavailable', message, options);
  }
}

const INSTALL_HINT = 'install it with: sudo apt-get install pocketsphinx pocketsphinx-en-us';

interface KoffiFn {
  (...args: unknown[]): unknown;
  async(...args: unknown[]): void;
}
interface KoffiLib {
  func(definition: string): KoffiFn;
}
interface Koffi {
  load(path: string): KoffiLib;
}

let cached: PocketsphinxLib | undefined;

/** Loads the library once per process. Throws RecognizerUnavailableError with the fix. */
export function loadPocketsphinx(): PocketsphinxLib {
  if (cached) return cached;
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    throw new RecognizerUnavailableError('speech recognition needs the koffi npm package (an optional dependency that did not install)', { cause: err });
  }
  let ps: KoffiLib;
  let sb: KoffiLib;
  try {
    ps = koffi.load('libpocketsphinx.so.3');
    sb = koffi.load('libsphinxbase.so.3');
  } catch (err) {
    throw new RecognizerUnavailableError(`pocketsphinx is not installed (${(err as Error).message.split('\n')[0]}): ${INSTALL_HINT}`, { cause: err });
  }
  const psArgs = ps.func('void *ps_args(void)');
  const parse = sb.func('void *cmd_ln_parse_r(void *inout, void *defn, int argc, const char **argv, int strict)');
  const freeCfg = sb.func('int cmd_ln_free_r(void *cmdln)');
  const defaults = ps.func('void ps_default_search_args(void *config)');
  const init = ps.func('void *ps_init(void *config)');
  const free = ps.func('int ps_free(void *ps)');
  const setJsgf = ps.func('int ps_set_jsgf_string(void *ps, const char *name, const char *jsgf)');
  const setLmFile = ps.func('int ps_set_lm_file(void *ps, const char *name, const char *path)');
  const setSearch = ps.func('int ps_set_search(void *ps, const char *name)');
  const startUtt = ps.func('int ps_start_utt(void *ps)');
  const processRaw = ps.func('int ps_process_raw(void *ps, const int16_t *data, size_t n, int no_search, int full_utt)');
  const endUtt = ps.func('int ps_end_utt(void *ps)');
  const getHyp = ps.func('const char *ps_get_hyp(void *ps, _Out_ int32_t *score)');
  const nFrames = ps.func('int ps_get_n_frames(void *ps)');
  const getProb = ps.func('int32_t ps_get_prob(void *ps)');
  const nbestStart = ps.func('void *ps_nbest(void *ps)');
  const nbestNext = ps.func('void *ps_nbest_next(void *nbest)');
  const nbestHyp = ps.func('const char *ps_nbest_hyp(void *nbest, _Out_ int32_t *score)');
  const nbestFree = ps.func('void ps_nbest_free(void *nbest)');
  const segIter = ps.func('void *ps_seg_iter(void *ps)');
  const segNext = ps.func('void *ps_seg_next(void *seg)');
  const segWord = ps.func('const char *ps_seg_word(void *seg)');
  const segFrames = ps.func('void ps_seg_frames(void *seg, _Out_ int *sf, _Out_ int *ef)');
  const segProb = ps.func('int32_t ps_seg_prob(void *seg, _Out_ int32_t *ascr, _Out_ int32_t *lscr, _Out_ int32_t *lback)');
  const call = (fn: KoffiFn, ...args: unknown[]) =>
    new Promise<number>((resolve, reject) => fn.async(...args, (err: unknown, r: number) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(r))));
  cached = {
    parseConfig(argv) {
      const cfg = parse(null, psArgs(), argv.length, argv, 1) as Ptr | null;
      if (cfg) defaults(cfg);
      return cfg;
    },
    init: (cfg) => init(cfg) as Ptr | null,
    freeConfig: (cfg) => void freeCfg(cfg),
    free: (p) => void free(p),
    setJsgf: (p, name, jsgf) => setJsgf(p, name, jsgf) as number,
    setLmFile: (p, name, file) => setLmFile(p, name, file) as number,
    setSearch: (p, name) => setSearch(p, name) as number,
    startUtt: (p) => startUtt(p) as number,
    // The typed array stays referenced by the pending call, so its memory outlives the worker's use.
    processRaw: (p, pcm) => call(processRaw, p, pcm, pcm.length, 0, 0),
    endUtt: (p) => call(endUtt, p),
    hyp(p) {
      const score = [0];
      const text = getHyp(p, score) as string | null;
      return { text, score: score[0]! };
    },
    nFrames: (p) => nFrames(p) as number,
    prob: (p) => getProb(p) as number,
    nbest(p, n) {
      const out: { text: string; score: number }[] = [];
      let it = nbestStart(p) as Ptr | null;
      // The A* search yields the same words again with other segmentations: keep distinct texts.
      for (let steps = 0; it && out.length < n && steps < 20 * n; steps++) {
        const score = [0];
        const text = ((nbestHyp(it, score) as string | null) ?? '').trim();
        if (!out.some((h) => h.text === text)) out.push({ text, score: score[0]! });
        it = nbestNext(it) as Ptr | null;
      }
      if (it) nbestFree(it);
      return out;
    },
    segments(p) {
      const out: { word: string; start: number; end: number; ascr: number; lscr: number }[] = [];
      for (let it = segIter(p) as Ptr | null; it; it = segNext(it) as Ptr | null) {
        const sf = [0];
        const ef = [0];
        const ascr = [0];
        const lscr = [0];
        segFrames(it, sf, ef);
        segProb(it, ascr, lscr, [0]);
        out.push({ word: segWord(it) as string, start: sf[0]!, end: ef[0]!, ascr: ascr[0]!, lscr: lscr[0]! });
      }
      return out;
    },
  };
  return cached;
}
