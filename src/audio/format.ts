/** PCM format description. All PCM in the agent is signed 16-bit little-endian, interleaved. */
export interface PcmFormat {
  /** Samples per second per channel, e.g. 16000. */
  sampleRate: number;
  /** Interleaved channel count, e.g. 1. */
  channels: number;
}

/** The format the core works in and the gateway expects: PCM16LE mono 16 kHz. */
export const CORE_FORMAT: PcmFormat = Object.freeze({ sampleRate: 16000, channels: 1 });

export const BYTES_PER_SAMPLE = 2;

/** Bytes in `ms` milliseconds of audio in `format`. */
export function bytesFor(format: PcmFormat, ms: number): number {
  return Math.round((format.sampleRate * ms) / 1000) * format.channels * BYTES_PER_SAMPLE;
}

/** Duration in milliseconds of `bytes` of audio in `format`. */
export function durationMs(format: PcmFormat, bytes: number): number {
  return (bytes / (format.channels * BYTES_PER_SAMPLE) / format.sampleRate) * 1000;
}

export function sameFormat(a: PcmFormat, b: PcmFormat): boolean {
  return a.sampleRate === b.sampleRate && a.channels === b.channels;
}
