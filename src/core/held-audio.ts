/**
 * Where the audio of held unsolicited replies waits (src/core/held.ts decides which replies are
 * held and when they play). Bounded per reply: past the limit the rest is dropped, once logged.
 */
import type { Logger } from '../log/logger.js';
import type { ReplyFormat } from '../ports/backend.js';
import type { Effect } from './state.js';

type Part = Extract<Effect, { type: 'holdAudio' }>['part'];

/** The most audio kept of one held reply (about 4 minutes of 16 kHz PCM). */
export const MAX_HELD_BYTES = 8 * 1024 * 1024;

export class HeldAudio {
  readonly #replies = new Map<string, { parts: Part[]; bytes: number; truncated: boolean }>();

  constructor(private readonly log: Logger) {}

  hold(turnId: string, part: Part): void {
    let h = this.#replies.get(turnId);
    if (!h) this.#replies.set(turnId, (h = { parts: [], bytes: 0, truncated: false }));
    if (h.truncated) return;
    const bytes = 'data' in part ? part.data.length : 0;
    if (h.bytes + bytes > MAX_HELD_BYTES) {
      h.truncated = true;
      this.log.warn('held-reply-truncated', { turnId, limitBytes: MAX_HELD_BYTES });
      return;
    }
    if (h.parts.length === 0) this.log.info('reply-held', { turnId });
    h.bytes += bytes;
    h.parts.push(part);
  }

  /** Replays what was held of `turnId` into `to`, in order, and forgets it. */
  play(turnId: string, to: { begin(format: ReplyFormat): void; data(data: Buffer): void; end(): void }): void {
    const h = this.#replies.get(turnId);
    this.#replies.delete(turnId);
    this.log.info('held-reply-playing', { turnId, bytes: h?.bytes ?? 0 });
    for (const part of h?.parts ?? []) {
      if ('begin' in part) to.begin(part.begin);
      else if ('data' in part) to.data(part.data);
      else to.end();
    }
  }

  drop(turnId: string): void {
    this.#replies.delete(turnId);
  }
}
