/**
 * Phrase templates (the recogniser's grammar language), the local gateway's skills and its
 * assistant, without audio: every sentence a skill's grammar allows is a request that skill
 * answers, and what is not understood gets an honest reply.
 */
import { describe, expect, it } from 'vitest';
import { Assistant, builtinSkills, skillGrammars, type Conversation } from '../../src/local-gateway/assistant.js';
import { readNumber, numberWords, ordinalWords } from '../../src/local-gateway/skills/numbers.js';
import { dateWords, timeWords } from '../../src/local-gateway/skills/time.js';
import { durationWords, readDuration } from '../../src/local-gateway/skills/timer.js';
import { Grammar, normalizeText, parsePhrase, PhraseError } from '../../src/speech/phrases.js';

function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

describe('phrase templates', () => {
  const g = new Grammar({ phrases: ['turn (on | off) the [living room] light', 'set a timer for <n> minutes'], rules: { n: ['one | two | twenty [five]'] } });

  it('match whole sentences only, with alternatives, optional parts and rules', () => {
    for (const s of ['turn on the light', 'turn off the living room light', 'set a timer for twenty five minutes', 'Set a timer for two minutes.']) expect(g.matches(s), s).toBe(true);
    for (const s of ['turn on the', 'turn the light', 'set a timer for three minutes', 'turn on the light please', '']) expect(g.matches(s), s).toBe(false);
  });

  it('become JSGF with one public rule and the named rules', () => {
    const jsgf = g.toJsgf('test');
    expect(jsgf).toContain('#JSGF V1.0;');
    expect(jsgf).toContain('public <utterance> = (turn (on | off) the [living room] light) | (set a timer for <r_n> minutes);');
    expect(jsgf).toContain('<r_n> = (one | two | twenty [five]);');
    expect([...g.words()].sort()).toEqual(['a', 'five', 'for', 'light', 'living', 'minutes', 'off', 'on', 'one', 'room', 'set', 'the', 'timer', 'turn', 'twenty', 'two']);
  });

  it('become JSGF with a garbage path: any beginning of a sentence, then up to 50 weighted phones', () => {
    const jsgf = g.toJsgf('test', { words: ['ph_aa', 'ph_b'], weight: 1e-16 });
    expect(jsgf).toContain(
      'public <utterance> = ((turn (on | off) the [living room] light) | (set a timer for <r_n> minutes)) | ([(turn | turn (on | off) | turn (on | off) the | turn (on | off) the (living | living room) | turn (on | off) the [living room] light) | (set | set a | set a timer | set a timer for | set a timer for <p_r_n> | set a timer for <r_n> minutes)] <garbage>);',
    );
    expect(jsgf).toContain('<p_r_n> = (one | two | (twenty | twenty five));');
    expect(jsgf).toContain('<gphone> = /0.0000000000000001/ ph_aa | /0.0000000000000001/ ph_b;');
    const garbage = /<garbage> = (.*);/.exec(jsgf)![1]!;
    expect(garbage.match(/<gphone>/g)).toHaveLength(50);
    expect(garbage).not.toMatch(/[+*]/);
    // What takes the garbage path is no sentence.
    expect(g.matches('turn on the ph_aa ph_b')).toBe(false);
  });

  it('say what is wrong with a bad template', () => {
    expect(() => parsePhrase('set a timer for 5 minutes')).toThrow(/"5" is not a word: .*spell numbers out/);
    expect(() => parsePhrase('turn (on | off the light')).toThrow(/missing "\)"/);
    expect(() => parsePhrase('turn on | | off')).toThrow(/empty alternative/);
    expect(() => new Grammar({ phrases: ['say <x>'] })).toThrow(/unknown rule <x>/);
    expect(() => new Grammar({ phrases: ['say <x>'], rules: { x: ['a <x>'] } })).toThrow(/refers to itself/);
    expect(() => Grammar.merge({ phrases: ['a'], rules: { r: ['x'] } }, { phrases: ['b'], rules: { r: ['y'] } })).toThrow(PhraseError);
  });

  it('normalise transcripts from any recogniser', () => {
    expect(normalizeText("  What's the TIME?  ")).toBe("what's the time");
    expect(normalizeText('Set a timer for 5 minutes, please.')).toBe('set a timer for 5 minutes please');
    expect(normalizeText("'quoted' words")).toBe('quoted words');
  });
});

