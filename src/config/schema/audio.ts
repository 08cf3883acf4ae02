/** Audio and conversation settings (`audio:`, `conversation:`); see docs/audio.md. */
import { z } from 'zod';
import { ms, driverSpec } from './common.js';

/** An earcon: `builtin` (generated sound shipped with the agent), `off`, or a path to a PCM16 WAV. */
const earcon = z.string().min(1, 'use "builtin", "off" or a path to a 16-bit PCM WAV file').default('builtin');

export const EarconsSchema = z
  .object({
    /** Played when the wake word or button starts listening (the mic keeps capturing meanwhile). */
    wake: earcon,
    /** Played when listening ends and the request is sent. */
    done: earcon,
    /** Played when a turn fails. */
    error: earcon,
    /** Played when the gateway connection is lost. */
    disconnected: earcon,
    /** Earcon loudness relative to the speaker volume, 0-100. */
    volume: z.number().min(0).max(100).default(60),
  })
  .strict();

/** The jitter buffer in front of the speaker (src/core/jitter.ts); see docs/audio.md. */
export const JitterSchema = z
  .object({
    /** Reply audio queued before playback starts (or the reply's end, if sooner); 0 starts at once. */
    startMs: ms(200, 0, 2000),
    /** The deepest the buffer grows after underruns; 0 never buffers. */
    maxMs: ms(1000, 0, 5000),
    /** How much deeper each underrun makes it. */
    stepMs: ms(100, 0, 1000),
  })
  .strict();

/**
 * The simulated room (`room:` mic and speaker): what the speaker plays comes back into the
 * microphone delayed, coloured (band-limited, with a few early reflections) and attenuated,
 * mixed with the microphone file. See docs/audio.md.
 */
export const RoomSchema = z
  .object({
    /** Acoustic delay from the speaker to the microphone (direct path). */
    delayMs: z.number().min(0).max(500).default(40),
    /** Level of the direct echo relative to what was played, dB (0 = as loud; positive = louder). */
    echoDb: z.number().min(-60).max(20).default(-6),
    /** Early reflections, dB relative to the direct echo (more negative = drier room). */
    reflectionsDb: z.number().min(-60).max(0).default(-12),
    /** Low and high corner of the loudspeaker's band, Hz. */
    lowHz: z.number().min(20).max(2000).default(200),
    highHz: z.number().min(1000).max(8000).default(4000),
    /** Room noise mixed into the microphone, dBFS RMS (-90 = none). */
    noiseDb: z.number().min(-90).max(-10).default(-90),
  })
  .strict();

