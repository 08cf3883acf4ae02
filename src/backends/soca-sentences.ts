/**
 * Orders Soca's chunked sentence audio (docs/protocol.md "Soca") into reply audio streams:
 * sentences play one after another in arrival order, each starting with its first chunk (Soca's
 * own client waits for the last chunk; a streaming decoder does not need to). Chunks are put back
 * in `chunkIndex` order; a sentence that arrives while another is still playing is held until
 * that one ends.
 *
 * The chunks' `audioBase64` strings are pieces of one base64 text (Soca's client joins them
 * before decoding), so a piece may end inside a 4-character quantum: each sentence decodes on
 * 4-character boundaries in chunk order and carries the remainder to its next piece.
 */
import type { TurnId } from '../ports/backend.js';

/** One `stepType: "sentence"` message, already decoded. */
export interface SentenceChunk {
  seq: number;
  sentenceId: string;
  /** Position of the chunk in its sentence; undefined when the server omitted it. */
  chunkIndex: number | undefined;
  isLastChunk: boolean;
  /** The chunk's base64 text of MP3 bytes; null for the empty closing chunk. */
  audio: string | null;
}

/** What the queue asks its owner to emit. */
export interface SentenceSink {
  start(turnId: TurnId): void;
  audio(turnId: TurnId, data: Buffer): void;
  end(turnId: TurnId): void;
}

interface Sentence {
  key: string;
  seq: number;
  turnId: TurnId;
  started: boolean;
  next: number;
  lastIndex: number | undefined;
  held: Map<number, string | null>;
  /** Base64 characters not yet decoded: fewer than 4, waiting for the next piece. */
  carry: string;
}

export class SentenceQueue {
  #queue: Sentence[] = [];

  constructor(private readonly sink: SentenceSink) {}

  /** True while some sentence of `seq` is unfinished. */
  hasOpen(seq?: number): boolean {
    return this.#queue.some((s) => seq === undefined || s.seq === seq);
  }

  /** Turns with audio that was started and not finished (for barge-in). */
  openTurns(): TurnId[] {
    return [...new Set(this.#queue.filter((s) => s.started).map((s) => s.turnId))];
  }

  /** Adds a chunk for the turn its `seq` is bound to. */
  push(chunk: SentenceChunk, turnId: TurnId): void {
    const key = `${chunk.seq}_${chunk.sentenceId}`;
    let sentence = this.#queue.find((s) => s.key === key);
    if (!sentence) {
      sentence = { key, seq: chunk.seq, turnId, started: false, next: 0, lastIndex: undefined, held: new Map(), carry: '' };
      this.#queue.push(sentence);
    }
    const index = chunk.chunkIndex ?? sentence.next + sentence.held.size;
    sentence.held.set(index, chunk.audio);
    if (chunk.isLastChunk) sentence.lastIndex = index;
    this.#pump();
  }

  /** Ends every sentence of `seq` with what has arrived (the reply is complete). */
  finish(seq: number): void {
    for (const s of this.#queue) {
      if (s.seq !== seq) continue;
      // Whatever is missing will not come: close the gaps so the sentence can end.
      const indices = [...s.held.keys()];
      s.lastIndex = Math.max(s.lastIndex ?? -1, s.next - 1, ...indices);
      for (let i = s.next; i <= s.lastIndex; i++) if (!s.held.has(i)) s.held.set(i, null);
    }
    this.#pump();
  }

  /** Drops sentences matching `pred` without emitting anything more for them. */
  drop(pred: (seq: number, turnId: TurnId) => boolean): void {
    this.#queue = this.#queue.filter((s) => !pred(s.seq, s.turnId));
    this.#pump();
  }

  /** Forgets everything (connection lost). */
  clear(): void {
    this.#queue = [];
  }

  /** Decodes whole 4-character quanta of `carry + text`; at the end, whatever is left. */
  #decode(s: Sentence, text: string, last: boolean): void {
    const all = s.carry + text.replace(/\s+/g, '');
    const whole = last ? all.length : all.length - (all.length % 4);
    s.carry = all.slice(whole);
    const bytes = Buffer.from(all.slice(0, whole), 'base64');
    if (bytes.length) this.sink.audio(s.turnId, bytes);
  }

  /** Emits from the head sentence as far as it can go, then moves on to the next one. */
  #pump(): void {
    for (;;) {
      const head = this.#queue[0];
      if (!head) return;
      if (!head.started) {
        head.started = true;
        this.sink.start(head.turnId);
      }
      while (head.held.has(head.next)) {
        const text = head.held.get(head.next);
        head.held.delete(head.next);
        head.next++;
        if (text) this.#decode(head, text, false);
      }
      if (head.lastIndex === undefined || head.next <= head.lastIndex) return;
      this.#queue.shift();
      if (head.carry) this.#decode(head, '', true);
      this.sink.end(head.turnId);
    }
  }
}
