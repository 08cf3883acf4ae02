/**
 * Earcons: short wake / done / error / disconnected sounds, played through the same speaker as
 * replies. Each is the built-in synthesised sound, `off`, or a PCM16 WAV file of any rate and
 * channel count (the speaker plays it at its own format).
 */
import { readFileSync } from 'node:fs';
import type { EarconsConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { AudioOutput } from '../ports/audio-output.js';
import { EARCON_FORMAT, EARCON_NAMES, type EarconName, synthEarcon } from './earcon-synth.js';
import type { PcmFormat } from './format.js';
import { applyGain } from './pcm.js';
import { bytesToInt16, int16ToBytes, parseWav } from './wav.js';

export type { EarconName } from './earcon-synth.js';

interface Sound {
  pcm: Buffer;
  format: PcmFormat;
  /** Duration in ms. */
  ms: number;
}

/** A loaded sound, or a built-in one rendered on first use (16 ms of CPU for the four at start before, in a start-up profile). */
type Entry = Sound | (() => Sound);

export interface EarconsOptions {
  /** The `audio.earcons` config section. */
  config: EarconsConfig;
  log: Logger;
  /** File reader (tests); default fs.readFileSync. */
  readFile?: (path: string) => Buffer;
}

export class Earcons {
  readonly #sounds = new Map<EarconName, Entry>();
  readonly #log: Logger;

  /**
   * Loads WAV files now, so a bad path is reported at start-up; built-in sounds are rendered
   * when first played.
   * Throws ConfigError with one `audio.earcons.NAME: message` line per bad file.
   */
  constructor(options: EarconsOptions) {
    this.#log = options.log.child('earcons');
    const read = options.readFile ?? ((p: string) => readFileSync(p));
    const gain = options.config.volume / 100;
    const issues: string[] = [];
    for (const name of EARCON_NAMES) {
      const spec = options.config[name];
      if (spec === 'off') continue;
      if (spec === 'builtin') {
        this.#sounds.set(name, () => sound(synthEarcon(name, gain), EARCON_FORMAT));
        continue;
      }
      try {
        const buf = read(spec);
        const wav = parseWav(buf);
        const pcm = Int16Array.from(bytesToInt16(Buffer.from(buf.subarray(wav.dataOffset, wav.dataOffset + wav.dataBytes))));
        applyGain(pcm, gain);
        this.#sounds.set(name, sound(pcm, wav.format));
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        issues.push(`audio.earcons.${name}: cannot use "${spec}" (${reason}); give a 16-bit PCM WAV file, "builtin" or "off"`);
      }
    }
    if (issues.length) throw new ConfigError(issues);
  }

  /** The sound of `name`, rendered now if it is built-in and was never played. */
  #sound(name: EarconName): Sound | undefined {
    const entry = this.#sounds.get(name);
    if (typeof entry !== 'function') return entry;
    const rendered = entry();
    this.#sounds.set(name, rendered);
    return rendered;
  }

  /** True when `name` is configured (not `off`). */
  has(name: EarconName): boolean {
    return this.#sounds.has(name);
  }

  /** Duration of `name` in ms (0 when off). */
  durationMs(name: EarconName): number {
    return this.#sound(name)?.ms ?? 0;
  }

  /**
   * Plays `name` on `out` as one stream: writes it and calls `end()`. Returns at once; does
   * nothing for an earcon that is `off`. The session plays earcons through its playback mux
   * (src/core/playback.ts), so an earcon's end is never taken for a reply's.
   */
  play(name: EarconName, out: Pick<AudioOutput, 'write' | 'end'>): void {
    const found = this.#sound(name);
    if (!found) return;
    this.#log.debug('play', { name });
    out.write(found.pcm, found.format);
    out.end();
  }
}

function sound(pcm: Int16Array, format: PcmFormat): Sound {
  return { pcm: int16ToBytes(pcm), format, ms: (pcm.length / format.channels / format.sampleRate) * 1000 };
}
