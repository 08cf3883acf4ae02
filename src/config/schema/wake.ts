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
    /** `none`: button and control socket only. `porcupine`: Picovoice Porcupine (needs an AccessKey). */
    engine: z.enum(['none', 'porcupine']).default('none'),
    /** Keywords listened for; a bare string is a keyword with the default sensitivity. */
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
     * `desensitise` runs a second Porcupine instance at `guardSensitivity` and passes only its
     * detections, which allows barge-in by wake word over the device's own voice.
     */
    guardMode: z.enum(['ignore', 'desensitise']).default('ignore'),
    /** Sensitivity of the guard instance in `desensitise` mode (lower = harder to trigger). */
    guardSensitivity: sensitivity.default(0.25),
    /** First retry after Porcupine failed to start; doubles up to `retryMaxMs`. */
    retryMinMs: ms(30_000, 1000, 3_600_000),
    retryMaxMs: ms(1_800_000, 1000, 86_400_000),
  })
  .strict();
