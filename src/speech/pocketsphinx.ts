/**
 * Offline speech-to-text with pocketsphinx, constrained by grammars of known sentences: one
 * recogniser for the local gateway and for the pipeline backend (`pipeline.stt: pocketsphinx`).
 *
 * Each utterance runs on two decoders fed the same audio as it arrives: one searches the
 * grammar, the other an unconstrained loop of phones. The grammar always finds its closest
 * sentence, even for words it does not know; the phone loop is what the audio sounds like with
 * no constraint. Their path-score difference per frame of speech (a log-likelihood ratio) says
 * how well the sentence explains the audio: below `rejectThreshold` the utterance is out of
 * the grammar (`rejected`, empty text), and a logistic of it is the reported confidence.
 *
 * End of speech: when the best hypothesis so far is a complete sentence and `completeSilenceMs`
 * of silence followed it, the session ends itself (a `final` without `finalize()`), so the
 * transcript is ready about a fifth of a second after the last word instead of after the
 * longer silence that ends an utterance in general.
 *
 * Decoders are made for the grammars' words only (a small dictionary taken from the model's),
 * which keeps start-up near 0.1 s per decoder, and are reused across utterances.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rmsDb } from '../audio/pcm.js';
import { EnergyVad } from '../audio/vad.js';
import { ServiceError } from '../backends/service-error.js';
import type { SttClient, SttEvents, SttOpenOptions, SttResult, SttSession } from '../backends/stt/types.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { WienerFilter } from './denoise.js';
import { Grammar, PhraseError, type GrammarSpec } from './phrases.js';
import { loadPocketsphinx, RecognizerUnavailableError, type PocketsphinxLib, type Ptr } from './pocketsphinx-lib.js';

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
  /** Log-likelihood ratio per speech frame (path-score units) below which speech is rejected (default 3). */
  rejectThreshold?: number;
  /** Silence after a complete sentence that ends the utterance, ms (default 200; 0 disables). */
  completeSilenceMs?: number;
  /** Noise reduction ahead of the decoders (./denoise.ts; default true). */
  denoise?: boolean;
  /** More decoder options, `-name value` pairs (tuning; see pocketsphinx_continuous -help). */
  decoderArgs?: string[];
  /** Called with every hypothesis and its score ratio before the threshold applies (benchmarks, diagnostics). */
  onHypothesis?: (h: { text: string; ratio: number; speechFrames: number; snrDb: number | undefined; threshold: number }) => void;
  log: Logger;
}

/** A decoder for the grammars and one for the phone loop, used by one utterance at a time. */
interface Pair {
  grammar: Ptr;
  loop: Ptr;
  generation: number;
}

interface Compiled {
  grammars: Map<string, Grammar>;
  /** The model's phones: the phone loop's alphabet. */
  phones: string[];
  dictFile: string;
  dir: string;
}

const SAMPLES_PER_FRAME = 160; // 10 ms at 16 kHz
const WARM_UP_SAMPLES = 4800; // 300 ms
const MAX_FREE_PAIRS = 4;
const MAX_HELD_SAMPLES = 16_000 * 30;
/** Width of the logistic that maps the ratio to a confidence, in path-score units per frame. */
const CONFIDENCE_SCALE = 4;

