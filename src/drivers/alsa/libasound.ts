/**
 * A thin binding to libasound's PCM API through koffi (an FFI package that ships prebuilt
 * builds for arm64, armhf and x86-64, so nothing compiles at install time). Only what the
 * in-process ALSA backend needs (koffi-capture.ts, koffi-playback.ts): open/close, simple
 * parameters, interleaved read/write, recovery, drain/drop, hardware ranges and device names.
 *
 * libasound's error messages ("ALSA lib pcm.c:...") would go to the daemon's stderr, between
 * its JSON log lines: an error handler counts them instead (`takeNoise()`), and keeps the last
 * one for diagnostics.
 */
import { createRequire } from 'node:module';
import { DeviceError, errorMessage } from '../../errors.js';

export const SND_PCM_STREAM_PLAYBACK = 0;
export const SND_PCM_STREAM_CAPTURE = 1;
export const SND_PCM_NONBLOCK = 1;
export const SND_PCM_FORMAT_S16_LE = 2;
export const SND_PCM_ACCESS_RW_INTERLEAVED = 3;
/** snd_pcm_state_t values used here. */
export const SND_PCM_STATE_SETUP = 1;
export const SND_PCM_STATE_RUNNING = 3;
export const SND_PCM_STATE_XRUN = 4;
export const SND_PCM_STATE_DRAINING = 5;
export const EAGAIN = 11;
export const EPIPE = 32;
export const ESTRPIPE = 86;

/** Opaque handle of an open PCM. */
export type PcmHandle = unknown;

/** A koffi function; `.async` runs it on a worker thread (blocking calls). */
interface Fn<A extends unknown[], R> {
  (...args: A): R;
  async(...args: [...A, (err: unknown, result: R) => void]): void;
}

export interface LibAsound {
  open(name: string, stream: number, mode: number): { err: number; pcm: PcmHandle };
  close: Fn<[PcmHandle], number>;
  setParams: Fn<[PcmHandle, number, number, number, number, number, number], number>;
  readi: Fn<[PcmHandle, Buffer, number], number>;
  writei: Fn<[PcmHandle, Buffer, number], number>;
  recover: Fn<[PcmHandle, number, number], number>;
  drop: Fn<[PcmHandle], number>;
  drain: Fn<[PcmHandle], number>;
  state: Fn<[PcmHandle], number>;
  prepare: Fn<[PcmHandle], number>;
  strerror(err: number): string;
  /** Frames the device still has to play, or a negative error code. */
  delay(pcm: PcmHandle): number;
  /** Channel and rate ranges of an open PCM, before any parameters are set. */
  ranges(pcm: PcmHandle): { channels: { min: number; max: number }; rate: { min: number; max: number } } | undefined;
  /** PCM names with hints (what `arecord -L` lists), for `CAPTURE` or `PLAYBACK` (`Input`/`Output`). */
  pcmNames(direction?: 'Input' | 'Output'): string[];
  /** libasound messages since the last call, counted (and the last one kept) instead of printed. */
  takeNoise(): { count: number; last: string };
}

/** The part of koffi used here (koffi is an optional dependency: no type import from it). */
interface Koffi {
  load(path: string): { func(definition: string): unknown };
  opaque(name: string): unknown;
  proto(definition: string): unknown;
  pointer(type: unknown): unknown;
  register(callback: (...args: never[]) => void, type: unknown): unknown;
  decode(ptr: unknown, offset: number, type: string): unknown;
  sizeof(type: string): number;
}

let cached: LibAsound | undefined;

/**
 * Loads koffi and libasound.so.2 once per process. Throws DeviceError with the fix when either
 * is missing.
 */
