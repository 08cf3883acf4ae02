/**
 * Which turn each Soca answer belongs to. The protocol (docs/protocol.md "Soca") has no turn
 * ids, only a `seq` per agent response: a new `seq` is bound to the turn whose final transcript came last (or,
 * failing that, the turn being listened to); a lower `seq` is stale. After a cancel, new `seq`s
 * are dropped until the next final transcript, so a late answer to an abandoned turn never plays.
 */
import type { TurnId } from '../ports/backend.js';

/** `false` marks a `seq` whose messages are dropped (it answers an abandoned turn). */
export type SeqBinding = TurnId | false;

export class SocaTurns {
  /** The turn whose speech the server is transcribing (from begin to its final or cancel). */
  input: string | undefined;
  /** True while the session streams mic audio for `input`. */
  sending = false;
  /** The turn that got its final transcript and waits for its answer's `seq`. */
  #awaiting: string | undefined;
  #suppress = false;
  #currentSeq = Number.NEGATIVE_INFINITY;
  readonly #seqTurn = new Map<number, SeqBinding>();
  /** Turns whose reply audio went to the player: cancelling one is a barge-in. */
  readonly #spoke = new Set<string>();

  get currentSeq(): number {
    return this.#currentSeq;
  }

  /** The turn an error or a lost connection should be reported against. */
  get open(): string | undefined {
    return this.input ?? this.#awaiting;
  }

  begin(turnId: string): void {
    this.input = turnId;
    this.sending = true;
    // A new turn means every earlier reply finished playing or was cancelled.
    this.#spoke.clear();
  }

  /** A final transcript arrived; returns the turn it ends (undefined when none was listening). */
  final(nonEmpty: boolean): string | undefined {
    const turnId = this.input;
    if (!turnId) return undefined;
    this.input = undefined;
    this.sending = false;
    if (nonEmpty) {
      this.#awaiting = turnId;
      this.#suppress = false;
    }
    return turnId;
  }

  /** Reply audio for `turnId` reached the player. */
  spoke(turnId: TurnId): void {
    if (turnId) this.#spoke.add(turnId);
  }

  /** Forgets `turnId`; returns true when its answer was being spoken (send `barge`, not `stop`). */
  cancel(turnId: string): boolean {
    const speaking = this.#spoke.delete(turnId);
    if (this.input === turnId) {
      this.input = undefined;
      this.sending = false;
    }
    if (this.#awaiting === turnId) this.#awaiting = undefined;
    this.#suppress = true;
    for (const [seq, bound] of this.#seqTurn) if (bound === turnId) this.#seqTurn.set(seq, false);
    return speaking;
  }

  /** The turn `seq` belongs to; `advanced` when `seq` is newer than every earlier one. */
  bind(seq: number | undefined): { turn: SeqBinding; advanced: boolean } {
    if (seq === undefined) return { turn: this.#seqTurn.get(this.#currentSeq) ?? null, advanced: false };
    if (seq < this.#currentSeq) return { turn: false, advanced: false };
    if (seq === this.#currentSeq) return { turn: this.#seqTurn.get(seq) ?? null, advanced: false };
    this.#currentSeq = seq;
    const turn: SeqBinding = this.#suppress ? false : (this.#awaiting ?? this.input ?? null);
    this.#awaiting = undefined;
    this.#seqTurn.set(seq, turn);
    return { turn, advanced: true };
  }

  /** The turn of the newest `seq` (null when unsolicited or unknown). */
  currentTurn(): TurnId {
    const t = this.#seqTurn.get(this.#currentSeq);
    return t === false || t === undefined ? null : t;
  }

  /** A new connection is a new server session: its seq numbering starts afresh. */
  reset(): void {
    this.input = undefined;
    this.sending = false;
    this.#awaiting = undefined;
    this.#suppress = false;
    this.#currentSeq = Number.NEGATIVE_INFINITY;
    this.#seqTurn.clear();
    this.#spoke.clear();
  }
}
