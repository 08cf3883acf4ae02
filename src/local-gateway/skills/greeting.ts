/**
 * A question that asks back: "how are you" is answered with "How are you?" (prompt=true), and
 * the answer, heard without a wake word, gets its own reply. Also "what can you do".
 */
import type { FollowUp, GatewaySkill, SkillReply } from './types.js';

const GOOD = 'good | well | fine | great | ok | okay | alright';
const BAD = 'not so good | not good | not great | not well | tired | sad | bad';

export class GreetingSkill implements GatewaySkill {
  readonly name = 'greeting';
  readonly help = 'ask me how I am';
  readonly grammar = { phrases: ['how are you [doing] [today]', 'what can you do', 'help'] };
  readonly followUps = {
    mood: {
      phrases: ['[i am] [very | really | pretty] (<good> | <bad>) [thank you | thanks]', '(thank you | thanks) [i am] [very | really | pretty] <good>'],
      rules: { good: [GOOD], bad: [BAD] },
    },
  };

  /** Set by the assistant: what every skill can do, for "what can you do". */
  helpText = '';

  handle(text: string): SkillReply | undefined {
    if (/\bhow are you\b/.test(text)) return { text: 'I am very well, thank you. And how are you?', expect: this.#askMood() };
    if (/^(what can you do|help)$/.test(text)) return { text: this.helpText || 'I can answer a few questions.' };
    return undefined;
  }

  #askMood(): FollowUp {
    return {
      grammar: 'mood',
      answer: (text) => {
        if (new RegExp(`\\b(${BAD.replace(/ \| /g, '|')})\\b`).test(text)) return { text: 'Sorry to hear that. I hope the rest of your day is better.' };
        if (new RegExp(`\\b(${GOOD.replace(/ \| /g, '|')})\\b`).test(text)) return { text: 'Glad to hear it!' };
        return undefined;
      },
    };
  }
}
