/**
 * Driver selection by spec (`wav:PATH`, `alsa:NAME`, `none`, ...). Each driver module is
 * imported only when chosen, so a missing native addon never breaks start-up of the parts
 * that do not need it.
 */
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { AudioInput } from '../ports/audio-input.js';
import type { Backend } from '../ports/backend.js';
import type { AudioOutput } from '../ports/audio-output.js';
import type { Gpio } from '../ports/gpio.js';
import type { WakeWord } from '../ports/wake-word.js';

/** Splits `scheme:rest` (rest may contain colons). A bare word is a scheme with no argument. */
export function parseSpec(spec: string): { scheme: string; arg: string } {
  const i = spec.indexOf(':');
  return i < 0 ? { scheme: spec, arg: '' } : { scheme: spec.slice(0, i), arg: spec.slice(i + 1) };
}

function needArg(kind: string, spec: string, arg: string, example: string): string {
  if (!arg) throw new ConfigError([`${kind}: "${spec}" needs a value, e.g. "${example}"`]);
  return arg;
}

export async function createAudioInput(config: Config, log: Logger): Promise<AudioInput> {
  const spec = config.audio.mic;
  const { scheme, arg } = parseSpec(spec);
  switch (scheme) {
    case 'wav': {
      const { WavMic } = await import('./wav/mic.js');
      return new WavMic({
        path: needArg('audio.mic', spec, arg, 'wav:/path/to/speech.wav'),
        frameMs: config.audio.frameMs,
        realtime: config.audio.micRealtime,
        padSilence: config.audio.micPadSilence,
        cueAtStart: config.audio.micCue === 'start',
      });
    }
    case 'alsa': {
      const { AlsaMic } = await import('./alsa/mic.js');
      const { alsaCaptureBackend } = await import('./alsa/select.js');
      return new AlsaMic({
        device: arg,
        log,
        backend: alsaCaptureBackend(config.audio.alsaBackend, log),
        channel: config.audio.micChannel,
        rate: config.audio.micRate,
        channels: config.audio.micChannels,
        frameMs: config.audio.frameMs,
      });
    }
    default:
      throw new ConfigError([`audio.mic: unknown microphone driver "${scheme}" (use wav:PATH or alsa:NAME)`]);
  }
}

export async function createAudioOutput(config: Config, log: Logger): Promise<AudioOutput> {
  const spec = config.audio.speaker;
  const { scheme, arg } = parseSpec(spec);
  switch (scheme) {
    case 'wav': {
      const { WavSpeaker } = await import('./wav/speaker.js');
      return new WavSpeaker({
        path: needArg('audio.speaker', spec, arg, 'wav:/tmp/reply.wav'),
        sampleRate: config.audio.speakerRate,
        realtime: config.audio.speakerRealtime,
      });
    }
    case 'alsa': {
      const { AlsaSpeaker } = await import('./alsa/speaker.js');
      const { alsaPlaybackBackend } = await import('./alsa/select.js');
      return new AlsaSpeaker({ device: arg, log, volume: config.audio.volume, backend: alsaPlaybackBackend(config.audio.alsaBackend, log) });
    }
    default:
      throw new ConfigError([`audio.speaker: unknown speaker driver "${scheme}" (use wav:PATH or alsa:NAME)`]);
  }
}

export async function createWakeWord(config: Config, log: Logger): Promise<WakeWord> {
  switch (config.wake.engine) {
    case 'none': {
      const { NoWakeWord } = await import('./none/wake.js');
      return new NoWakeWord();
    }
    case 'porcupine': {
      // The adapter imports @picovoice/porcupine-node only when it builds an engine, and turns a
      // missing package into an unavailable status rather than a start-up failure.
      const { PorcupineWake } = await import('./porcupine/wake.js');
      return new PorcupineWake({ config: config.wake, log: log.child('wake'), env: process.env });
    }
  }
}

export async function createGpio(config: Config, log: Logger): Promise<Gpio> {
  switch (config.gpio.driver) {
    case 'none': {
      // APA102 LEDs need no GPIO driver (SPI only); a configured pin without a driver gets a
      // warning from the board driver rather than being dropped silently.
      if (config.gpio.leds.driver !== 'none' || config.gpio.buttonPin !== undefined) {
        const { createBoardGpio } = await import('./gpio/create.js');
        return createBoardGpio(config.gpio, log.child('gpio'));
      }
      const { NoGpio } = await import('./none/gpio.js');
      return new NoGpio();
    }
    case 'rpio':
    case 'gpiod':
    case 'auto': {
      const { createBoardGpio } = await import('./gpio/create.js');
      return createBoardGpio(config.gpio, log.child('gpio'));
    }
  }
}

export async function createBackend(config: Config, log: Logger): Promise<Backend> {
  switch (config.backend) {
    case 'gateway': {
      const { GatewayClient } = await import('../gateway/client.js');
      return new GatewayClient(config.gateway, log);
    }
    case 'soca': {
      const { createSocaBackend } = await import('../backends/factory.js');
      return createSocaBackend(config, log);
    }
    case 'pipeline': {
      const { createPipelineBackend } = await import('../backends/factory.js');
      return createPipelineBackend(config, log);
    }
  }
}
