/**
 * The timer ring on the speaker: one short, high double beep per `ring` effect, on its own
 * playback stream (`ring`), so its end comes back from the mux as `drained { stream: 'ring' }`
 * and the state machine decides whether to ring again (ring.ts). Synthesised once, 16 kHz mono.
 */
import { EARCON_FORMAT, synthNotes } from '../audio/earcon-synth.js';
import { int16ToBytes } from '../audio/wav.js';
import type { PcmSink } from './playback.js';

/** Two beeps at B5 (988 Hz), 120 ms each with 60 ms between: about 0.3 s of sound. Rendered at the first ring. */
let ringPcm: Buffer | undefined;

/** Plays the ring sound once on `out` (the session's `ring` stream). */
export function playRing(out: PcmSink): void {
  ringPcm ??= int16ToBytes(
    synthNotes([
      [988, 120],
      [0, 60],
      [988, 120],
    ]),
  );
  out.write(ringPcm, EARCON_FORMAT);
  out.end();
}
