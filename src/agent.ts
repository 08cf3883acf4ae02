/**
 * Composition root: builds the drivers the config names, the backend, the session and the
 * control socket, and starts/stops them in order. Tests pass their own ports in `overrides`.
 */
import { Earcons } from './audio/earcons.js';
import { createMp3DecoderFactory, warmMp3Decoder } from './audio/mp3-decoders.js';
import type { Config } from './config/schema.js';
import { ControlServer } from './control/server.js';
import { applyCommand, sessionVolume } from './core/commands.js';
import { Session } from './core/session.js';
import type { DecoderFactory } from './core/player.js';
import { createAudio, createBackend, createGpio, createWakeWord } from './drivers/registry.js';
import { isHostedBackend, sessionHost } from './backends/esphome/host.js';
import { EndAwareMic } from './drivers/mic-end.js';
import type { Logger } from './log/logger.js';
import type { AudioInput } from './ports/audio-input.js';
import type { AudioOutput } from './ports/audio-output.js';
import type { Backend } from './ports/backend.js';
import type { Gpio } from './ports/gpio.js';
import type { WakeWord } from './ports/wake-word.js';
import type { MqttAdapter } from './mqtt/adapter.js';
import type { Scheduler } from './util/clock.js';
import { TypedEmitter } from './util/typed-emitter.js';

/** Timeline marks after which a reply may come: the first of them loads the MP3 decoder. */
const REPLY_COMING = new Set(['transcript', 'audio_end', 'reply_text', 'reply_audio']);

export interface AgentOverrides {
  backend?: Backend;
  mic?: AudioInput;
  speaker?: AudioOutput;
  wake?: WakeWord;
  gpio?: Gpio;
  decoderFactory?: DecoderFactory;
  newId?: () => string;
  /** The session's clock (tests pass a manual one). */
  clock?: Scheduler;
}

export type AgentEvents = {
  /** Everything started; the backend may still be connecting. */
  started: [];
  /** The backend connected, or failed its first attempt (degraded, with the reason). */
  ready: [{ connected: boolean; reason?: string }];
  stopping: [];
  stopped: [];
};

/** A mic that can be told "the simulated user speaks now" (the `wav:` driver). */
function isCueable(mic: AudioInput): mic is AudioInput & { cue(): void } {
  return typeof (mic as { cue?: unknown }).cue === 'function';
}

export class Agent extends TypedEmitter<AgentEvents> {
  #stopping: Promise<void> | undefined;
  #started = false;

  constructor(
    readonly config: Config,
    readonly session: Session,
    readonly control: ControlServer | undefined,
    readonly backend: Backend,
    private readonly log: Logger,
    /** The MQTT adapter (docs/mqtt.md) when `mqtt.url` is set. */
    readonly mqtt?: MqttAdapter,
  ) {
    super();
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    let readySent = false;
    const onReady = (connected: boolean, reason?: string) => {
      if (readySent) return;
      readySent = true;
      this.emit('ready', { connected, ...(reason ? { reason } : {}) });
    };
    this.session.on('state', (s) => {
      if (s.connected) onReady(true);
    });
    // The first failed attempt makes the agent ready in a degraded state, with the reason.
    this.backend.once('disconnected', (e) => onReady(false, e.reason));
    await this.session.start();
    if (this.control) await this.control.start();
    if (this.mqtt) await this.mqtt.start();
    this.log.info('started', { backend: this.config.backend, mic: this.config.audio.mic, speaker: this.config.audio.speaker, wake: this.config.wake.engine, gpio: this.config.gpio.driver });
    this.emit('started');
  }

  /** Graceful stop: ends an open turn, closes the connection, finalises output. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.emit('stopping');
      this.log.info('stopping');
      if (this.mqtt) await this.mqtt.stop().catch((err: unknown) => this.log.warn('stop-failed', { part: 'mqtt', error: err instanceof Error ? err.message : String(err) }));
      if (this.control) await this.control.stop();
      await this.session.stop();
      this.log.info('stopped');
      this.emit('stopped');
    })();
    return this.#stopping;
  }
}

export interface CreateAgentOptions {
  log: Logger;
  /** Control socket path; null disables it. */
  controlSocket: string | null;
  overrides?: AgentOverrides;
}

export async function createAgent(config: Config, options: CreateAgentOptions): Promise<Agent> {
  const { log } = options;
  const o = options.overrides ?? {};
  // Drivers are created one by one so the first failure names its part.
  // Mic and speaker come as a pair: the simulated room joins them, the echo canceller wraps the mic.
  const { mic: rawMic, speaker } = await createAudio(config, log, { mic: o.mic, speaker: o.speaker });
  // A mic that ends leaves the agent deaf: reported once, as a mic error (src/drivers/mic-end.ts).
  const mic = new EndAwareMic(rawMic);
  const wake = o.wake ?? (await createWakeWord(config, log));
  const gpio = o.gpio ?? (await createGpio(config, log));
  const backend = o.backend ?? (await createBackend(config, log));
  const earcons = new Earcons({ config: config.audio.earcons, log });
  const session = new Session({
    backend,
    mic,
    speaker,
    wake,
    gpio,
    config: config.conversation,
    log,
    preRollMs: config.audio.preRollMs,
    decoderFactory: o.decoderFactory ?? createMp3DecoderFactory(config.audio.mp3Decoder),
    earcons,
    jitter: config.audio.jitterBuffer,
    volume: config.audio.volume,
    ...(o.newId ? { newId: o.newId } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  });
  // Commands in the gateway's `response` payloads (a skill turned the volume up): through the
  // session, which owns the volume, so MQTT and Home Assistant see the change.
  const volume = sessionVolume(session, config.audio.volume);
  session.on('response', (r) => applyCommand(r.data, volume, log.child('commands')));
  // The MP3 decoder (about 2 MiB resident) loads when the first utterance ends, not at start
  // nor when the turn opens: a turn that is only streamed up never needs it, and a reply is at
  // least the recogniser's and the skill's time away then (docs/benchmarks.md, memory).
  if (!o.decoderFactory) {
    const warm = (m: { mark: string }) => {
      if (!REPLY_COMING.has(m.mark)) return;
      session.off('timeline', warm);
      void warmMp3Decoder(config.audio.mp3Decoder);
    };
    session.on('timeline', warm);
  }
  if (config.audio.micCue === 'listen' && isCueable(rawMic)) {
    session.on('timeline', (m) => {
      if (m.mark === 'audio_start') rawMic.cue();
    });
  }
  // A backend that is a device for its server (esphome) reads and sets mute and volume itself.
  if (isHostedBackend(backend)) backend.attachHost(sessionHost(session, wake, config.audio.volume));
  // MQTT (docs/mqtt.md): the adapter, and the `mqtt` package under it, load only when configured.
  const mqtt = config.mqtt.url ? new (await import('./mqtt/adapter.js')).MqttAdapter({ config: config.mqtt, session, log, volume: config.audio.volume }) : undefined;
  const control = options.controlSocket ? new ControlServer(options.controlSocket, session, log, mqtt ? { mqtt: () => mqtt.status() } : {}) : undefined;
  return new Agent(config, session, control, backend, log, mqtt);
}
