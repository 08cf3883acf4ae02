/** Builds the configured voice-activity detector (`conversation.vad`). */
import type { VadConfig } from '../config/schema.js';
import { BandVad } from './vad-band.js';
import { EnergyVad, type Vad } from './vad.js';

/**
 * `band` (default) is the two-band detector measured in bench/eos-eval.ts; `energy` is the simple
 * full-band detector, kept for comparison. Both count time in samples of `sampleRate` (16000).
 */
export function createVad(cfg: VadConfig, sampleRate = 16000): Vad {
  if (cfg.engine === 'energy') {
    return new EnergyVad({
      sampleRate,
      thresholdDb: cfg.thresholdDb,
      minLevelDb: cfg.minLevelDb,
      speechStartMs: cfg.speechStartMs,
      hangoverMs: cfg.hangoverMs,
    });
  }
  // The band detector's thresholds are relative to each band's own noise and were tuned on the
  // evaluation set; only the timing settings are shared with the energy detector.
  return new BandVad({ sampleRate, speechStartMs: cfg.speechStartMs, hangoverMs: cfg.hangoverMs });
}
