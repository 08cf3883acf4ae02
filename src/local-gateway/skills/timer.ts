/**
 * Timers: "set a timer for five minutes" (or "set a timer", then the answer to "For how long?"),
 * "cancel the timer", "how much time is left". When one goes off, the gateway says so to the
 * device unsolicited.
 */
import { NUMBER_RULES, numberWords, readNumber } from './numbers.js';
import type { FollowUp, GatewaySkill, SkillContext, SkillReply } from './types.js';

const UNIT_SECONDS: Record<string, number> = { second: 1, minute: 60, hour: 3600 };
const MAX_SECONDS = 24 * 3600;

const RULES = {
  ...NUMBER_RULES,
  duration: ['<count> (seconds | minutes | hours)', '(a | one) (second | minute)', '(an | one) hour'],
};

/** Reads "five minutes", "a minute", "1 hour", "an hour" in `text`; seconds, or undefined. */
export function readDuration(text: string): number | undefined {
  const words = text.split(' ');
  for (let i = 0; i < words.length; i++) {
    let value: number | undefined;
    let used = 0;
    if (words[i] === 'a' || words[i] === 'an') {
      value = 1;
      used = 1;
    } else {
      const n = readNumber(words.slice(i));
      if (n) ({ value, used } = n);
    }
    const unit = words[i + used]?.replace(/s$/, '');
    if (value !== undefined && unit && UNIT_SECONDS[unit]) return value * UNIT_SECONDS[unit];
  }
  return undefined;
}

/** 330 -> "five minutes and thirty seconds". */
export function durationWords(seconds: number): string {
  const parts: string[] = [];
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  const say = (n: number, unit: string) => `${numberWords(n)} ${unit}${n === 1 ? '' : 's'}`;
  if (h) parts.push(say(h, 'hour'));
  if (m) parts.push(say(m, 'minute'));
  if (s || !parts.length) parts.push(say(s, 'second'));
  return parts.join(' and ');
}

interface Running {
  endsAt: number;
  seconds: number;
  cancel(): void;
}

export class TimerSkill implements GatewaySkill {
  readonly name = 'timer';
  readonly help = 'set a timer';
  readonly grammar = {
    phrases: [
      '(set | start) a timer for <duration>',
      '(set | start) a <count> (second | minute | hour) timer',
      '(set | start) a timer',
      '(cancel | stop) the timer',
      'how much time is left',
      'how long is left [on the timer]',
    ],
    rules: RULES,
  };
  readonly followUps = { duration: { phrases: ['[for] <duration>', 'never mind'], rules: RULES } };
  readonly #timers = new Set<Running>();

  handle(text: string, ctx: SkillContext): SkillReply | undefined {
    if (/\b(cancel|stop)\b.*\btimers?\b/.test(text)) return this.#cancel();
    if (/\bhow (much time|long)\b.*\bleft\b/.test(text)) return this.#left(ctx);
    if (!/\b(set|start)\b.*\btimer\b/.test(text)) return undefined;
    const seconds = readDuration(text);
    if (seconds === undefined) return { text: 'For how long?', expect: this.#askDuration() };
    return this.#start(seconds, ctx);
  }

  close(): void {
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
  }

  #askDuration(): FollowUp {
    return {
      grammar: 'duration',
      answer: (text, ctx) => {
        if (/\bnever mind\b/.test(text)) return { text: 'OK, no timer.' };
        const seconds = readDuration(text);
        return seconds === undefined ? undefined : this.#start(seconds, ctx);
      },
    };
  }

  #start(seconds: number, ctx: SkillContext): SkillReply {
    if (seconds <= 0 || seconds > MAX_SECONDS) return { text: 'I can only set timers of up to a day.' };
    const words = durationWords(seconds);
    const running: Running = { endsAt: ctx.now().getTime() + seconds * 1000, seconds, cancel: () => undefined };
    const announcement = ctx.announce(`Your timer for ${words} is done.`, seconds * 1000);
    running.cancel = () => announcement.cancel();
    this.#timers.add(running);
    // Forget it once it went off (the announcement itself may wait for a turn to finish).
    const forget = setTimeout(() => this.#timers.delete(running), seconds * 1000);
    forget.unref();
    const cancel = running.cancel;
    running.cancel = () => {
      clearTimeout(forget);
      cancel();
    };
    return { text: `OK, a timer for ${words}, starting now.` };
  }

  #cancel(): SkillReply {
    if (!this.#timers.size) return { text: 'There is no timer running.' };
    const n = this.#timers.size;
    this.close();
    return { text: n === 1 ? 'OK, I canceled the timer.' : `OK, I canceled ${numberWords(n)} timers.` };
  }

  #left(ctx: SkillContext): SkillReply {
    const now = ctx.now().getTime();
    const next = [...this.#timers].filter((t) => t.endsAt > now).sort((a, b) => a.endsAt - b.endsAt)[0];
    if (!next) return { text: 'There is no timer running.' };
    return { text: `About ${durationWords(Math.max(1, Math.round((next.endsAt - now) / 1000)))} left.` };
  }
}
