/**
 * What the pocketsphinx recogniser (./pocketsphinx.ts) builds its decoders from, besides the
 * grammars: the dictionary entries of the words it may hear, the wake words' endings a pre-roll
 * may carry, and the word loop that competes with the grammar (a unigram language model over
 * common English words and the grammar's own).
 */
import { readFileSync } from 'node:fs';
import { COMMON_WORDS } from './common-words.js';

export interface DictEntry {
  /** The word. */
  word: string;
  /** Its dictionary entry: the word, or `word(n)` for its n-th pronunciation. */
  entry: string;
  phones: string;
}

/**
 * The entries (with alternate pronunciations) of `words` in the dictionary file `dict`, and the
 * model's phones (every pronunciation's phones together).
 */
export function readDictionary(dict: string, words: Set<string>): { entries: DictEntry[]; phones: string[] } {
  const entries: DictEntry[] = [];
  const phones = new Set<string>();
  for (const line of readFileSync(dict, 'utf8').split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const entry = line.slice(0, sp);
    const pron = line.slice(sp + 1).trim();
    for (const p of pron.split(/\s+/)) if (p) phones.add(p);
    const paren = entry.indexOf('(');
    const word = paren > 0 ? entry.slice(0, paren) : entry;
    if (words.has(word)) entries.push({ word, entry, phones: pron });
  }
  // Many American speakers say "off", "long" and "office" with the vowel of "on" (AA); the
  // dictionary has only AO for them. With both, espeak-ng's "lights off" stopped being heard as
  // "lights on" (calibration sentences: quiet right hypotheses 95 -> 98 %).
  for (const e of [...entries]) {
    const merged = mergedVowels(e.phones);
    if (merged !== e.phones && !entries.some((x) => x.word === e.word && x.phones === merged)) {
      const n = entries.filter((x) => x.word === e.word).length + 1;
      entries.push({ word: e.word, entry: `${e.word}(${n})`, phones: merged });
    }
  }
  return { entries, phones: [...phones].sort() };
}

/** The cot-caught merger: AO before anything but R said as AA ("off" AA F, "long" L AA NG). */
export function mergedVowels(pron: string): string {
  return pron.replace(/\bAO\b(?! R\b)/g, 'AA');
}

/**
 * The lead-in's alternatives for the wake phrases `phrases` (words each): the whole phrase, its
 * last word, and that word's endings (its pronunciation less one, two, ... leading phones, at
 * least two left, added to `entries` as `lead_<word>_<n>`): a pre-roll usually holds only the
 * keyword's last few hundred milliseconds. A phrase with a word the dictionary lacks is left out.
 */
export function leadInAlternatives(phrases: string[][], entries: DictEntry[]): string[] {
  const out = new Set<string>();
  for (const words of phrases) {
    const last = words[words.length - 1];
    if (!last || !words.every((w) => entries.some((e) => e.word === w))) continue;
    out.add(words.join(' '));
    out.add(last);
    const phones = entries.find((e) => e.word === last)!.phones.split(/\s+/);
    for (let n = 1; phones.length - n >= 2; n++) {
      const word = `lead_${last.replace(/[^a-z0-9]/g, '')}_${n}`;
      if (!entries.some((e) => e.word === word)) entries.push({ word, entry: word, phones: phones.slice(n).join(' ') });
      out.add(word);
    }
  }
  return [...out];
}

/** The `count` most frequent words of ./common-words.ts with their unigram log10 probabilities. */
export function commonWords(count: number): Map<string, number> {
  // No word loop (the default): the list is not even split.
  if (count <= 0) return new Map();
  const tokens = COMMON_WORDS.trim().split(/\s+/);
  const out = new Map<string, number>();
  for (let i = 0; i + 1 < tokens.length && out.size < count; i += 2) out.set(tokens[i]!, Number(tokens[i + 1]));
  return out;
}

/**
 * The word loop as an ARPA unigram model: `common` (word -> log10 probability) and `own` (the
 * grammars' words, each at least as likely as the least likely common word), renormalised to
 * sum to one with the end of sentence, which keeps its share of the general model (about 7 %).
 * Only words `known` (in the decoder's dictionary) are listed: pocketsphinx searches no others.
 */
export function wordLoopArpa(common: Map<string, number>, own: Iterable<string>, known: (w: string) => boolean): string {
  const floor = Math.min(0, ...common.values());
  const probs = new Map<string, number>();
  for (const [w, p] of common) if (known(w)) probs.set(w, p);
  for (const w of own) if (known(w)) probs.set(w, Math.max(probs.get(w) ?? floor, floor));
  const END = 0.075;
  const total = [...probs.values()].reduce((a, p) => a + 10 ** p, 0);
  const norm = Math.log10(total / (1 - END));
  const lines = [...probs].map(([w, p]) => `${(p - norm).toFixed(4)} ${w}`);
  return ['\\data\\', `ngram 1=${lines.length + 2}`, '', '\\1-grams:', '-99.0000 <s>', `${Math.log10(END).toFixed(4)} </s>`, ...lines, '', '\\end\\', ''].join('\n');
}
