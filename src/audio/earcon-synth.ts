/**
 * The built-in earcons, synthesised (nothing downloaded, nothing to ship): short sine-tone
 * motifs with raised-cosine fades so they start and stop without clicks. 16 kHz mono, the same
 * format as gateway replies, so an earcon followed by a reply stays in one ALSA stream.
 */
import type { PcmFormat } from './format.js';

export type EarconName = 'wake' | 'done' | 'error' | 'disconnected';
export const EARCON_NAMES: readonly EarconName[] = ['wake', 'done', 'error', 'disconnected'];

export const EARCON_FORMAT: PcmFormat = Object.freeze({ sampleRate: 16000, channels: 1 });

/** One note: frequency in Hz (0 = rest), duration in ms. */
export type Note = [hz: number, ms: number];

/** Rising for "listening", falling for "done", low and doubled for "error", descending for "disconnected". */
const MOTIFS: Record<EarconName, Note[]> = {
  wake: [
    [660, 70],
    [880, 90],
  ],
  done: [
    [880, 70],
    [660, 90],
  ],
  error: [
    [311, 110],
    [0, 50],
    [311, 150],
  ],
  disconnected: [
    [659, 110],
    [523, 110],
    [392, 200],
  ],
};

/** Peak level of the built-in sounds, before the earcon volume: -8 dBFS leaves headroom. */
const PEAK = 0.4;
const FADE_MS = 6;

/** Renders earcon `name` as PCM16 samples at 16 kHz, peak `PEAK * gain`. */
export function synthEarcon(name: EarconName, gain = 1): Int16Array {
  return synthNotes(MOTIFS[name], gain);
}

/** Renders a motif of notes (the earcons', or another cue's such as a timer's ring) at 16 kHz. */
export function synthNotes(notes: readonly Note[], gain = 1): Int16Array {
  const rate = EARCON_FORMAT.sampleRate;
  const total = notes.reduce((t, [, ms]) => t + Math.round((rate * ms) / 1000), 0);
  const out = new Int16Array(total);
  const fade = Math.round((rate * FADE_MS) / 1000);
  let o = 0;
  for (const [hz, ms] of notes) {
    const n = Math.round((rate * ms) / 1000);
    if (hz > 0) {
      for (let i = 0; i < n; i++) {
        const edge = Math.min(i, n - 1 - i);
        const env = edge >= fade ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * edge) / fade);
        // A touch of the second harmonic makes small speakers sound less thin.
        const t = i / rate;
        const s = Math.sin(2 * Math.PI * hz * t) + 0.25 * Math.sin(4 * Math.PI * hz * t);
        out[o + i] = Math.round((s / 1.25) * env * PEAK * gain * 32767);
      }
    }
    o += n;
  }
  return out;
}
