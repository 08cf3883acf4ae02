/**
 * Checks of the local audio engines: openWakeWord (onnxruntime-node, the models and their
 * licence) and the Speex echo canceller (koffi and libspeexdsp).
 */
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { archProblem } from '../drivers/openwakeword/runtime.js';
import { keywordLabel, MODELS_PACKAGE } from '../drivers/openwakeword/models.js';
import { porcupineKeyLookup } from './config-checks.js';
import type { CheckResult, DoctorContext } from './types.js';

const LICENCE = 'models CC BY-NC-SA 4.0: non-commercial use only';

/** Where Debian and Raspberry Pi OS put libspeexdsp.so.1 (when `ldconfig -p` cannot be asked). */
const SPEEX_PATHS = ['aarch64-linux-gnu', 'arm-linux-gnueabihf', 'x86_64-linux-gnu'].map((t) => `/usr/lib/${t}/libspeexdsp.so.1`);

function exists(ctx: DoctorContext, file: string): boolean {
  try {
    ctx.fs.stat(file);
    return true;
  } catch {
    return false;
  }
}

/** openWakeWord: the CPU, the runtime, the model files; the licence when it is active. */
export async function checkOpenWakeWord(ctx: DoctorContext, config: Config): Promise<CheckResult> {
  const id = 'openwakeword';
  const engine = config.wake.engine as string;
  if (engine !== 'openwakeword' && engine !== 'auto') return { id, status: 'skip', detail: `wake.engine is ${engine}` };
  if (engine === 'auto') {
    const key = porcupineKeyLookup(ctx, config);
    if (key.found || key.problem) return { id, status: 'skip', detail: 'wake.engine is auto and a Porcupine AccessKey is set: Porcupine listens (see the porcupine line)' };
  }
  // For `auto` a missing piece only means no wake word (the button still works): a warning.
  const bad: CheckResult['status'] = engine === 'auto' ? 'warn' : 'fail';
  const arch = ctx.arch ?? process.arch;
  const problem = archProblem(arch);
  if (problem) return { id, status: bad, detail: problem, fix: 'use a 64-bit OS (Raspberry Pi OS 64-bit), or set a Porcupine AccessKey (wake.engine porcupine)' };
  const load = await ctx.loadAddon('onnxruntime-node');
  if (load.status !== 'ok') {
    return {
      id,
      status: bad,
      detail: load.status === 'missing' ? 'onnxruntime-node is not installed' : `onnxruntime-node does not load: ${load.message}`,
      fix: `cd ${ctx.appDir} && sudo npm ci --omit=dev (onnxruntime-node is an optional dependency, 64-bit only)`,
    };
  }
  const dir = config.wake.modelDir ?? path.join(ctx.appDir, 'node_modules', MODELS_PACKAGE, 'models');
  const keyword = config.wake.keyword;
  const files = [path.join(dir, 'melspectrogram.onnx'), path.join(dir, 'embedding_model.onnx'), keyword.endsWith('.onnx') ? keyword : path.join(dir, `${keyword}_v0.1.onnx`)];
  const absent = files.filter((f) => !exists(ctx, f));
  if (absent.length > 0) {
    return {
      id,
      status: bad,
      detail: `model file${absent.length > 1 ? 's' : ''} not found: ${absent.join(', ')}`,
      fix: keyword.endsWith('.onnx') && absent.includes(keyword) ? 'fix wake.keyword' : config.wake.modelDir ? 'fix wake.modelDir' : `cd ${ctx.appDir} && sudo npm ci --omit=dev (installs ${MODELS_PACKAGE})`,
    };
  }
  return {
    id,
    status: 'ok',
    detail: `listens for "${keywordLabel(keyword)}" (threshold ${config.wake.threshold}, ${engine === 'auto' ? 'chosen by wake.engine auto' : 'wake.engine openwakeword'}); ${LICENCE}`,
  };
}

/** What in `config` runs libspeexdsp (through koffi): the echo canceller, and openWakeWord's noise suppressor. */
export function speexUses(config: Config): { aec: boolean; denoise: boolean } {
  return {
    aec: config.audio.echoCancel === 'speex',
    denoise: config.wake.noiseSuppression && (config.wake.engine === 'openwakeword' || config.wake.engine === 'auto'),
  };
}

/**
 * libspeexdsp through koffi, for audio.echoCancel speex and for the wake word's noise suppressor
 * (wake.noiseSuppression with openWakeWord): koffi loads and the library is installed.
 */
export async function checkEchoCancel(ctx: DoctorContext, config: Config): Promise<CheckResult> {
  const id = 'echo cancel';
  const { aec, denoise } = speexUses(config);
  if (!aec && !denoise) return { id, status: 'skip', detail: 'audio.echoCancel is off' };
  const without = [aec ? 'capture runs without echo cancellation' : '', denoise ? 'the wake word runs without noise suppression' : ''].filter(Boolean).join('; ');
  const load = await ctx.loadAddon('koffi');
  if (load.status !== 'ok') {
    return {
      id,
      status: 'fail',
      detail: `${load.status === 'missing' ? 'koffi (FFI) is not installed' : `koffi does not load: ${load.message}`}: ${without}`,
      fix: `cd ${ctx.appDir} && sudo npm ci --omit=dev (koffi is an optional dependency)`,
    };
  }
  const ld = await ctx.exec('ldconfig', ['-p']);
  const found = ld.code === 0 ? /libspeexdsp\.so\.1\b/.test(ld.stdout) : SPEEX_PATHS.some((p) => exists(ctx, p));
  if (!found) return { id, status: 'fail', detail: `libspeexdsp.so.1 is not installed: ${without}`, fix: 'sudo apt-get install libspeexdsp1' };
  const parts = [aec ? `speex, echo tail ${config.audio.echoTailMs} ms, reference delay ${config.audio.echoDelayMs} ms` : 'audio.echoCancel is off', denoise ? "the wake word's noise suppression on" : ''];
  return { id, status: 'ok', detail: parts.filter(Boolean).join('; ') };
}
