/**
 * Phrase templates: the sentences a recogniser may hear, written the way JSGF writes rule bodies.
 *
 *   set a timer for <duration>            words, and references to named rules
 *   turn (on | off) the [living room] light   (a | b) alternatives, [optional] parts
 *
 * Words are lower case (letters and apostrophes). One template language serves the local
 * gateway's skills and the pipeline skill's declared phrases; from it come the JSGF grammar
 * that constrains pocketsphinx (./pocketsphinx.ts), the word list for its dictionary, and an
 * exact matcher that tells whether a (partial) transcript is a complete sentence.
 */

export type PhraseNode =
  | { kind: 'word'; word: string }
  | { kind: 'rule'; name: string }
  | { kind: 'seq'; items: PhraseNode[] }
  | { kind: 'alt'; options: PhraseNode[] }
  | { kind: 'opt'; item: PhraseNode };

/** What a recogniser may hear: sentences, and the named rules they refer to. */
export interface GrammarSpec {
  phrases: string[];
  /** `<name>` -> its alternatives (templates themselves; no recursion). */
  rules?: Record<string, string[]>;
  /**
   * What may come before any sentence and is not part of it: the end of the wake word, which the
   * device's pre-roll carries into the utterance ("...jarvis, what time is it"). Recognised so
   * that it does not spoil the sentence, and dropped from the transcript (`stripLeadIn`). Each
   * alternative is a sequence of dictionary entries separated by spaces (not a template: the
   * recogniser may name pieces of words, e.g. the last syllables of "jarvis").
   */
  leadIn?: string[];
}

/** The longest garbage path, phones (about 4 s of speech). */
const GARBAGE_PHONES = 50;