describe('a lead-in before the sentences (the end of a wake word)', () => {
  const g = new Grammar({ phrases: ['what time is it', 'hey there'], leadIn: ['hey jarvis', 'jarvis', 'lead_jarvis_2'] });

  it('may come before any sentence, in the grammar and in the matcher, and never alone', () => {
    expect(g.toJsgf('t')).toContain('public <utterance> = [<r_lead_in>] ((what time is it) | (hey there));');
    expect(g.toJsgf('t')).toContain('<r_lead_in> = (hey jarvis | jarvis | lead_jarvis_2);');
    for (const t of ['what time is it', 'jarvis what time is it', 'hey jarvis what time is it', 'lead_jarvis_2 hey there']) expect(g.matches(t), t).toBe(true);
    for (const t of ['jarvis', 'hey jarvis', 'what time is it jarvis', 'jarvis jarvis what time is it']) expect(g.matches(t), t).toBe(false);
    expect(g.words()).toContain('lead_jarvis_2');
  });

  it('is dropped from the transcript; a sentence that only looks like one keeps its words', () => {
    expect(g.stripLeadIn('hey jarvis what time is it')).toBe('what time is it');
    expect(g.stripLeadIn('lead_jarvis_2 what time is it')).toBe('what time is it');
    expect(g.stripLeadIn('jarvis hey there')).toBe('hey there');
    expect(g.stripLeadIn('hey there')).toBe('hey there');
    expect(g.stripLeadIn('play some jazz')).toBe('play some jazz');
    expect(new Grammar({ phrases: ['what time is it'] }).stripLeadIn('jarvis what time is it')).toBe('jarvis what time is it');
  });

  it('never samples it, and refuses what is not dictionary entries', () => {
    for (let i = 0; i < 20; i++) expect(g.sample(() => (i % 10) / 10)).not.toMatch(/jarvis/);
    expect(() => new Grammar({ phrases: ['hi'], leadIn: ['Hey Jarvis!'] })).toThrow(PhraseError);
    expect(() => new Grammar({ phrases: ['hi'], rules: { 'lead-in': ['x'] }, leadIn: ['jarvis'] })).toThrow(/reserved/);
  });
});

describe('numbers, durations and times as words', () => {
  it('reads and writes them', () => {
    expect(readNumber(['twenty', 'five', 'minutes'])).toEqual({ value: 25, used: 2 });
    expect(readNumber(['one', 'hundred'])).toEqual({ value: 100, used: 2 });
    expect(readNumber(['12'])).toEqual({ value: 12, used: 1 });
    expect(readNumber(['timer'])).toBeUndefined();
    expect(numberWords(45)).toBe('forty five');
    expect(ordinalWords(1)).toBe('first');
    expect(ordinalWords(22)).toBe('twenty second');
    expect(ordinalWords(30)).toBe('thirtieth');
    expect(readDuration('set a timer for five minutes')).toBe(300);
    expect(readDuration('set a ninety second timer')).toBe(90);
    expect(readDuration('set a timer for an hour')).toBe(3600);
    expect(readDuration('set a timer for 2 minutes')).toBe(120);
    expect(readDuration('set a timer')).toBeUndefined();
    expect(durationWords(330)).toBe('five minutes and thirty seconds');
    expect(durationWords(1)).toBe('one second');
    expect(timeWords(new Date(2026, 0, 5, 8, 5))).toBe('eight oh five in the morning');
    expect(timeWords(new Date(2026, 0, 5, 12, 0))).toBe('noon');
    expect(timeWords(new Date(2026, 0, 5, 19, 30))).toBe('seven thirty in the evening');
    expect(dateWords(new Date(2026, 0, 5))).toBe('Monday, the fifth of January');
  });
});

