/**
 * The `speaker` npm module (naudiodon backend's playback) behind the PlaybackBackend interface
 * of ./playback.ts, loaded only after a check in a throw-away process that loading it cannot
 * abort the daemon.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { type PcmFormat } from '../../audio/format.js';
import { DeviceError, errorMessage } from '../../errors.js';
import { DEVICE_HINT } from './devices.js';
import type { PcmOutStream, PlaybackBackend } from './playback.js';

/** The part of the `speaker` module's Speaker class we use. */
export interface SpeakerStream extends Writable {
  /** `flush` true: drop what ALSA holds (snd_pcm_drop); false: play it out (snd_pcm_drain). */
  close(flush: boolean): void;
}
export type SpeakerCtor = new (opts: { channels: number; sampleRate: number; bitDepth: number; signed: boolean; device: string }) => SpeakerStream;

/**
 * The `speaker` module opens ALSA's *default* playback device when it loads (to list formats)
 * and, when that open fails, libasound aborts the whole process (assertion in
 * snd_pcm_hw_refine). So it is loaded once in a throw-away process first: a broken default
 * becomes a clear error instead of a dead daemon. Resolves with undefined when the load is
 * fine, else with the reason.
 */
export function probeSpeakerLoad(env: NodeJS.ProcessEnv = process.env, timeoutMs = 10_000): Promise<string | undefined> {
  let path: string;
  try {
    path = createRequire(import.meta.url).resolve('speaker');
  } catch {
    return Promise.resolve(undefined); // loadSpeaker() explains a missing module
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', 'require(process.argv[1])', path], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve(`cannot run the check (${err.message})`));
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve(undefined);
      const lines = stderr.split('\n').filter((l) => l.trim() && !l.startsWith('ALSA lib'));
      const why = lines.find((l) => /cannot open device|error/i.test(l)) ?? lines[0] ?? `exit ${signal ?? code}`;
      resolve(why.trim());
    });
  });
}

/** Loads the `speaker` module (an optional dependency: no type import from it), or explains how to install it. */
async function loadSpeaker(): Promise<SpeakerCtor> {
  try {
    const mod = createRequire(import.meta.url)('speaker') as SpeakerCtor | { default: SpeakerCtor };
    return 'default' in mod ? mod.default : mod;
  } catch (err) {
    const why = process.arch === 'arm64' ? 'it does not build on arm64' : 'run "npm ci --omit=dev" in the agent\'s directory; it builds against libasound2-dev';
    throw new DeviceError(
      `the naudiodon backend's speaker needs the "speaker" module (${errorMessage(err)}): ${why}; or set audio.alsaBackend: arecord (the default) or koffi`,
    );
  }
}

/**
 * The `speaker` module as a playback backend. Its class is loaded on `prepare()`, after a check
 * in a throw-away process that loading it cannot abort this one (see probeSpeakerLoad).
 */
export class SpeakerModulePlayback implements PlaybackBackend {
  readonly name = 'speaker';
  #Ctor: SpeakerCtor | undefined;
  readonly #probe: boolean;
  readonly #env: NodeJS.ProcessEnv | undefined;

  /** `speakerClass`: use this class (no load, no check); `probeLoad` false skips the check. */
  constructor(options: { speakerClass?: SpeakerCtor; probeLoad?: boolean; env?: NodeJS.ProcessEnv } = {}) {
    this.#Ctor = options.speakerClass;
    this.#probe = !options.speakerClass && options.probeLoad !== false;
    this.#env = options.env;
  }

  async prepare(): Promise<void> {
    if (this.#Ctor) return;
    if (this.#probe) {
      const problem = await probeSpeakerLoad(this.#env);
      if (problem) {
        throw new DeviceError(
          `speaker: ALSA's "default" playback device cannot be opened (${problem}), and the speaker module opens it when it loads; ` +
            `give ALSA a working default (e.g. "defaults.pcm.card N" and "defaults.ctl.card N" in /etc/asound.conf, N from aplay -l) or fix pcm.!default in ~/.asoundrc; ${DEVICE_HINT}`,
        );
      }
    }
    this.#Ctor = await loadSpeaker();
  }

  open(device: string, format: PcmFormat): PcmOutStream {
    if (!this.#Ctor) throw new DeviceError('speaker: the speaker module is not loaded (start() first)');
    return new this.#Ctor({ channels: format.channels, sampleRate: format.sampleRate, bitDepth: 16, signed: true, device });
  }
}
