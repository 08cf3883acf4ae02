import { describe, expect, it } from 'vitest';
import { SentenceQueue, type SentenceChunk } from '../../src/backends/soca-sentences.js';
import { SocaTurns } from '../../src/backends/soca-turns.js';
import type { TurnId } from '../../src/ports/backend.js';

function queue() {
  const out: string[] = [];
  const q = new SentenceQueue({
    start: (t: TurnId) => out.push(`start:${t}`),
    audio: (t: TurnId, d: Buffer) => out.push(`audio:${t}:${d.toString()}`),
    end: (t: TurnId) => out.push(`end:${t}`),
  });
  return { q, out };
}
const c = (sentenceId: string, chunkIndex: number | undefined, audio: string | null, isLastChunk = false, seq = 1): SentenceChunk => ({
  seq,
  sentenceId,
  chunkIndex,
  isLastChunk,
  audio: audio === null ? null : Buffer.from(audio).toString('base64'),
});

describe('SentenceQueue', () => {
  it('starts a sentence on its first chunk and ends it at the last', () => {
    const { q, out } = queue();
    q.push(c('a', 0, 'a0'), 't');
    expect(out).toEqual(['start:t', 'audio:t:a0']);
    q.push(c('a', 1, null, true), 't');
    expect(out).toEqual(['start:t', 'audio:t:a0', 'end:t']);
    expect(q.hasOpen()).toBe(false);
  });

  it('puts chunks back in chunkIndex order', () => {
    const { q, out } = queue();
    q.push(c('a', 2, 'a2', true), 't');
    expect(out).toEqual(['start:t']);
    q.push(c('a', 0, 'a0'), 't');
    q.push(c('a', 1, 'a1'), 't');
    expect(out).toEqual(['start:t', 'audio:t:a0', 'audio:t:a1', 'audio:t:a2', 'end:t']);
  });

  it('holds a second sentence until the first ends, then plays what it holds', () => {
    const { q, out } = queue();
    q.push(c('a', 0, 'a0'), 't');
    q.push(c('b', 0, 'b0'), 't');
    q.push(c('b', 1, null, true), 't');
    expect(out).toEqual(['start:t', 'audio:t:a0']);
    q.push(c('a', 1, null, true), 't');
    expect(out).toEqual(['start:t', 'audio:t:a0', 'end:t', 'start:t', 'audio:t:b0', 'end:t']);
  });

  it('numbers chunks itself when the server leaves chunkIndex out', () => {
    const { q, out } = queue();
    q.push(c('a', undefined, 'x'), 't');
    q.push(c('a', undefined, 'y'), 't');
    q.push(c('a', undefined, null, true), 't');
    expect(out).toEqual(['start:t', 'audio:t:x', 'audio:t:y', 'end:t']);
  });

  it('finish() ends sentences with missing chunks, in order', () => {
    const { q, out } = queue();
    q.push(c('a', 0, 'a0'), 't');
    q.push(c('a', 2, 'a2'), 't'); // 1 never comes, no last chunk either
    q.push(c('b', 0, 'b0'), 't');
    q.finish(1);
    expect(out).toEqual(['start:t', 'audio:t:a0', 'audio:t:a2', 'end:t', 'start:t', 'audio:t:b0', 'end:t']);
  });

  it('decodes base64 pieces that end inside a 4-character quantum, carrying the remainder (in chunk order)', () => {
    const mp3 = Buffer.from(Array.from({ length: 101 }, (_, i) => (i * 37) % 256));
    const b64 = mp3.toString('base64');
    const cuts = [0, 5, 7, 18, 41, b64.length]; // none on a multiple of 4
    const pieces = cuts.slice(1).map((end, i) => b64.slice(cuts[i], end));
    const got: Buffer[] = [];
    const q = new SentenceQueue({ start: () => {}, audio: (_t, d) => got.push(d), end: () => {} });
    // Out of order on the wire: the queue decodes in chunkIndex order.
    const order = [2, 0, 1, 4, 3];
    for (const i of order) q.push({ seq: 1, sentenceId: 's', chunkIndex: i, isLastChunk: false, audio: pieces[i]! }, 't');
    q.push({ seq: 1, sentenceId: 's', chunkIndex: 5, isLastChunk: true, audio: null }, 't');
    expect(Buffer.concat(got).equals(mp3)).toBe(true);
    // Decoding each piece on its own (what went wrong before) does not give the same bytes.
    expect(Buffer.concat(pieces.map((p) => Buffer.from(p, 'base64'))).equals(mp3)).toBe(false);
  });

  it('drop() forgets sentences without ending them, and the next one starts', () => {
    const { q, out } = queue();
    q.push(c('a', 0, 'a0', false, 1), 'old');
    q.push(c('b', 0, 'b0', false, 2), 'new');
    expect(q.openTurns()).toEqual(['old']);
    q.drop((seq) => seq < 2);
    expect(out).toEqual(['start:old', 'audio:old:a0', 'start:new', 'audio:new:b0']);
  });
});

describe('SocaTurns', () => {
  it('binds a new seq to the turn whose final came last, and a lower seq is stale', () => {
    const t = new SocaTurns();
    t.begin('t1');
    expect(t.final(true)).toBe('t1');
    expect(t.bind(5)).toEqual({ turn: 't1', advanced: true });
    expect(t.bind(5)).toEqual({ turn: 't1', advanced: false });
    expect(t.bind(undefined)).toEqual({ turn: 't1', advanced: false });
    expect(t.bind(4)).toEqual({ turn: false, advanced: false });
  });

  it('binds to the listening turn when no final came (server barge during follow-up)', () => {
    const t = new SocaTurns();
    t.begin('t2');
    expect(t.bind(1)).toEqual({ turn: 't2', advanced: true });
  });

  it('an answer with no turn at all is unsolicited (null)', () => {
    const t = new SocaTurns();
    expect(t.bind(1)).toEqual({ turn: null, advanced: true });
  });

  it('after a cancel, new answers are dropped until the next non-empty final', () => {
    const t = new SocaTurns();
    t.begin('t1');
    t.final(true);
    expect(t.cancel('t1')).toBe(false); // nothing spoken yet: `stop`
    expect(t.bind(1).turn).toBe(false);
    t.begin('t2');
    t.final(false); // empty final: still suppressed
    expect(t.bind(2).turn).toBe(false);
    t.begin('t3');
    t.final(true);
    expect(t.bind(3).turn).toBe('t3');
  });

  it('cancel of a turn that spoke is a barge-in, and its seq is dropped from then on', () => {
    const t = new SocaTurns();
    t.begin('t1');
    t.final(true);
    t.bind(1);
    t.spoke('t1');
    expect(t.cancel('t1')).toBe(true);
    expect(t.bind(1).turn).toBe(false);
    expect(t.currentTurn()).toBe(null);
  });

  it('reset() starts seq numbering afresh (a new connection)', () => {
    const t = new SocaTurns();
    t.begin('t1');
    t.final(true);
    t.bind(9);
    t.reset();
    t.begin('t2');
    t.final(true);
    expect(t.bind(1)).toEqual({ turn: 't2', advanced: true });
  });
});
