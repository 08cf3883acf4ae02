/** The time and the date: "what time is it", "what is the date today". */
import { numberWords, ordinalWords } from './numbers.js';
import type { GatewaySkill, SkillContext, SkillReply } from './types.js';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "eight oh five in the morning", "noon", "twelve thirty at night": words, so every voice reads it alike. */
export function timeWords(d: Date): string {
  const h = d.getHours();
  const m = d.getMinutes();
  if (m === 0 && h === 12) return 'noon';
  if (m === 0 && h === 0) return 'midnight';
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const minutes = m === 0 ? "o'clock" : m < 10 ? `oh ${numberWords(m)}` : numberWords(m);
  const part = h < 12 ? (h < 5 ? 'at night' : 'in the morning') : h < 18 ? 'in the afternoon' : h < 22 ? 'in the evening' : 'at night';
  return `${numberWords(h12)} ${minutes} ${part}`;
}

/** "Monday, the first of December". */
export function dateWords(d: Date): string {
  return `${DAYS[d.getDay()]}, the ${ordinalWords(d.getDate())} of ${MONTHS[d.getMonth()]}`;
}

export class TimeSkill implements GatewaySkill {
  readonly name = 'time';
  readonly help = 'ask me the time or the date';
  readonly grammar = {
    phrases: ['what time is it [now]', 'what is the time [now]', 'tell me the time', 'what is the date [today]', 'what date is it [today]', 'what day is it [today]', 'tell me the date'],
  };

  handle(text: string, ctx: SkillContext): SkillReply | undefined {
    const now = ctx.now();
    if (/\b(what|what's|whats|tell me)\b.*\btime\b/.test(text) && !/\btimer\b|\bleft\b/.test(text)) return { text: `It is ${timeWords(now)}.` };
    if (/\b(what|what's|whats|tell me)\b.*\b(date|day)\b/.test(text)) return { text: `Today is ${dateWords(now)}.` };
    return undefined;
  }
}