export class PocketsphinxStt implements SttClient {
  readonly name = 'pocketsphinx';
  readonly #lib: PocketsphinxLib;
  readonly #hmm: string;
  readonly #dict: string;
  readonly #log: Logger;
  readonly #threshold: number;
  readonly #completeSilenceMs: number;
  readonly #source: PocketsphinxOptions['grammars'];
  readonly #onHypothesis: PocketsphinxOptions['onHypothesis'];
  readonly #args: string[];
  readonly #denoise: boolean;
  #compiled: Compiled | undefined;
  #loading: Promise<Compiled> | undefined;
  readonly #free: Pair[] = [];
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
    this.#threshold = options.rejectThreshold ?? 3;
    this.#completeSilenceMs = options.completeSilenceMs ?? 200;
    this.#source = options.grammars;
    this.#onHypothesis = options.onHypothesis;
    this.#args = options.decoderArgs ?? [];
    this.#denoise = options.denoise ?? true;
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
    for (const p of this.#free.splice(0)) this.#freePair(p);
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
  async acquire(): Promise<{ pair: Pair; compiled: Compiled }> {
    const compiled = await this.#ready();
    const pair = this.#free.pop() ?? this.#makePair(compiled);
    return { pair, compiled };
  }

  /** @internal Returns a pair after its utterance ended. */
  release(pair: Pair): void {
    if (pair.generation !== this.#generation || this.#free.length >= MAX_FREE_PAIRS) this.#freePair(pair);
    else this.#free.push(pair);
  }

  /** @internal */
  get lib(): PocketsphinxLib {
    return this.#lib;
  }

  /** @internal Maps the two path scores of an utterance to text, confidence and rejection. */
  judge(grammar: Grammar, g: { text: string | null; score: number }, loop: { score: number }, speechFrames: number, heard: boolean, snrDb: number | undefined): SttResult {
    const text = (g.text ?? '').trim();
    if (!text) return heard ? { text: '', confidence: 0, rejected: true } : { text: '', confidence: 0 };
    const ratio = (g.score - loop.score) / Math.max(10, speechFrames);
    const threshold = thresholdAt(this.#threshold, snrDb);
    const confidence = Math.round((1 / (1 + Math.exp(-(ratio - threshold) / CONFIDENCE_SCALE))) * 1000) / 1000;
    this.#log.debug('hypothesis', () => ({ text, ratio: Math.round(ratio * 100) / 100, threshold, snrDb, confidence, frames: speechFrames }));
    this.#onHypothesis?.({ text, ratio, speechFrames, snrDb, threshold });
    if (ratio < threshold || !grammar.matches(text)) return { text: '', confidence, rejected: true, guess: text };
    return { text, confidence };
  }

  #compile(specs: Grammars): Compiled {
    if (!specs.default) throw new PhraseError('', 'the recogniser needs a grammar named "default"');
    const grammars = new Map<string, Grammar>();
    for (const [name, spec] of Object.entries(specs)) grammars.set(name, new Grammar(spec));
    const words = new Set<string>();
    for (const g of grammars.values()) for (const w of g.words()) words.add(w);
    const { entries, phones } = this.#readDictionary(words);
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
    this.#log.info('grammars-ready', { grammars: [...grammars.keys()], words: words.size });
    return { grammars, phones, dictFile, dir };
  }

  /** The dictionary entries (with alternate pronunciations) of `words`, and the model's phones. */
  #readDictionary(words: Set<string>): { entries: { word: string; entry: string; phones: string }[]; phones: string[] } {
    const entries: { word: string; entry: string; phones: string }[] = [];
    const phones = new Set<string>();
    for (const line of readFileSync(this.#dict, 'utf8').split('\n')) {
      const sp = line.indexOf(' ');
      if (sp <= 0) continue;
      const entry = line.slice(0, sp);
      const pron = line.slice(sp + 1).trim();
      // Every pronunciation adds its phones: together they are the model's phone set.
      for (const p of pron.split(/\s+/)) if (p) phones.add(p);
      const paren = entry.indexOf('(');
      const word = paren > 0 ? entry.slice(0, paren) : entry;
      if (words.has(word)) entries.push({ word, entry, phones: pron });
    }
    return { entries, phones: [...phones].sort() };
  }

  #makePair(c: Compiled): Pair {
    const lib = this.#lib;
    const decoder = (): Ptr => {
      const cfg = lib.parseConfig(['-hmm', this.#hmm, '-dict', c.dictFile, '-logfn', '/dev/null', ...this.#args]);
      if (!cfg) throw new RecognizerUnavailableError(`pocketsphinx refused its configuration (model ${this.#hmm})`);
      const ps = lib.init(cfg);
      lib.freeConfig(cfg);
      if (!ps) throw new RecognizerUnavailableError(`pocketsphinx could not load the model ${this.#hmm}`);
      return ps;
    };
    const grammar = decoder();
    for (const [name, g] of c.grammars) {
      if (lib.setJsgf(grammar, name, g.toJsgf(name)) !== 0) {
        lib.free(grammar);
        throw new PhraseError(name, 'pocketsphinx could not compile this grammar');
      }
    }
    lib.setSearch(grammar, 'default');
    const loop = decoder();
    const phones = c.phones.map((p) => `ph_${p.toLowerCase()}`);
    const loopJsgf = `#JSGF V1.0;\ngrammar loop;\npublic <loop> = <phone>+;\n<phone> = ${phones.join(' | ')};\n`;
    if (lib.setJsgf(loop, 'loop', loopJsgf) !== 0 || lib.setSearch(loop, 'loop') !== 0) {
      lib.free(grammar);
      lib.free(loop);
      throw new RecognizerUnavailableError('pocketsphinx could not build its phone loop');
    }
    return { grammar, loop, generation: this.#generation };
  }

  #freePair(p: Pair): void {
    this.#lib.free(p.grammar);
    this.#lib.free(p.loop);
  }
}

/**
 * The rejection threshold for an utterance whose signal-to-noise ratio the noise filter
 * estimated as `snrDb` (60 for clean audio): `quiet` at 30 dB and above, 0.3 lower per dB down
 * to 20 dB, and never more than 3 lower. Noise pulls right sentences' ratios down more than
 * wrong ones'; going lower still would accept too many sentences that were never said.
 * Fitted on calibration sentences and voices kept apart from the benchmark's (docs/benchmarks.md).
 */
export function thresholdAt(quiet: number, snrDb: number | undefined): number {
  if (snrDb === undefined || snrDb >= 30) return quiet;
  return quiet - 0.3 * Math.min(10, 30 - snrDb);
}

type SessionState = 'waiting' | 'listening' | 'finishing' | 'done';

/** One utterance: both decoders fed in order on koffi's worker threads, one call at a time. */
class PocketsphinxSession extends TypedEmitter<SttEvents> implements SttSession {
  readonly #stt: PocketsphinxStt;
  readonly #grammarName: string;
  /** Made once the first audio has shown the noise level (see #detect). */
  #vad: EnergyVad | undefined;
  readonly #hangoverMs: number;
  readonly #warmLevels: number[] = [];
  readonly #endOnComplete: boolean;
  readonly #filter: WienerFilter | undefined;
  #state: SessionState = 'waiting';
  #held: Int16Array[] = [];
  #heldSamples = 0;
  #pair: Pair | undefined;
  #grammar: Grammar | undefined;
  #chain: Promise<void> = Promise.resolve();
  #heard = false;
  #speechSamples = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(stt: PocketsphinxStt, grammar: string, completeSilenceMs: number, denoise: boolean) {
    super();
    this.#filter = denoise ? new WienerFilter() : undefined;
    this.#stt = stt;
    this.#grammarName = grammar;
    this.#hangoverMs = completeSilenceMs || 200;
    this.#endOnComplete = completeSilenceMs > 0;
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
        if (wasOpen) await Promise.all([this.#stt.lib.endUtt(pair.grammar), this.#stt.lib.endUtt(pair.loop)]).catch(() => undefined);
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
    const { pair, compiled } = acquired;
    const lib = this.#stt.lib;
    const name = compiled.grammars.has(this.#grammarName) ? this.#grammarName : 'default';
    this.#grammar = compiled.grammars.get(name)!;
    if (this.#state === 'done') {
      this.#stt.release(pair);
      return;
    }
    this.#pair = pair;
    if (lib.setSearch(pair.grammar, name) !== 0 || lib.startUtt(pair.grammar) < 0 || lib.startUtt(pair.loop) < 0) {
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
    if (pcm.length) this.#chain = this.#chain.then(() => this.#process(pcm));
  }

  async #process(pcm: Int16Array): Promise<void> {
    const pair = this.#pair;
    if (!pair || this.#state === 'done') return;
    const lib = this.#stt.lib;
    const [a, b] = await Promise.all([lib.processRaw(pair.grammar, pcm), lib.processRaw(pair.loop, pcm)]);
    if (a < 0 || b < 0) {
      this.#fail(new ServiceError('pocketsphinx', 'provider', 'pocketsphinx failed to process audio'));
      return;
    }
    const vad = this.#detect(pcm);
    if (!vad) return;
    // The user paused after what is already a whole sentence: that is the end of the utterance.
    if (this.#endOnComplete && this.#heard && !vad.inSpeech && this.#state === 'listening') {
      const partial = lib.hyp(pair.grammar).text;
      if (partial && this.#grammar?.matches(partial)) this.#finish();
    }
  }

  /**
   * Speech detection on the filtered audio; it also counts the frames of speech that the score
   * ratio is normalised by. The first 300 ms (the agent's pre-roll, before the user speaks) only
   * measure the noise left after filtering: a detector starting from a guessed floor took the
   * filter's first, less suppressed frames for speech and then never heard the speech end.
   */
  #detect(pcm: Int16Array): EnergyVad | undefined {
    if (!this.#vad) {
      this.#warmLevels.push(rmsDb(pcm));
      if (this.#warmLevels.length * pcm.length < WARM_UP_SAMPLES) return undefined;
      // The median, past the filter's first hops (its priming silence, then its learning frames).
      const levels = this.#warmLevels.slice(2).sort((a, b) => a - b);
      this.#vad = new EnergyVad({ hangoverMs: this.#hangoverMs, initialFloorDb: levels[Math.floor(levels.length / 2)] ?? -60 });
      return this.#vad;
    }
    const ev = this.#vad.process(pcm);
    if (ev === 'speech-start') this.#heard = true;
    if (this.#vad.inSpeech || ev === 'speech-end') this.#speechSamples += pcm.length;
    return this.#vad;
  }

  #finish(): void {
    if (this.#state === 'waiting') {
      this.#state = 'finishing'; // #start finishes once the decoders are there
      return;
    }
    this.#state = 'finishing';
    const rest = this.#filter?.flush();
    if (rest?.length) this.#chain = this.#chain.then(() => this.#process(rest));
    this.#chain = this.#chain.then(async () => {
      const pair = this.#pair;
      if (!pair) return;
      const lib = this.#stt.lib;
      const [a, b] = await Promise.all([lib.endUtt(pair.grammar), lib.endUtt(pair.loop)]);
      if (a < 0 || b < 0) {
        this.#fail(new ServiceError('pocketsphinx', 'provider', 'pocketsphinx failed to end the utterance'));
        return;
      }
      const frames = this.#heard ? this.#speechSamples / SAMPLES_PER_FRAME : lib.nFrames(pair.grammar);
      const result = this.#stt.judge(this.#grammar!, lib.hyp(pair.grammar), lib.hyp(pair.loop), frames, this.#heard, this.#filter?.snrDb);
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
