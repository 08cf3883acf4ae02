/**
 * `room:` microphone and speaker: a simulated room for tests, benches and the demo. The speaker
 * is a `wav:` speaker (what it plays goes into its file); the microphone plays its file like a
 * `wav:` mic, and hears the speaker too: delayed, band-limited, with early reflections,
 * attenuated (RoomEcho), plus optional room noise, in real time.
 *
 * The two share one clock: the speaker reports each chunk with the time it starts playing
 * (`output` events), the room places it on the microphone's sample timeline, and the mic mixes
 * the echo into the frame that covers it. Always paced in real time.
 */
import { CaptureClock } from '../../audio/capture-clock.js';
import { EchoReference } from '../../audio/echo-reference.js';
import { CORE_FORMAT, type PcmFormat } from '../../audio/format.js';
import { PlaybackTap } from '../../audio/playback-tap.js';
import type { AudioFrame, AudioInput, AudioInputEvents } from '../../ports/audio-input.js';
import type { AudioOutput } from '../../ports/audio-output.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { WavMic, type WavMicOptions } from '../wav/mic.js';
import { WavSpeaker, type WavSpeakerOptions } from '../wav/speaker.js';
import { mixRoom, RoomEcho, RoomNoise, type RoomConfig } from './acoustics.js';

export class RoomMic extends TypedEmitter<AudioInputEvents> implements AudioInput {
  readonly format: PcmFormat = CORE_FORMAT;
  readonly #inner: WavMic;
  readonly #tap: PlaybackTap;
  readonly #reference = new EchoReference();
  readonly #clock = new CaptureClock(CORE_FORMAT.sampleRate);
  readonly #echo: RoomEcho;
  readonly #noise: RoomNoise;
  #dry = new Int16Array(0);
  #wet = new Float32Array(0);
  #started = false;

  constructor(mic: WavMicOptions, speaker: AudioOutput, room: RoomConfig) {
    super();
    this.#inner = new WavMic({ ...mic, realtime: true });
    this.#echo = new RoomEcho(room, CORE_FORMAT.sampleRate);
    this.#noise = new RoomNoise(room.noiseDb);
    this.#tap = new PlaybackTap({ output: speaker, reference: this.#reference, clock: this.#clock });
  }

  /** The simulated user starts speaking the file now. */
  cue(): void {
    this.#inner.cue();
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#inner.on('frame', this.#onFrame);
    this.#inner.on('end', this.#onEnd);
    this.#tap.attach();
    try {
      await this.#inner.start();
    } catch (err) {
      this.#started = false;
      this.#inner.off('frame', this.#onFrame);
      this.#inner.off('end', this.#onEnd);
      this.#tap.detach();
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.#inner.stop();
    this.#inner.off('frame', this.#onFrame);
    this.#inner.off('end', this.#onEnd);
    this.#tap.detach();
  }

  readonly #onFrame = (f: AudioFrame): void => {
    const n = f.pcm.length;
    // The wav mic emits a frame when its first sample is "spoken".
    this.#clock.observe(f.sampleIndex, performance.now());
    if (this.#dry.length !== n) {
      this.#dry = new Int16Array(n);
      this.#wet = new Float32Array(n);
    }
    this.#reference.read(this.#dry, f.sampleIndex);
    this.#echo.process(this.#dry, this.#wet);
    this.emit('frame', { pcm: mixRoom(f.pcm, this.#wet, this.#noise), sampleIndex: f.sampleIndex });
  };

  readonly #onEnd = (): void => {
    this.emit('end');
  };
}

/** Builds the two ends of one simulated room. */
export function createRoom(opts: { mic: WavMicOptions; speaker: WavSpeakerOptions; room: RoomConfig }): { mic: RoomMic; speaker: WavSpeaker } {
  const speaker = new WavSpeaker(opts.speaker);
  const mic = new RoomMic(opts.mic, speaker, opts.room);
  return { mic, speaker };
}
