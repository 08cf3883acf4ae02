/**
 * The local gateway's answers: routes what was heard (or typed) to its skills, keeps each
 * device's open question (a follow-up), and says honestly when it did not understand. It also
 * makes the recogniser's grammars from the skills' sentences: `default` for a new request, and
 * one per question a skill may ask (the expected answers plus every request, since the user may
 * change the subject).
 */
import { normalizeText, Grammar, type GrammarSpec } from '../speech/phrases.js';
import { GreetingSkill } from './skills/greeting.js';
import { LightsSkill, type LightsOptions } from './skills/lights.js';
import { TimeSkill } from './skills/time.js';
import { TimerSkill } from './skills/timer.js';
import type { FollowUp, GatewaySkill, SkillContext, SkillReply } from './skills/types.js';
import { VolumeSkill } from './skills/volume.js';

export type { GatewaySkill, SkillContext, SkillReply } from './skills/types.js';

/** The built-in skills: time and date, timers, lights, volume, and a greeting that asks back. */
export function builtinSkills(options: { lights?: LightsOptions } = {}): GatewaySkill[] {
  return [new TimeSkill(), new TimerSkill(), new LightsSkill(options.lights), new VolumeSkill(), new GreetingSkill()];
}

/**
 * The recogniser's grammars for `skills`: `default` (every request), and `<skill>.<question>`
 * for each question a skill may ask (its expected answers, and every request too).
 */
export function skillGrammars(skills: readonly GatewaySkill[]): Record<string, GrammarSpec> {
  const requests = Grammar.merge(...skills.map((s) => s.grammar));
  const out: Record<string, GrammarSpec> = { default: requests };
  for (const s of skills) {
    for (const [key, spec] of Object.entries(s.followUps ?? {})) out[`${s.name}.${key}`] = Grammar.merge(spec, requests);
  }
  return out;
}

/** One device's conversation: the question it was asked, if any. */
export interface Conversation {
  pending?: { skill: string; followUp: FollowUp };
}

/** How the words of a request were obtained. */
export type Heard =
  | { kind: 'typed'; text: string }
  | { kind: 'recognized'; text: string }
  /** Speech that matched no sentence well enough (a grammar-constrained recogniser). */
  | { kind: 'rejected' }
  /** Listening ended with no words. */
  | { kind: 'silence' }
  /** The gateway has no recogniser. */
  | { kind: 'off'; reason: string };

export interface Answer extends SkillReply {
  /** Which skill answered (`none` when none did). */
  skill: string;
  /** The reply asks a question (prompt=true). */
  prompt: boolean;
}

export class Assistant {
  readonly #skills: GatewaySkill[];

  constructor(skills: GatewaySkill[]) {
    this.#skills = skills;
    const names = new Set<string>();
    for (const s of skills) {
      if (names.has(s.name)) throw new Error(`two skills are named "${s.name}"`);
      names.add(s.name);
    }
    const greeting = skills.find((s): s is GreetingSkill => s instanceof GreetingSkill);
    if (greeting) greeting.helpText = `You can ${this.#helpList()}.`;
  }

  get skills(): readonly GatewaySkill[] {
    return this.#skills;
  }

  /** The recogniser's grammars for these skills; see skillGrammars(). */
  grammars(): Record<string, GrammarSpec> {
    return skillGrammars(this.#skills);
  }

  /** The grammar the next utterance of this conversation is recognised with. */
  grammarFor(conv: Conversation): string {
    return conv.pending ? `${conv.pending.skill}.${conv.pending.followUp.grammar}` : 'default';
  }

  /** The reply to one request; updates the conversation's open question. */
  answer(heard: Heard, conv: Conversation, ctx: SkillContext): Answer {
    const pending = conv.pending;
    conv.pending = undefined;
    switch (heard.kind) {
      case 'off':
        return { skill: 'none', prompt: false, text: `Speech recognition is off on this gateway: ${heard.reason}.` };
      case 'silence':
        return { skill: 'none', prompt: false, text: 'I did not hear anything.' };
      case 'rejected':
        return { skill: 'none', prompt: false, text: `Sorry, I did not understand that. You can ${this.#helpList()}.` };
    }
    const text = normalizeText(heard.text);
    if (pending) {
      const r = pending.followUp.answer(text, ctx);
      if (r) return this.#finish(pending.skill, r, conv);
    }
    for (const s of this.#skills) {
      const r = s.handle(text, ctx);
      if (r) return this.#finish(s.name, r, conv);
    }
    // A typed request or a cloud recogniser's free dictation: say what arrived, and that no skill does it.
    const what = heard.kind === 'typed' ? 'You typed' : 'I heard';
    return { skill: 'none', prompt: false, text: `${what} "${text}", but I cannot help with that. You can ${this.#helpList()}.` };
  }

  close(): void {
    for (const s of this.#skills) s.close?.();
  }

  #finish(skill: string, r: SkillReply, conv: Conversation): Answer {
    if (r.expect) conv.pending = { skill, followUp: r.expect };
    return { ...r, skill, prompt: !!r.expect };
  }

  #helpList(): string {
    const helps = this.#skills.filter((s) => !(s instanceof GreetingSkill)).map((s) => s.help);
    if (helps.length < 2) return helps[0] ?? 'ask me something';
    return `${helps.slice(0, -1).join(', ')}, or ${helps.at(-1)}`;
  }
}
