/**
 * The room's quiet as the wake word's helpers need it: the last 2 s of the audio the models
 * hear, as 40 ms halves with their energies, and the quietest 80 ms (two halves in a row) of
 * them. The look-ahead pads its copy with that quiet (look-ahead.ts); the end-of-speech detector
 * measures speech against it and pads its look with it (speech-ends.ts). No allocation per half.
 */
import { CHUNK_SAMPLES, HALF_SAMPLES } from './features.js';

/** Halves kept: 2 s. */
const HISTORY = 50;

export class RoomQuiet {
  /** The last 2 s as halves (slot = count % HISTORY), and each half's energy. */
  readonly #halves = new Int16Array(HISTORY * HALF_SAMPLES);
  readonly #energy = new Float64Array(HISTORY);
  #count = 0;

  /** Forgets the room (a gap in the stream). */
  reset(): void {
    this.#count = 0;
  }

  /** Keeps one 40 ms half; returns its energy (sum of squares). */
  push(half: Int16Array): number {
    const slot = this.#count % HISTORY;
    this.#halves.set(half, slot * HALF_SAMPLES);
    let e = 0;
    for (let i = 0; i < half.length; i++) e += half[i]! * half[i]!;
    this.#energy[slot] = e;
    this.#count++;
    return e;
  }

  /** The energy of the quietest two consecutive halves remembered (0 with fewer than two). */
  floorEnergy(): number {
    return this.#quietest().energy;
  }

  /** Copies the quietest 80 ms into `chunk` (silence with fewer than two halves); returns its energy. */
  copyQuietest(chunk: Int16Array): number {
    const { first, energy } = this.#quietest();
    if (Math.min(this.#count, HISTORY) < 2) {
      chunk.fill(0, 0, CHUNK_SAMPLES);
      return 0;
    }
    for (let h = 0; h < 2; h++) {
      const slot = (first + h) % HISTORY;
      chunk.set(this.#halves.subarray(slot * HALF_SAMPLES, (slot + 1) * HALF_SAMPLES), h * HALF_SAMPLES);
    }
    return energy;
  }

  #quietest(): { first: number; energy: number } {
    const start = this.#count - Math.min(this.#count, HISTORY);
    let first = start;
    let energy = Infinity;
    for (let c = start; c + 1 < this.#count; c++) {
      const e = this.#energy[c % HISTORY]! + this.#energy[(c + 1) % HISTORY]!;
      if (e < energy) {
        energy = e;
        first = c;
      }
    }
    return { first, energy: Number.isFinite(energy) ? energy : 0 };
  }
}
