/**
 * Which code talks to ALSA for `alsa:` devices (`audio.alsaBackend`; docs/audio.md "Backends"):
 *
 * - `arecord`: ALSA's own arecord/aplay, one small process per stream. No native addon; on every
 *   Raspberry Pi OS image (alsa-utils). The default.
 * - `koffi`: libasound inside the agent's process, through the koffi FFI package (prebuilt for
 *   arm64, armhf and x86-64). No helper process, but a crash in ALSA is a crash of the agent.
 * - `naudiodon`: the npm addons naudiodon (PortAudio, capture, in a helper Node process) and
 *   speaker (playback). They compile at install time and do not build everywhere.
 *
 * `auto` takes the first of these that is available here, in that order (the order comes from
 * the measurements in docs/audio.md).
 */
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { findTool, ALSA_UTILS_FIX } from './alsa-tool.js';
import { AplayPlayback } from './aplay.js';
import { ArecordCapture } from './arecord.js';
import type { CaptureBackend } from './capture.js';
import { KoffiCapture } from './koffi-capture.js';
import { KoffiPlayback } from './koffi-playback.js';
import { loadLibAsound } from './libasound.js';
import { NaudiodonCapture } from './naudiodon-capture.js';
import type { PlaybackBackend } from './playback.js';
import { SpeakerModulePlayback } from './speaker-module.js';

export const ALSA_BACKENDS = ['auto', 'arecord', 'koffi', 'naudiodon'] as const;
export type AlsaBackendSetting = (typeof ALSA_BACKENDS)[number];
export type AlsaBackendName = Exclude<AlsaBackendSetting, 'auto'>;

/** What decides `auto`, injectable for tests. */
export interface BackendProbe {
  /** alsa-utils' arecord and aplay are both on the PATH. */
  alsaUtils(): boolean;
  /** koffi and libasound.so.2 load (undefined), or why not. */
  koffi(): string | undefined;
}

export function realProbe(env: NodeJS.ProcessEnv = process.env): BackendProbe {
  return {
    alsaUtils: () => findTool('arecord', env) !== undefined && findTool('aplay', env) !== undefined,
    koffi: () => {
      try {
        loadLibAsound();
        return undefined;
      } catch (err) {
        return errorMessage(err);
      }
    },
  };
}

/** The backend `setting` means on this machine, and why. */
export function resolveAlsaBackend(setting: AlsaBackendSetting, probe: BackendProbe = realProbe()): { name: AlsaBackendName; reason: string } {
  if (setting !== 'auto') return { name: setting, reason: `audio.alsaBackend: ${setting}` };
  if (probe.alsaUtils()) return { name: 'arecord', reason: 'auto: alsa-utils (arecord, aplay) is installed' };
  const koffi = probe.koffi();
  if (koffi === undefined) return { name: 'koffi', reason: `auto: alsa-utils is missing (${ALSA_UTILS_FIX}); koffi and libasound load` };
  return { name: 'naudiodon', reason: `auto: alsa-utils is missing and the koffi backend is unavailable (${koffi})` };
}

/** Whether `name` loads the `naudiodon`/`speaker` addons (the doctor and installer ask). */
export function usesAddons(name: AlsaBackendName): boolean {
  return name === 'naudiodon';
}

export function captureBackend(name: AlsaBackendName, options: { modulePath?: string } = {}): CaptureBackend {
  switch (name) {
    case 'arecord':
      return new ArecordCapture();
    case 'koffi':
      return new KoffiCapture();
    case 'naudiodon':
      return new NaudiodonCapture(options.modulePath);
  }
}

export function playbackBackend(name: AlsaBackendName, options: { log: Logger; env?: NodeJS.ProcessEnv }): PlaybackBackend {
  switch (name) {
    case 'arecord':
      return new AplayPlayback(options);
    case 'koffi':
      return new KoffiPlayback(options);
    case 'naudiodon':
      return new SpeakerModulePlayback({ env: options.env });
  }
}
