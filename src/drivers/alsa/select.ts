/** The registry's entry to the ALSA backends: resolves `audio.alsaBackend` and says what it chose. */
import type { Logger } from '../../log/logger.js';
import { type AlsaBackendSetting, captureBackend, playbackBackend, resolveAlsaBackend } from './backends.js';
import type { CaptureBackend } from './capture.js';
import type { PlaybackBackend } from './playback.js';

export function alsaCaptureBackend(setting: AlsaBackendSetting, log: Logger): CaptureBackend {
  const { name, reason } = resolveAlsaBackend(setting);
  log.info('alsa-backend', { direction: 'capture', backend: name, reason });
  return captureBackend(name);
}

export function alsaPlaybackBackend(setting: AlsaBackendSetting, log: Logger): PlaybackBackend {
  const { name, reason } = resolveAlsaBackend(setting);
  log.info('alsa-backend', { direction: 'playback', backend: name, reason });
  return playbackBackend(name, { log });
}