/** The rule that holds a grammar's lead-in (a name no template can use: templates have no `~`). */
const LEAD_IN = 'lead-in';
const LEAD_IN_WORD = /^[a-z0-9_']+$/;

export class PhraseError extends Error {
  constructor(
    readonly template: string,
    message: string,
  ) {
    super(`phrase "${template}": ${message}`);
    this.name = 'PhraseError';
  }
}

const WORD = /^[a-z'][a-z'-]*$/;
const RULE_NAME = /^[a-z][a-z0-9_.-]*$/;

function tokenize(template: string): string[] {
  return template.match(/<[^>]*>|[()[\]|]|[^\s()[\]|<>]+|[<>]/g) ?? [];
}

/** Parses one template. Throws PhraseError naming the template and the problem. */
export function parsePhrase(template: string): PhraseNode {
  const tokens = tokenize(template.trim());
  let i = 0;
  const fail = (msg: string): never => {
    throw new PhraseError(template, msg);
  };
  const parseAlts = (close: string | undefined): PhraseNode => {
    const options: PhraseNode[] = [parseSeq()];
    while (tokens[i] === '|') {
      i++;
      options.push(parseSeq());
    }
    if (close !== undefined) {
      if (tokens[i] !== close) fail(`missing "${close}"`);
      i++;
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options };
  };
  const parseSeq = (): PhraseNode => {
    const items: PhraseNode[] = [];
    for (;;) {
      const t = tokens[i];
      if (t === undefined || t === '|' || t === ')' || t === ']') break;
      i++;
      if (t === '(') items.push(parseAlts(')'));
      else if (t === '[') items.push({ kind: 'opt', item: parseAlts(']') });
      else if (t.startsWith('<')) {
        const name = t.slice(1, -1);
        if (!t.endsWith('>') || !RULE_NAME.test(name)) fail(`bad rule reference "${t}" (use <name>, lower case)`);
        items.push({ kind: 'rule', name });
      } else if (WORD.test(t)) items.push({ kind: 'word', word: t });
      else fail(`"${t}" is not a word: use lower-case letters (spell numbers out: "five", not "5")`);
    }
    if (!items.length) fail('empty alternative');
    return items.length === 1 ? items[0]! : { kind: 'seq', items };
  };
  if (!tokens.length) fail('empty');
  const node = parseAlts(undefined);
  if (i < tokens.length) fail(`unexpected "${tokens[i]}"`);
  return node;
}

/** A parsed grammar: phrases and rules, with every reference checked. */
export class Grammar {
  /** The sentences, each after the optional lead-in when there is one. */
  readonly phrases: PhraseNode[];
  /** The sentences without the lead-in. */
  readonly #core: PhraseNode[];
  readonly rules = new Map<string, PhraseNode>();

  constructor(readonly spec: GrammarSpec) {
    if (!spec.phrases.length) throw new PhraseError('', 'a grammar needs at least one phrase');
    for (const [name, alts] of Object.entries(spec.rules ?? {})) {
      if (!RULE_NAME.test(name)) throw new PhraseError(`<${name}>`, 'rule names are lower case letters, digits, "_", "-" or "."');
      if (!alts.length) throw new PhraseError(`<${name}>`, 'a rule needs at least one alternative');
      const options = alts.map(parsePhrase);
      this.rules.set(name, options.length === 1 ? options[0]! : { kind: 'alt', options });
    }
    this.#core = spec.phrases.map(parsePhrase);
    if (spec.leadIn?.length) {
      if (this.rules.has(LEAD_IN)) throw new PhraseError(`<${LEAD_IN}>`, 'is reserved for the lead-in');
      const options = spec.leadIn.map((alt): PhraseNode => {
        const words = alt.split(' ').filter(Boolean);
        if (!words.length || !words.every((w) => LEAD_IN_WORD.test(w))) throw new PhraseError(alt, 'a lead-in is dictionary entries (lower case, digits, "_", "\'") separated by spaces');
        return words.length === 1 ? { kind: 'word', word: words[0]! } : { kind: 'seq', items: words.map((word) => ({ kind: 'word', word })) };
      });
      this.rules.set(LEAD_IN, options.length === 1 ? options[0]! : { kind: 'alt', options });
      const lead: PhraseNode = { kind: 'opt', item: { kind: 'rule', name: LEAD_IN } };
      this.phrases = this.#core.map((p) => ({ kind: 'seq', items: [lead, p] }));
    } else {
      this.phrases = this.#core;
    }
    const visiting = new Set<string>();
    const check = (n: PhraseNode, where: string): void => {
      if (n.kind === 'rule') {
        const body = this.rules.get(n.name);
        if (!body) throw new PhraseError(where, `unknown rule <${n.name}>`);
        if (visiting.has(n.name)) throw new PhraseError(where, `rule <${n.name}> refers to itself`);
        visiting.add(n.name);
        check(body, where);
        visiting.delete(n.name);
      } else if (n.kind === 'seq') n.items.forEach((c) => check(c, where));
      else if (n.kind === 'alt') n.options.forEach((c) => check(c, where));
      else if (n.kind === 'opt') check(n.item, where);
    };
    this.phrases.forEach((p, k) => check(p, spec.phrases[k]!));
  }

  /**
   * `text` without a lead-in before its sentence: "jarvis what time is it" -> "what time is it".
   * Text that is a sentence as it stands, or that matches no sentence, comes back unchanged.
   */
  stripLeadIn(text: string): string {
    const lead = this.rules.get(LEAD_IN);
    const tokens = normalizeText(text).split(' ').filter(Boolean);
    if (!lead || !tokens.length) return text;
    const isSentence = (from: number) => this.#core.some((p) => this.#ends(p, tokens, from).has(tokens.length));
    if (isSentence(0)) return text;
    for (const e of [...this.#ends(lead, tokens, 0)].sort((a, b) => a - b)) {
      if (e > 0 && e < tokens.length && isSentence(e)) return tokens.slice(e).join(' ');
    }
    return text;
  }

  /** Every word any sentence may contain (for the pronunciation dictionary). */
  words(): Set<string> {
    const out = new Set<string>();
    const walk = (n: PhraseNode): void => {
      if (n.kind === 'word') out.add(n.word);
      else if (n.kind === 'seq') n.items.forEach(walk);
      else if (n.kind === 'alt') n.options.forEach(walk);
      else if (n.kind === 'opt') walk(n.item);
    };
    this.phrases.forEach(walk);
    this.rules.forEach(walk);
    return out;
  }

  /**
   * The grammar in JSGF 1.0, with `<utterance>` as its one public rule. With `garbage`, the rule
   * also has a path for speech that is no sentence: any beginning of a sentence (whole words,
   * possibly none) followed by a loop of `garbage.words` (the phone loop's single-phone entries),
   * that path weighted `garbage.weight` against the sentences'. Speech that starts as a request
   * and goes on as something else ("what is the date of easter") then decodes as "what is the
   * date ph_ah ph_v ..." and is no sentence: rejected by its structure, not by the score ratio.
   */
  toJsgf(name = 'speaker', garbage?: { words: string[]; weight: number }): string {
    const ruleId = (r: string) => `r_${r.replace(/[^a-z0-9_]/g, '_')}`;
    const body = (n: PhraseNode): string => {
      switch (n.kind) {
        case 'word':
          return n.word;
        case 'rule':
          return `<${ruleId(n.name)}>`;
        case 'seq':
          return n.items.map(body).join(' ');
        case 'alt':
          return `(${n.options.map(body).join(' | ')})`;
        case 'opt':
          return `[${body(n.item)}]`;
      }
    };
    // Every non-empty beginning of `n` that ends at a word boundary (the whole of `n` included).
    const prefix = (n: PhraseNode): string => {
      switch (n.kind) {
        case 'word':
          return n.word;
        case 'rule':
          return `<p_${ruleId(n.name)}>`;
        case 'opt':
          return prefix(n.item);
        case 'alt':
          return `(${n.options.map(prefix).join(' | ')})`;
        case 'seq':
          return `(${n.items.map((item, k) => [...n.items.slice(0, k).map(body), prefix(item)].join(' ')).join(' | ')})`;
      }
    };
    const lines = ['#JSGF V1.0;', `grammar ${name.replace(/[^A-Za-z0-9_]/g, '_')};`];
    let sentences = this.#core.map((p) => `(${body(p)})`).join(' | ');
    if (garbage?.words.length) {
      sentences = `(${sentences}) | ([${this.#core.map(prefix).join(' | ')}] <garbage>)`;
    }
    lines.push(`public <utterance> = ${this.rules.has(LEAD_IN) && this.spec.leadIn?.length ? `[<${ruleId(LEAD_IN)}>] (${sentences})` : sentences};`);
    for (const [r, n] of this.rules) lines.push(`<${ruleId(r)}> = ${body(n)};`);
    if (garbage?.words.length) {
      // Plain decimals (JSGF has no exponents), six significant digits.
      const weight = (w: number) => `/${w.toFixed(Math.min(100, Math.max(0, 6 - Math.floor(Math.log10(w))))).replace(/\.?0+$/, '')}/`;
      for (const [r, n] of this.rules) if (r !== LEAD_IN) lines.push(`<p_${ruleId(r)}> = ${prefix(n)};`);
      // The weight on each phone (word atoms keep their weights in pocketsphinx's FSG; a group's are lost).
      // Up to GARBAGE_PHONES phones as nested optional parts, not `+`: this pocketsphinx's JSGF
      // compiler sends a repetition's loop back to the state the rule was entered from, which the
      // sentences share (it decoded "ph_dh what is the date today" with `(sentences) | <garbage>`).
      lines.push(`<gphone> = ${garbage.words.map((w) => `${weight(garbage.weight)} ${w}`).join(' | ')};`);
      lines.push(`<garbage> = ${'<gphone> ['.repeat(GARBAGE_PHONES - 1)}<gphone>${']'.repeat(GARBAGE_PHONES - 1)};`);
    }
    return lines.join('\n') + '\n';
  }

  /** True when `text` (normalised words) is one complete sentence of the grammar. */
  matches(text: string): boolean {
    const tokens = normalizeText(text).split(' ').filter(Boolean);
    if (!tokens.length) return false;
    return this.phrases.some((p) => this.#ends(p, tokens, 0).has(tokens.length));
  }

  /** Positions where `n` can end when it starts at `at`. */
  #ends(n: PhraseNode, tokens: string[], at: number): Set<number> {
    switch (n.kind) {
      case 'word':
        return tokens[at] === n.word ? new Set([at + 1]) : new Set();
      case 'rule':
        return this.#ends(this.rules.get(n.name)!, tokens, at);
      case 'opt':
        return new Set([at, ...this.#ends(n.item, tokens, at)]);
      case 'alt': {
        const out = new Set<number>();
        for (const o of n.options) for (const e of this.#ends(o, tokens, at)) out.add(e);
        return out;
      }
      case 'seq': {
        let here = new Set([at]);
        for (const item of n.items) {
          const next = new Set<number>();
          for (const p of here) for (const e of this.#ends(item, tokens, p)) next.add(e);
          here = next;
          if (!here.size) break;
        }
        return here;
      }
    }
  }

  /**
   * One sentence of the grammar, picked at random by `rand` (0 <= x < 1): each alternative and
   * each optional part equally likely. For tests and benchmarks that need sentences to say.
   */
  sample(rand: () => number, phrase?: number): string {
    const pick = <T>(xs: T[]): T => xs[Math.min(xs.length - 1, Math.floor(rand() * xs.length))]!;
    const out: string[] = [];
    const walk = (n: PhraseNode): void => {
      if (n.kind === 'word') out.push(n.word);
      else if (n.kind === 'rule') walk(this.rules.get(n.name)!);
      else if (n.kind === 'seq') n.items.forEach(walk);
      else if (n.kind === 'alt') walk(pick(n.options));
      else if (rand() < 0.5) walk(n.item);
    };
    walk(phrase === undefined ? pick(this.#core) : this.#core[phrase]!);
    return out.join(' ');
  }

  /** Several grammars as one (phrases and rules together; a rule defined twice must agree). */
  static merge(...specs: GrammarSpec[]): GrammarSpec {
    const rules: Record<string, string[]> = {};
    for (const s of specs) {
      for (const [k, v] of Object.entries(s.rules ?? {})) {
        if (rules[k] && rules[k].join('|') !== v.join('|')) throw new PhraseError(`<${k}>`, 'defined twice, differently');
        rules[k] = v;
      }
    }
    return { phrases: [...new Set(specs.flatMap((s) => s.phrases))], rules };
  }
}

/**
 * Lower-case words separated by single spaces: punctuation goes, apostrophes inside words stay
 * ("What's the time?" -> "what's the time"), digits stay (a cloud recogniser may write "5"),
 * and so do underscores (the recogniser's lead-in pieces, such as lead_jarvis_2).
 */
export function normalizeText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[^a-z0-9'_ ]+/g, ' ')
    .replace(/(^|\s)'+|'+(?=\s|$)/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
