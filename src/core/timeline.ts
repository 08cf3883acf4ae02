/**
 * The timeline of a turn: named points (trigger, audio_start, first audio_data, ... idle) with
 * their time, for the demo's printout, the benchmarks and the control socket's `timeline` events.
 * "Once per turn" marks (the first audio frame sent, the first reply audio) are remembered here.
 */
import type { TurnId } from '../ports/backend.js';
import type { Scheduler } from '../util/clock.js';

export type TimelineMark =
  | 'trigger'
  | 'audio_start'
  | 'first_audio_data'
  | 'transcript'
  | 'audio_end'
  | 'reply_text'
  | 'reply_audio'
  | 'first_sample'
  | 'reply_end'
  | 'drained'
  | 'follow_up'
  | 'idle';

export interface TimelineEntry {
  mark: TimelineMark;
  turnId: TurnId;
  /** Milliseconds on the session's clock. */
  t: number;
  detail?: Record<string, unknown>;
}

export class Timeline {
  #firstDataSent = true;
  #replyMarked: TurnId | undefined;

  constructor(
    private readonly clock: Scheduler,
    /** The turn the marks belong to: the session's current one. */
    private readonly turn: () => TurnId,
    private readonly emit: (entry: TimelineEntry) => void,
  ) {}

  mark(mark: TimelineMark, detail?: Record<string, unknown>): void {
    this.emit({ mark, turnId: this.turn(), t: this.clock.now(), ...(detail ? { detail } : {}) });
  }

  /** A turn's uplink opened: the next frame sent is its first. */
  uplinkOpened(followUp: boolean): void {
    this.#firstDataSent = false;
    this.mark('audio_start', { followUp });
  }

  /** A frame went up; the first of the turn is marked. */
  frameSent(): void {
    if (this.#firstDataSent) return;
    this.#firstDataSent = true;
    this.mark('first_audio_data');
  }

  /** Reply audio for `turnId` went to the player; the first of each turn is marked. */
  replyAudio(turnId: TurnId): void {
    if (this.#replyMarked === turnId) return;
    this.#replyMarked = turnId;
    this.mark('reply_audio');
  }
}
