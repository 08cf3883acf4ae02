/**
 * The echo canceller the agent runs (`audio.echoBand`): libspeexdsp's filter and suppressor
 * on the band below 4 kHz at 16 kHz capture (LowBandAec, the default), or on the whole band.
 */
import type { AecEngine } from '../../audio/echo-cancel.js';
import { LowBandAec } from '../../audio/low-band-aec.js';
import type { SpeexDsp } from '../speex/speexdsp.js';

export type EchoBand = 'low' | 'full';
export const ECHO_BANDS: readonly EchoBand[] = ['low', 'full'];

export interface EchoEngineOptions {
  /** Samples per block at the capture rate. */
  frameSize: number;
  /** Echo tail, samples at the capture rate. */
  tailSamples: number;
  sampleRate: number;
  /** Default 'low'; 'low' needs 16 kHz capture and an even block, else the whole band is cancelled. */
  band?: EchoBand;
  echoSuppressActiveDb?: number;
}

/** Whether `o` gets the low-band canceller. */
export function cancelsLowBand(o: Pick<EchoEngineOptions, 'band' | 'sampleRate' | 'frameSize'>): boolean {
  return (o.band ?? 'low') === 'low' && o.sampleRate === 16000 && o.frameSize % 2 === 0;
}

export function createEchoEngine(dsp: SpeexDsp, o: EchoEngineOptions): AecEngine {
  const suppress = o.echoSuppressActiveDb === undefined ? {} : { echoSuppressActiveDb: o.echoSuppressActiveDb };
  if (!cancelsLowBand(o)) return dsp.createCanceller({ frameSize: o.frameSize, filterLength: o.tailSamples, sampleRate: o.sampleRate, ...suppress });
  return new LowBandAec(dsp.createCanceller({ frameSize: o.frameSize / 2, filterLength: Math.round(o.tailSamples / 2), sampleRate: o.sampleRate / 2, ...suppress }));
}
