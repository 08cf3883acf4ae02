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
      const file = needArg('audio.mic', spec, arg, 'wav:/path/to/speech.wav');
      // `wav:a.wav,b.wav`: several files, one per cue (a path that merely contains a comma stays whole).
      const parts = file.split(',');
      const paths = parts.length > 1 && parts.every((p) => /\.wav$/i.test(p)) ? parts : [file];
      return new WavMic({
        path: paths[0]!,
        paths,
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
    case 'room':
      throw new ConfigError([`audio.mic: "${spec}": the simulated room needs its speaker too: set audio.speaker to room:PATH as well`]);
    default:
      throw new ConfigError([`audio.mic: unknown microphone driver "${scheme}" (use wav:PATH, room:PATH or alsa:NAME)`]);
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
    case 'room':
      throw new ConfigError([`audio.speaker: "${spec}": the simulated room needs its microphone too: set audio.mic to room:PATH as well`]);
    default:
      throw new ConfigError([`audio.speaker: unknown speaker driver "${scheme}" (use wav:PATH, room:PATH or alsa:NAME)`]);
  }
}

/**
 * The microphone and the speaker, with what joins them: the simulated room when both are
 * `room:`, and the echo canceller when `audio.echoCancel` is on (it wraps the microphone and
 * listens to the speaker). `given` ports (tests) are used as they are.
 */
export async function createAudio(config: Config, log: Logger, given: { mic?: AudioInput | undefined; speaker?: AudioOutput | undefined } = {}): Promise<{ mic: AudioInput; speaker: AudioOutput }> {
  const a = config.audio;
  const micSpec = parseSpec(a.mic);
  const speakerSpec = parseSpec(a.speaker);
  let mic = given.mic;
  let speaker = given.speaker;
  if (!mic && !speaker && micSpec.scheme === 'room' && speakerSpec.scheme === 'room') {
    const { createRoom } = await import('./room/room.js');
    const room = createRoom({
      mic: { path: needArg('audio.mic', a.mic, micSpec.arg, 'room:/path/to/speech.wav'), frameMs: a.frameMs, padSilence: a.micPadSilence, cueAtStart: a.micCue === 'start' },
      speaker: { path: needArg('audio.speaker', a.speaker, speakerSpec.arg, 'room:/tmp/played.wav'), sampleRate: a.speakerRate, realtime: a.speakerRealtime },
      room: a.room,
    });
    mic = room.mic;
    speaker = room.speaker;
    log.info('room', { delayMs: a.room.delayMs, echoDb: a.room.echoDb, noiseDb: a.room.noiseDb });
  }
  // Drivers are created one by one so the first failure names its part.
  mic ??= await createAudioInput(config, log);
  speaker ??= await createAudioOutput(config, log);
  if (a.echoCancel === 'speex') {
    // koffi and libspeexdsp load when the input starts; a missing library only turns it off.
    const { EchoCancelInput } = await import('./echo/cancel-input.js');
    mic = new EchoCancelInput({ inner: mic, output: speaker, log: log.child('echo'), tailMs: a.echoTailMs, delayMs: a.echoDelayMs, frameMs: a.frameMs, batchMs: a.echoBatchMs, band: a.echoBand });
  }
  return { mic, speaker };
}

/**
 * What `wake.engine: auto` means here: Porcupine when an AccessKey is configured (file,
 * credential or variable), else openWakeWord where onnxruntime-node runs (arm64, x86-64), else
 * none, with the reason.
 */
export async function resolveWakeEngine(config: Config, env: NodeJS.ProcessEnv = process.env, arch: string = process.arch): Promise<{ engine: 'none' | 'porcupine' | 'openwakeword'; why: string }> {
  const engine = config.wake.engine;
  if (engine !== 'auto') return { engine, why: `wake.engine is ${engine}` };
  const { readAccessKey } = await import('./porcupine/access-key.js');
  const key = await readAccessKey({ file: config.wake.accessKeyFile, envName: config.wake.accessKeyEnv, env });
  if (key.ok) return { engine: 'porcupine', why: `a Porcupine AccessKey is configured (${key.source})` };
  // A key file that is configured but unreadable is still the user's choice: Porcupine says why.
  if (config.wake.accessKeyFile) return { engine: 'porcupine', why: 'wake.accessKeyFile is set' };
  const { archProblem } = await import('./openwakeword/runtime.js');
  const problem = archProblem(arch);
  if (!problem) return { engine: 'openwakeword', why: 'no Porcupine AccessKey; openWakeWord runs on this CPU' };
  return { engine: 'none', why: `no Porcupine AccessKey, and ${problem}` };
}

export async function createWakeWord(config: Config, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<WakeWord> {
  const resolved = await resolveWakeEngine(config, env);
  if (config.wake.engine === 'auto') log.child('wake').info('wake-engine', { engine: resolved.engine, why: resolved.why });
  switch (resolved.engine) {
    case 'none': {
      const { NoWakeWord } = await import('./none/wake.js');
      return new NoWakeWord(config.wake.engine === 'auto' ? `no wake word engine here: ${resolved.why}` : undefined);
    }
    case 'porcupine': {
      // The adapter imports @picovoice/porcupine-node only when it builds an engine, and turns a
      // missing package into an unavailable status rather than a start-up failure.
      const { PorcupineWake } = await import('./porcupine/wake.js');
      return new PorcupineWake({ config: config.wake, log: log.child('wake'), env });
    }
    case 'openwakeword': {
      // onnxruntime-node is imported when the engine starts; missing parts give a clear status.
      const { OpenWakeWord } = await import('./openwakeword/wake.js');
      return new OpenWakeWord({ config: config.wake, log: log.child('wake') });
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
    case 'esphome': {
      const { createEsphomeBackend } = await import('../backends/esphome/create.js');
      return createEsphomeBackend(config, log);
    }
  }
}