describe('the built-in skills', () => {
  const fixedNow = () => new Date(2026, 11, 1, 9, 41);

  it('answer every sentence their grammar allows (grammar and handler agree)', () => {
    const skills = builtinSkills();
    const ctx = { now: fixedNow, announce: () => ({ cancel: () => undefined }) };
    const r = rng(3);
    for (const skill of skills) {
      const g = new Grammar(skill.grammar);
      for (let k = 0; k < g.phrases.length; k++) {
        for (let i = 0; i < 30; i++) {
          const s = g.sample(r, k);
          expect(skill.handle(s, ctx), `${skill.name}: "${s}"`).toBeDefined();
          // ...and no other skill claims it first.
          const first = skills.find((x) => x.handle(s, ctx) !== undefined);
          expect(first?.name, `"${s}" is answered by ${first?.name}`).toBe(skill.name);
        }
      }
    }
    skills.forEach((s) => s.close?.());
  });

  it('answer their questions with what the follow-up grammar allows', () => {
    const assistant = new Assistant(builtinSkills());
    const ctx = { now: fixedNow, announce: () => ({ cancel: () => undefined }) };
    const grammars = assistant.grammars();
    const r = rng(5);
    const asks: Record<string, string> = { 'timer.duration': 'set a timer', 'lights.room': 'turn on the light', 'greeting.mood': 'how are you' };
    for (const [name, question] of Object.entries(asks)) {
      const own = assistant.skills.find((s) => s.name === name.split('.')[0])!.followUps![name.split('.')[1]!]!;
      const g = new Grammar(own);
      for (let i = 0; i < 20; i++) {
        const conv: Conversation = {};
        const asked = assistant.answer({ kind: 'recognized', text: question }, conv, ctx);
        expect(asked.prompt, question).toBe(true);
        expect(assistant.grammarFor(conv)).toBe(name);
        expect(grammars[name]).toBeDefined();
        const answer = g.sample(r);
        const a = assistant.answer({ kind: 'recognized', text: answer }, conv, ctx);
        expect(a.skill, `"${answer}" after "${question}"`).toBe(name.split('.')[0]);
        expect(a.text).not.toMatch(/did not understand|cannot help/);
      }
    }
    assistant.close();
  });

  it('make grammars of every request, and of each question with every request', () => {
    const g = skillGrammars(builtinSkills());
    expect(Object.keys(g).sort()).toEqual(['default', 'greeting.mood', 'lights.room', 'timer.duration']);
    const def = new Grammar(g.default!);
    expect(def.matches('turn on the kitchen light')).toBe(true);
    expect(def.matches('five minutes')).toBe(false);
    const dur = new Grammar(g['timer.duration']!);
    expect(dur.matches('five minutes')).toBe(true);
    expect(dur.matches('what time is it')).toBe(true);
  });
});