export const AudioSchema = z
  .object({
    /** Microphone: `wav:PATH` (simulated), `room:PATH` (simulated room), `alsa:NAME` (real device). */
    mic: driverSpec.default('alsa:default'),
    /** Speaker: `wav:PATH` (simulated), `room:PATH` (simulated room), `alsa:NAME` (real device). */
    speaker: driverSpec.default('alsa:default'),
    /**
     * Echo cancellation of the capture stream against what the speaker plays: `speex`
     * (libspeexdsp's echo canceller and residual-echo suppressor; costs nothing while nothing
     * plays) or `off`. The cleaned signal feeds the wake word, the end-of-speech detector and
     * the uplink. See docs/audio.md.
     */
    echoCancel: z.enum(['speex', 'off']).default('off'),
    /** Echo tail the canceller models, from the reference on (filter length): covers the timing error plus the room's echo. */
    echoTailMs: ms(200, 20, 1000),
    /**
     * Shift of the played reference before cancelling, ms (negative: earlier). 0 trusts the
     * speaker driver's timing; `speaker-agent test-audio --echo` measures what to put here.
     */
    echoDelayMs: z.number().int().min(-200).max(1000).default(0),
    /**
     * While a reply plays, the canceller holds the captured frames and cleans them together
     * every this many ms of capture (on the capture stream's grid). 80 (the wake word's step):
     * the wake word hears a keyword no later. 160 runs two wake word steps per wake-up, less CPU
     * on a busy machine, but the wake word hears every other step 80 ms later during playback.
     * A multiple of 80, at most 320. See docs/audio.md.
     */
    echoBatchMs: z
      .number()
      .int()
      .min(80)
      .max(320)
      .refine((v) => v % 80 === 0, { message: 'must be 80, 160, 240 or 320 (a multiple of the wake word\'s 80 ms step)' })
      .default(80),
    /**
     * What the canceller's adaptive filter works on at 16 kHz capture: `low`, the band below
     * 4 kHz (at 8 kHz, about half the CPU; the wake word hears nothing above 3.8 kHz), with the
     * band above turned down by as much as the filter took off below; or `full`, the whole
     * band. See docs/audio.md.
     */
    echoBand: z.enum(['low', 'full']).default('low'),
    /** The simulated room of the `room:` mic and speaker. */
    room: RoomSchema.prefault({}),
    /** `wav:` mic: deliver frames in real time (false: as fast as possible, for tests). */
    micRealtime: z.boolean().default(true),
    /**
     * `wav:` mic: when the simulated user speaks the file: at `start`, or each time the agent
     * starts `listen`ing (a demo user who answers every prompt).
     */
    micCue: z.enum(['start', 'listen']).default('start'),
    /** `wav:` mic: after the file ends, keep delivering silence (true) or end the input (false). */
    micPadSilence: z.boolean().default(true),
    /** Milliseconds per captured frame. */
    frameMs: z.number().int().min(10).max(100).default(20),
    /** Audio kept from before the trigger so the first word is never lost. */
    preRollMs: ms(500, 0, 2000),
    /** `wav:` speaker: sample rate of the file written. */
    speakerRate: z.number().int().min(8000).max(48_000).default(16_000),
    /** `wav:` speaker: play in real time (drained fires when the audio would have finished). */
    speakerRealtime: z.boolean().default(true),
    /** Software volume 0-100. */
    volume: z.number().min(0).max(100).default(100),
    /**
     * What talks to ALSA for `alsa:` devices: `arecord` (alsa-utils' arecord/aplay processes),
     * `koffi` (libasound in-process), `naudiodon` (the naudiodon and speaker npm addons), or
     * `auto` (the first available, in that order). See docs/audio.md "Backends".
     */
    alsaBackend: z.enum(['auto', 'arecord', 'koffi', 'naudiodon']).default('auto'),
    /** `alsa:` mic: channel to keep (0-based, e.g. one mic of the 4-mic HAT) or "mix" (average of all). */
    micChannel: z.union([z.number().int().min(0).max(15), z.literal('mix')]).default('mix'),
    /** `alsa:` mic: native capture rate in Hz; 0 tries 16000, 48000, the device default, 44100. */
    micRate: z.number().int().min(0).max(192_000).default(0),
    /** `alsa:` mic: native capture channel count; 0 uses the device's own count (hardware devices). */
    micChannels: z.number().int().min(0).max(16).default(0),
    /** MP3 reply decoder: `mpg123` (WebAssembly, in-process; default) or `lame` (node-lame, a lame child process per reply). */
    mp3Decoder: z.enum(['mpg123', 'lame']).default('mpg123'),
    /** Short sounds for wake, done, error and disconnected. */
    earcons: EarconsSchema.prefault({}),
    jitterBuffer: JitterSchema.prefault({}),
  })
  .strict();


export const VadSchema = z
  .object({
    /**
     * `band`: two-band detector with a per-band noise floor (default; measured in
     * bench/eos-eval.ts). `energy`: the simple full-band detector (uses thresholdDb, minLevelDb).
     */
    engine: z.enum(['band', 'energy']).default('band'),
    /** Frames louder than the noise floor by this many dB count as speech. */
    thresholdDb: z.number().min(3).max(40).default(12),
    /** Absolute floor: quieter frames are never speech (dBFS). */
    minLevelDb: z.number().min(-90).max(0).default(-50),
    /** Speech must last this long before it counts (rejects clicks). */
    speechStartMs: ms(100, 0, 2000),
    /**
     * Silence after speech that ends the utterance. Keep it above the longest pause users make
     * inside a sentence (600 ms) plus fading word endings; the band detector adds up to 300 ms
     * more in loud noise.
     */
    hangoverMs: ms(750, 100, 5000),
  })
  .strict();

export const ConversationSchema = z
  .object({
    /** Listening lasts while the button is held, and ends on release. */
    pushToTalk: z.boolean().default(false),
    /**
     * End listening on local end of speech (VAD) as well as on the backend's final transcript.
     * Default: off with the gateway (its flow ends listening with `stt_transcript`, and the agent
     * then sends `audio_end`), on with the direct backends (the agent asks the service for the
     * final transcript at once). See docs/audio.md "End of listening".
     */
    endOnSilence: z.boolean().optional(),
    noSpeechTimeoutMs: ms(8000, 500),
    maxUtteranceMs: ms(10_000, 1000),
    thinkingTimeoutMs: ms(15_000, 1000),
    /** Pause after a reply finished playing before the mic reopens for a follow-up. */
    settleMs: ms(500, 0, 5000),
    /** A follow-up with no speech for this long ends without a turn. */
    expectSpeechTimeoutMs: ms(6000, 500),
    vad: VadSchema.prefault({}),
  })
  .strict();
