/**
 * Numbers as words, for grammars ("twenty five") and for reading transcripts back, which may
 * spell numbers out (the local recogniser always does) or write digits (a cloud service).
 */

const UNITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const TEENS = ['ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const ORDINALS = ['zeroth', 'first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'eleventh', 'twelfth', 'thirteenth', 'fourteenth', 'fifteenth', 'sixteenth', 'seventeenth', 'eighteenth', 'nineteenth'];

/**
 * Grammar rules for the numbers people say to a speaker: `<count>` for durations (one to ten,
 * then the round ones up to ninety) and `<percent>` (ten to one hundred in tens, and the
 * quarters). Fewer numbers means fewer near-homophones: "thirteen" and "thirty", "sixteen" and
 * "sixty" were the commonest errors when the grammar had every number up to ninety-nine.
 */
export const NUMBER_RULES: Record<string, string[]> = {
  count: ['one | two | three | four | five | six | seven | eight | nine | ten | fifteen | twenty | twenty five | thirty | forty | forty five | fifty | sixty | ninety'],
  percent: ['ten | twenty | twenty five | thirty | forty | fifty | sixty | seventy | seventy five | eighty | ninety | one hundred'],
};

/** 0-999 in words: 25 -> "twenty five", 100 -> "one hundred". */
export function numberWords(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 999) return String(n);
  if (n < 10) return UNITS[n]!;
  if (n < 20) return TEENS[n - 10]!;
  if (n < 100) return TENS[Math.floor(n / 10)]! + (n % 10 ? ` ${UNITS[n % 10]}` : '');
  const rest = n % 100;
  return `${UNITS[Math.floor(n / 100)]} hundred${rest ? ` ${numberWords(rest)}` : ''}`;
}

/** 1-31 as an ordinal: 21 -> "twenty first". */
export function ordinalWords(n: number): string {
  if (n < 20) return ORDINALS[n] ?? String(n);
  const tens = Math.floor(n / 10);
  if (n % 10 === 0) return `${TENS[tens]!.replace(/y$/, 'ie')}th`;
  return `${TENS[tens]} ${ORDINALS[n % 10]}`;
}

/**
 * Reads a number at the start of `words` (digits, or one to ninety-nine, or "one hundred");
 * returns the value and how many words it took, or undefined.
 */
export function readNumber(words: string[]): { value: number; used: number } | undefined {
  const w = words[0];
  if (w === undefined) return undefined;
  if (/^\d+$/.test(w)) return { value: Number(w), used: 1 };
  if (w === 'a' || w === 'an') return words[1] === 'hundred' ? { value: 100, used: 2 } : undefined;
  let i = UNITS.indexOf(w);
  if (i > 0) return words[1] === 'hundred' ? { value: i * 100, used: 2 } : { value: i, used: 1 };
  i = TEENS.indexOf(w);
  if (i >= 0) return { value: 10 + i, used: 1 };
  i = TENS.indexOf(w);
  if (i >= 2) {
    const unit = UNITS.indexOf(words[1] ?? '');
    return unit > 0 ? { value: i * 10 + unit, used: 2 } : { value: i * 10, used: 1 };
  }
  return undefined;
}