export function loadLibAsound(): LibAsound {
  if (cached) return cached;
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    throw new DeviceError(`the koffi ALSA backend needs the koffi module (${errorMessage(err)}): run "npm ci --omit=dev" in the agent's directory, or set audio.alsaBackend: arecord`);
  }
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = koffi.load('libasound.so.2');
  } catch (err) {
    throw new DeviceError(`the koffi ALSA backend cannot load libasound.so.2 (${errorMessage(err)}): sudo apt-get install libasound2 (libasound2t64 on Debian 13)`);
  }
  koffi.opaque('snd_pcm_t');
  koffi.opaque('snd_pcm_hw_params_t');
  const f = (def: string) => lib.func(def) as unknown as Fn<unknown[], unknown>;
  const open = f('int snd_pcm_open(_Out_ snd_pcm_t **pcm, const char *name, int stream, int mode)');
  const delay = f('int snd_pcm_delay(snd_pcm_t *pcm, _Out_ long *delay)');
  const hwMalloc = f('int snd_pcm_hw_params_malloc(_Out_ snd_pcm_hw_params_t **ptr)');
  const hwFree = f('void snd_pcm_hw_params_free(snd_pcm_hw_params_t *obj)');
  const hwAny = f('int snd_pcm_hw_params_any(snd_pcm_t *pcm, snd_pcm_hw_params_t *params)');
  const chMin = f('int snd_pcm_hw_params_get_channels_min(const snd_pcm_hw_params_t *params, _Out_ unsigned int *val)');
  const chMax = f('int snd_pcm_hw_params_get_channels_max(const snd_pcm_hw_params_t *params, _Out_ unsigned int *val)');
  const rateMin = f('int snd_pcm_hw_params_get_rate_min(const snd_pcm_hw_params_t *params, _Out_ unsigned int *val, _Out_ int *dir)');
  const rateMax = f('int snd_pcm_hw_params_get_rate_max(const snd_pcm_hw_params_t *params, _Out_ unsigned int *val, _Out_ int *dir)');
  const nameHint = f('int snd_device_name_hint(int card, const char *iface, _Out_ void **hints)');
  const getHint = f('char *! snd_device_name_get_hint(const void *hint, const char *id)');
  const freeHint = f('int snd_device_name_free_hint(void *hints)');
  const strerror = f('const char *snd_strerror(int errnum)');
  // The handler is variadic in C; the fixed arguments are passed the same way on the ABIs
  // Raspberry Pi OS runs (AArch64, ARM EABI hard-float, x86-64), and the format's arguments
  // are not read. Kept referenced for the process's life.
  const handlerType = koffi.proto('void snd_lib_error_handler_t(const char *file, int line, const char *func, int err, const char *fmt)');
  const setHandler = f('int snd_lib_error_set_handler(snd_lib_error_handler_t *handler)');
  const noise = { count: 0, last: '' };
  const handler = koffi.register((file: string, line: number, fn: string, err: number, fmt: string) => {
    noise.count++;
    noise.last = `${fn}: ${fmt}${err ? ` (${String(strerror(err))})` : ''}`;
  }, koffi.pointer(handlerType));
  setHandler(handler);

  const u32 = (call: (out: number[]) => unknown): number | undefined => {
    const out = [0];
    return (call(out) as number) < 0 ? undefined : out[0];
  };
  cached = {
    open: (name, stream, mode) => {
      const out: unknown[] = [null];
      const err = open(out, name, stream, mode) as number;
      return { err, pcm: out[0] };
    },
    close: f('int snd_pcm_close(snd_pcm_t *pcm)') as LibAsound['close'],
    setParams: f(
      'int snd_pcm_set_params(snd_pcm_t *pcm, int format, int access, unsigned int channels, unsigned int rate, int soft_resample, unsigned int latency)',
    ) as LibAsound['setParams'],
    readi: f('long snd_pcm_readi(snd_pcm_t *pcm, _Out_ uint8_t *buffer, unsigned long size)') as LibAsound['readi'],
    writei: f('long snd_pcm_writei(snd_pcm_t *pcm, const uint8_t *buffer, unsigned long size)') as LibAsound['writei'],
    recover: f('int snd_pcm_recover(snd_pcm_t *pcm, int err, int silent)') as LibAsound['recover'],
    drop: f('int snd_pcm_drop(snd_pcm_t *pcm)') as LibAsound['drop'],
    drain: f('int snd_pcm_drain(snd_pcm_t *pcm)') as LibAsound['drain'],
    state: f('int snd_pcm_state(snd_pcm_t *pcm)') as LibAsound['state'],
    prepare: f('int snd_pcm_prepare(snd_pcm_t *pcm)') as LibAsound['prepare'],
    strerror: (err) => String(strerror(err)),
    delay: (pcm) => {
      const out = [0];
      const err = delay(pcm, out) as number;
      return err < 0 ? err : Number(out[0]);
    },
    ranges: (pcm) => {
      const box: unknown[] = [null];
      if ((hwMalloc(box) as number) < 0) return undefined;
      const params = box[0];
      try {
        if ((hwAny(pcm, params) as number) < 0) return undefined;
        const dir = [0];
        const cmin = u32((o) => chMin(params, o));
        const cmax = u32((o) => chMax(params, o));
        const rmin = u32((o) => rateMin(params, o, dir));
        const rmax = u32((o) => rateMax(params, o, dir));
        if (cmin === undefined || cmax === undefined || rmin === undefined || rmax === undefined) return undefined;
        return { channels: { min: cmin, max: cmax }, rate: { min: rmin, max: rmax } };
      } finally {
        hwFree(params);
      }
    },
    pcmNames: (direction) => {
      const box: unknown[] = [null];
      if ((nameHint(-1, 'pcm', box) as number) < 0 || !box[0]) return [];
      const names: string[] = [];
      try {
        const size = koffi.sizeof('void *');
        for (let i = 0; ; i++) {
          const hint = koffi.decode(box[0], i * size, 'void *') as unknown;
          if (!hint) break;
          const name = getHint(hint, 'NAME') as string | null;
          const io = getHint(hint, 'IOID') as string | null;
          // IOID absent: both directions.
          if (name && (!direction || !io || io === direction)) names.push(name);
        }
      } finally {
        freeHint(box[0]);
      }
      return names;
    },
    takeNoise: () => {
      const r = { ...noise };
      noise.count = 0;
      return r;
    },
  };
  return cached;
}
