/**
 * Lights by room: "turn on the kitchen light", "turn the bedroom lights off", "is the office
 * light on". The skill answers at once ("OK, turning on the kitchen light.") and, like a real
 * home-automation hub reporting back, says a moment later that the light is now on: an
 * unsolicited reply. "Turn on the light" with no room asks which one.
 */
import type { FollowUp, GatewaySkill, SkillContext, SkillReply } from './types.js';

export const ROOMS = ['kitchen', 'bedroom', 'living room', 'bathroom', 'office'] as const;
export type Room = (typeof ROOMS)[number];

const RULES = { room: [ROOMS.join(' | ')], lamp: ['light | lights'] };

export interface LightsOptions {
  /** How long the (simulated) light takes to report back, ms (default 1500). */
  reportDelayMs?: number;
}

export class LightsSkill implements GatewaySkill {
  readonly name = 'lights';
  readonly help = 'turn a light on or off';
  readonly grammar = {
    phrases: [
      '(turn | switch) (on | off) the <room> <lamp>',
      '(turn | switch) the <room> <lamp> (on | off)',
      '(turn | switch) (on | off) the <lamp>',
      '(turn | switch) the <lamp> (on | off)',
      'is the <room> light (on | off)',
    ],
    rules: RULES,
  };
  readonly followUps = { room: { phrases: ['[the] <room> [<lamp>]', 'never mind'], rules: RULES } };
  /** Which lights are on. */
  readonly on = new Set<Room>();
  readonly #delayMs: number;

  constructor(options: LightsOptions = {}) {
    this.#delayMs = options.reportDelayMs ?? 1500;
  }

  handle(text: string, ctx: SkillContext): SkillReply | undefined {
    if (!/\blights?\b/.test(text)) return undefined;
    const room = findRoom(text);
    const asks = /^is the /.test(text);
    if (asks && room) {
      return { text: `The ${room} light is ${this.on.has(room) ? 'on' : 'off'}.` };
    }
    const m = /\b(turn|switch)\b.*\b(on|off)\b/.exec(text);
    if (!m) return undefined;
    const wantOn = m[2] === 'on';
    if (!room) return { text: 'Which light: the kitchen, bedroom, living room, bathroom or office?', expect: this.#askRoom(wantOn) };
    return this.#switch(room, wantOn, ctx);
  }

  #askRoom(wantOn: boolean): FollowUp {
    return {
      grammar: 'room',
      answer: (text, ctx) => {
        if (/\bnever mind\b/.test(text)) return { text: 'OK.' };
        const room = findRoom(text);
        return room ? this.#switch(room, wantOn, ctx) : undefined;
      },
    };
  }

  #switch(room: Room, wantOn: boolean, ctx: SkillContext): SkillReply {
    const state = wantOn ? 'on' : 'off';
    if (this.on.has(room) === wantOn) return { text: `The ${room} light is already ${state}.` };
    if (wantOn) this.on.add(room);
    else this.on.delete(room);
    ctx.announce(`The ${room} light is now ${state}.`, this.#delayMs);
    return { text: `OK, turning ${state} the ${room} light.` };
  }
}

function findRoom(text: string): Room | undefined {
  return ROOMS.find((r) => new RegExp(`\\b${r}\\b`).test(text));
}