describe('the assistant', () => {
  const announced: { text: string; delayMs: number }[] = [];
  const ctx = { now: () => new Date(2026, 11, 1, 9, 41), announce: (text: string, delayMs: number) => (announced.push({ text, delayMs }), { cancel: () => undefined }) };

  it('says honestly when it did not understand, heard nothing, or cannot recognise at all', () => {
    const a = new Assistant(builtinSkills());
    const conv: Conversation = {};
    expect(a.answer({ kind: 'rejected' }, conv, ctx).text).toBe(
      'Sorry, I did not understand that. You can ask me the time or the date, set a timer, turn a light on or off, or turn the volume up or down.',
    );
    expect(a.answer({ kind: 'silence' }, conv, ctx).text).toBe('I did not hear anything.');
    expect(a.answer({ kind: 'off', reason: 'pocketsphinx is not installed' }, conv, ctx).text).toBe('Speech recognition is off on this gateway: pocketsphinx is not installed.');
    expect(a.answer({ kind: 'typed', text: 'Play some jazz' }, conv, ctx).text).toMatch(/^You typed "play some jazz", but I cannot help with that\./);
    expect(a.answer({ kind: 'recognized', text: 'what can you do' }, conv, ctx).text).toMatch(/^You can ask me the time/);
    a.close();
  });

  it('answers the time, a light with a later report, and volume with a command payload', () => {
    const a = new Assistant(builtinSkills({ lights: { reportDelayMs: 1234 } }));
    const conv: Conversation = {};
    expect(a.answer({ kind: 'recognized', text: 'what time is it' }, conv, ctx).text).toBe('It is nine forty one in the morning.');
    expect(a.answer({ kind: 'recognized', text: 'what is the date today' }, conv, ctx).text).toBe('Today is Tuesday, the first of December.');
    announced.length = 0;
    expect(a.answer({ kind: 'recognized', text: 'turn on the kitchen light' }, conv, ctx)).toMatchObject({ skill: 'lights', text: 'OK, turning on the kitchen light.', prompt: false });
    expect(announced).toEqual([{ text: 'The kitchen light is now on.', delayMs: 1234 }]);
    expect(a.answer({ kind: 'recognized', text: 'turn the kitchen lights on' }, conv, ctx).text).toBe('The kitchen light is already on.');
    expect(a.answer({ kind: 'recognized', text: 'is the kitchen light on' }, conv, ctx).text).toBe('The kitchen light is on.');
    expect(a.answer({ kind: 'recognized', text: 'turn the volume up' }, conv, ctx)).toMatchObject({ text: 'Turning the volume up.', data: { command: 'volume', change: 10 } });
    expect(a.answer({ kind: 'recognized', text: 'quieter' }, conv, ctx).data).toEqual({ command: 'volume', change: -10 });
    expect(a.answer({ kind: 'recognized', text: 'set the volume to seventy five percent' }, conv, ctx).data).toEqual({ command: 'volume', percent: 75 });
    announced.length = 0;
    expect(a.answer({ kind: 'recognized', text: 'set a timer for ninety seconds' }, conv, ctx).text).toBe('OK, a timer for one minute and thirty seconds, starting now.');
    expect(announced).toEqual([{ text: 'Your timer for one minute and thirty seconds is done.', delayMs: 90_000 }]);
    expect(a.answer({ kind: 'recognized', text: 'cancel the timer' }, conv, ctx).text).toBe('OK, I canceled the timer.');
    expect(a.answer({ kind: 'recognized', text: 'cancel the timer' }, conv, ctx).text).toBe('There is no timer running.');
    a.close();
  });

  it('asks back, routes the answer to the question, and a change of subject to the new request', () => {
    const a = new Assistant(builtinSkills());
    const conv: Conversation = {};
    expect(a.answer({ kind: 'recognized', text: 'turn off the light' }, conv, ctx)).toMatchObject({ prompt: true, text: 'Which light: the kitchen, bedroom, living room, bathroom or office?' });
    expect(a.grammarFor(conv)).toBe('lights.room');
    expect(a.answer({ kind: 'recognized', text: 'the office' }, conv, ctx).text).toBe('The office light is already off.');
    expect(a.grammarFor(conv)).toBe('default');
    a.answer({ kind: 'recognized', text: 'how are you' }, conv, ctx);
    expect(a.answer({ kind: 'recognized', text: 'what time is it' }, conv, ctx).skill).toBe('time');
    a.answer({ kind: 'recognized', text: 'how are you today' }, conv, ctx);
    expect(a.answer({ kind: 'recognized', text: 'not so good' }, conv, ctx).text).toMatch(/^Sorry to hear that/);
    a.answer({ kind: 'recognized', text: 'set a timer' }, conv, ctx);
    expect(a.answer({ kind: 'rejected' }, conv, ctx).text).toMatch(/did not understand/);
    expect(conv.pending).toBeUndefined(); // a question is answered once, or dropped
    a.close();
  });
});
