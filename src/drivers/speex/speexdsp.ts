/**
 * libspeexdsp's acoustic echo canceller (MDF adaptive filter) and its preprocessor, whose
 * residual-echo suppressor is tied to the canceller (SPEEX_PREPROCESS_SET_ECHO_STATE), called
 * through koffi. The preprocessor alone is also the wake word's noise suppressor
 * (`wake.noiseSuppression`). Debian's `libspeexdsp1` provides the library; koffi is an optional
 * dependency and is imported only when `audio.echoCancel: speex` or the noise suppressor is chosen.
 */
import type * as KoffiModule from 'koffi';
import type { AecEngine } from '../../audio/echo-cancel.js';

/** speex_echo.h */
const SPEEX_ECHO_SET_SAMPLING_RATE = 24;
/** speex_preprocess.h */
const SPEEX_PREPROCESS_SET_DENOISE = 0;
const SPEEX_PREPROCESS_SET_NOISE_SUPPRESS = 18;
const SPEEX_PREPROCESS_SET_ECHO_SUPPRESS = 20;
const SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE = 22;
const SPEEX_PREPROCESS_SET_ECHO_STATE = 24;

/** The library's soname on Debian and Raspberry Pi OS. */
export const SPEEXDSP_LIBRARY = 'libspeexdsp.so.1';

export class SpeexUnavailableError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'SpeexUnavailableError';
  }
}

export interface SpeexCancellerOptions {
  /** Samples per block (10-20 ms). */
  frameSize: number;
  /** Echo tail modelled, samples (100-500 ms of audio). */
  filterLength: number;
  sampleRate: number;
  /** Run the preprocessor's residual-echo suppressor after the filter (default true). */
  residualSuppression?: boolean;
  /** Let the preprocessor also reduce stationary noise (default true; its suppressor needs the denoiser on). */
  denoise?: boolean;
  /** Most the suppressor takes off residual echo, dB (negative; libspeexdsp's default -40). */
  echoSuppressDb?: number;
  /** The same while the near end talks too, dB (negative; libspeexdsp's default -15). */
  echoSuppressActiveDb?: number;
}

export interface SpeexDenoiserOptions {
  /** Samples per block (10-20 ms). */
  frameSize: number;
  sampleRate: number;
  /** Most the denoiser takes off noise, dB (negative; libspeexdsp's default -15). */
  noiseSuppressDb?: number;
}

/** libspeexdsp's preprocessor with only its denoiser on (no AGC, VAD or dereverberation). */
export interface SpeexDenoiser {
  /** Samples per `process()` call. */
  readonly frameSize: number;
  /** Denoises one block of exactly `frameSize` samples, in place. Throws after destroy(). */
  process(pcm: Int16Array): void;
  /** Frees the native state. Safe to call twice. */
  destroy(): void;
}

export interface SpeexDsp {
  createCanceller(options: SpeexCancellerOptions): AecEngine;
  createDenoiser(options: SpeexDenoiserOptions): SpeexDenoiser;
}

type Fn = (...args: unknown[]) => unknown;

/** Loaded libraries by path: the binding is made once per process, like a module import. */
const loaded = new Map<string, Promise<SpeexDsp>>();

/** Loads koffi and libspeexdsp. Rejects with SpeexUnavailableError saying what to install. */
export function loadSpeexDsp(library: string = SPEEXDSP_LIBRARY): Promise<SpeexDsp> {
  let p = loaded.get(library);
  if (!p) {
    p = bind(library);
    // A failure is not cached: installing the library must not need a new process.
    p.catch(() => loaded.delete(library));
    loaded.set(library, p);
  }
  return p;
}

