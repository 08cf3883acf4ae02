/**
 * Where speech ends, from the energy of each 40 ms half the models hear, against the room's
 * own floor (the quietest 80 ms of the last 2 s). A half is speech when it is `speechDb` above
 * that floor, quiet when it is within `quietDb` of it. The end of speech is the first quiet
 * half after a stretch of speech that held at least `minSpeechHalves` speech halves (gaps
 * shorter than `resetHalves` quiet halves, such as the one between two words, do not end a
 * stretch). The next speech half after an end is reported too, so that what waits for the
 * quiet to last can give up.
 *
 * Used for the early second look (second-look.ts): a keyword said fast scores nothing on the
 * steps until well after it ends, so the look at it is timed by the end of speech instead.
 * Also gives the look its padding: the room's quiet, as the look-ahead pads (look-ahead.ts).
 * Pure arithmetic on the samples; no allocation per half.
 */
import { CHUNK_SAMPLES, HALF_SAMPLES } from './features.js';
import { RoomQuiet } from './room-quiet.js';

export interface SpeechEndsOptions {
  /** A half this far above the room's floor is speech, dB (default 12). */
  speechDb?: number;
  /** A half within this of the floor is quiet, dB (default 6). */
  quietDb?: number;
  /** Speech halves a stretch needs before its end counts (default 8: 320 ms). */
  minSpeechHalves?: number;
  /** Quiet halves in a row after which a new stretch begins (default 12: 480 ms). */
  resetHalves?: number;
}

export type SpeechEvent = 'end' | 'speech' | null;

/** Energy of a half below which the room counts as this quiet (digital silence): RMS 2. */
const MIN_FLOOR = HALF_SAMPLES * 4;

export class SpeechEnds {
  readonly #speech: number;
  readonly #quiet: number;
  readonly #min: number;
  readonly #reset: number;
  /** The last 2 s, for the room's floor and quiet. */
  readonly #room = new RoomQuiet();
  /** Speech halves in the current stretch, quiet halves in a row, and whether the last non-neutral half was speech. */
  #run = 0;
  #quietRun = 0;
  #speaking = false;
  #ended = false;
  /** Speech halves of the stretch the latest end closed. */
  lastSpeechHalves = 0;
  readonly #pad = new Int16Array(CHUNK_SAMPLES);
  readonly #reversed = new Int16Array(CHUNK_SAMPLES);

  constructor(options: SpeechEndsOptions = {}) {
    this.#speech = 10 ** ((options.speechDb ?? 12) / 10);
    this.#quiet = 10 ** ((options.quietDb ?? 6) / 10);
    this.#min = options.minSpeechHalves ?? 8;
    this.#reset = options.resetHalves ?? 12;
  }

  /** Forgets the room and any stretch (a gap in the stream). */
  reset(): void {
    this.#room.reset();
    this.#run = 0;
    this.#quietRun = 0;
    this.#speaking = false;
    this.#ended = false;
  }

  /** Takes the next half; returns 'end' at the end of a stretch of speech, 'speech' at the first speech half after one. */
  push(half: Int16Array): SpeechEvent {
    const e = this.#room.push(half);
    const floor = Math.max(MIN_FLOOR, this.#room.floorEnergy() / 2);
    if (e >= floor * this.#speech) {
      this.#run++;
      this.#quietRun = 0;
      this.#speaking = true;
      if (this.#ended) {
        this.#ended = false;
        return 'speech';
      }
      return null;
    }
    if (e > floor * this.#quiet) return null;
    this.#quietRun++;
    let event: SpeechEvent = null;
    if (this.#speaking && this.#run >= this.#min) {
      this.lastSpeechHalves = this.#run;
      this.#ended = true;
      event = 'end';
    }
    this.#speaking = false;
    if (this.#quietRun >= this.#reset) this.#run = 0;
    return event;
  }

  /**
   * `chunks` chunks of the room's quiet: the quietest 80 ms of the last 2 s, every other one
   * reversed (so none starts with a jump). The arrays are reused by the next call.
   */
  pads(chunks: number): Int16Array[] {
    this.#room.copyQuietest(this.#pad);
    for (let i = 0; i < CHUNK_SAMPLES; i++) this.#reversed[i] = this.#pad[CHUNK_SAMPLES - 1 - i]!;
    return Array.from({ length: chunks }, (_, k) => (k % 2 === 0 ? this.#pad : this.#reversed));
  }
}
