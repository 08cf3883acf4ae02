/**
 * Volume: "turn the volume up", "quieter", "set the volume to fifty percent". The reply carries
 * the command as a `response` payload, `{"command": "volume", "change": 10}` or
 * `{"command": "volume", "percent": 50}`, which the agent applies to its speaker
 * (src/core/commands.ts); the gateway cannot know the device's volume, so changes are relative.
 */
import { NUMBER_RULES, readNumber } from './numbers.js';
import type { GatewaySkill, SkillReply } from './types.js';

/** Percentage points per "up" or "down". */
export const VOLUME_STEP = 10;

export class VolumeSkill implements GatewaySkill {
  readonly name = 'volume';
  readonly help = 'turn the volume up or down';
  readonly grammar = {
    phrases: [
      'turn (the volume | it) (up | down)',
      'turn (up | down) the volume',
      'volume (up | down)',
      '[a bit] (louder | quieter) [please]',
      'set the volume to <percent> [percent]',
    ],
    rules: NUMBER_RULES,
  };

  handle(text: string): SkillReply | undefined {
    const to = /\bvolume to (.+?)(?: percent)?$/.exec(text);
    if (to) {
      const n = readNumber(to[1]!.split(' '));
      if (!n || n.value > 100) return { text: 'The volume goes from zero to one hundred percent.' };
      return { text: `Setting the volume to ${n.value} percent.`, data: { command: 'volume', percent: n.value } };
    }
    const up = /\b(louder|turn (the volume |it )?up|turn up the volume|volume up)\b/.test(text);
    const down = /\b(quieter|turn (the volume |it )?down|turn down the volume|volume down)\b/.test(text);
    if (up === down) return undefined;
    return up
      ? { text: 'Turning the volume up.', data: { command: 'volume', change: VOLUME_STEP } }
      : { text: 'Turning the volume down.', data: { command: 'volume', change: -VOLUME_STEP } };
  }
}