async function bind(library: string): Promise<SpeexDsp> {
  let koffi: typeof KoffiModule;
  try {
    const mod = (await import('koffi')) as Partial<typeof KoffiModule> & { default?: typeof KoffiModule };
    // koffi is CommonJS: under ESM its API may sit on the default export.
    koffi = (typeof mod.load === 'function' ? mod : mod.default) as typeof KoffiModule;
  } catch (err) {
    throw new SpeexUnavailableError(`koffi (FFI) is not installed or does not load (${firstLine(err)}): run "npm install koffi" in the agent directory`, { cause: err });
  }
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(library);
  } catch (err) {
    throw new SpeexUnavailableError(`cannot load ${library} (${firstLine(err)}): sudo apt-get install libspeexdsp1`, { cause: err });
  }
  // Anonymous types: koffi's type names are process-wide.
  const echoState = koffi.pointer(koffi.opaque());
  const preState = koffi.pointer(koffi.opaque());
  const f = {
    echoInit: lib.func('speex_echo_state_init', echoState, ['int', 'int']) as Fn,
    echoDestroy: lib.func('speex_echo_state_destroy', 'void', [echoState]) as Fn,
    echoCancel: lib.func('speex_echo_cancellation', 'void', [echoState, 'const int16_t *', 'const int16_t *', 'int16_t *']) as Fn,
    echoCtl: lib.func('speex_echo_ctl', 'int', [echoState, 'int', 'void *']) as Fn,
    preInit: lib.func('speex_preprocess_state_init', preState, ['int', 'int']) as Fn,
    preDestroy: lib.func('speex_preprocess_state_destroy', 'void', [preState]) as Fn,
    preRun: lib.func('speex_preprocess_run', 'int', [preState, 'int16_t *']) as Fn,
    preCtl: lib.func('speex_preprocess_ctl', 'int', [preState, 'int', 'void *']) as Fn,
    // SET_ECHO_STATE passes the echo state itself as the `void *` argument.
    preSetEcho: lib.func('speex_preprocess_ctl', 'int', [preState, 'int', echoState]) as Fn,
  };
  return {
    createCanceller(o) {
      const echo = f.echoInit(o.frameSize, o.filterLength);
      if (!echo) throw new SpeexUnavailableError('speex_echo_state_init failed (out of memory?)');
      f.echoCtl(echo, SPEEX_ECHO_SET_SAMPLING_RATE, new Int32Array([o.sampleRate]));
      let pre: unknown = null;
      if (o.residualSuppression !== false) {
        pre = f.preInit(o.frameSize, o.sampleRate);
        if (!pre) {
          f.echoDestroy(echo);
          throw new SpeexUnavailableError('speex_preprocess_state_init failed (out of memory?)');
        }
        f.preSetEcho(pre, SPEEX_PREPROCESS_SET_ECHO_STATE, echo);
        f.preCtl(pre, SPEEX_PREPROCESS_SET_DENOISE, new Int32Array([o.denoise === false ? 0 : 1]));
        if (o.echoSuppressDb !== undefined) f.preCtl(pre, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, new Int32Array([Math.round(o.echoSuppressDb)]));
        if (o.echoSuppressActiveDb !== undefined) f.preCtl(pre, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, new Int32Array([Math.round(o.echoSuppressActiveDb)]));
      }
      let alive = true;
      return {
        frameSize: o.frameSize,
        process(rec, ref, out) {
          if (!alive) throw new Error('speex canceller used after destroy()');
          f.echoCancel(echo, rec, ref, out);
          if (pre) f.preRun(pre, out);
        },
        destroy() {
          if (!alive) return;
          alive = false;
          if (pre) f.preDestroy(pre);
          f.echoDestroy(echo);
        },
      };
    },
    createDenoiser(o) {
      if (!Number.isInteger(o.frameSize) || o.frameSize < 1) throw new RangeError(`frameSize must be a positive integer, got ${o.frameSize}`);
      const pre = f.preInit(o.frameSize, o.sampleRate);
      if (!pre) throw new SpeexUnavailableError('speex_preprocess_state_init failed (out of memory?)');
      // The state starts with the denoiser on and AGC, VAD and dereverberation off; say it anyway.
      f.preCtl(pre, SPEEX_PREPROCESS_SET_DENOISE, new Int32Array([1]));
      if (o.noiseSuppressDb !== undefined) f.preCtl(pre, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, new Int32Array([Math.round(o.noiseSuppressDb)]));
      let alive = true;
      return {
        frameSize: o.frameSize,
        process(pcm) {
          if (!alive) throw new Error('speex denoiser used after destroy()');
          if (pcm.length !== o.frameSize) throw new RangeError(`block must have ${o.frameSize} samples, got ${pcm.length}`);
          f.preRun(pre, pcm);
        },
        destroy() {
          if (!alive) return;
          alive = false;
          f.preDestroy(pre);
        },
      };
    },
  };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
