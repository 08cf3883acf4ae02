/**
 * Capture inside the agent's process through libasound (libasound.ts): no helper process and
 * no pipe. Each read is a blocking `snd_pcm_readi` of one frame of audio on one of koffi's
 * worker threads, so the event loop never waits for the device and each frame arrives as soon
 * as the device has it. The trade-off (docs/audio.md "Backends"): a crash inside libasound
 * takes the agent down with it (systemd restarts the service), where arecord would just exit.
 */
import { DeviceError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { type CapturePcm, pcmCandidates, resolveCapturePcm, resolvesWithoutList } from './alsa-names.js';
import type { CaptureBackend, CaptureRequest, CaptureSink, CaptureStream } from './capture.js';
import { DEVICE_HINT, readCards } from './devices.js';
import {
  EPIPE,
  ESTRPIPE,
  type LibAsound,
  loadLibAsound,
  type PcmHandle,
  SND_PCM_ACCESS_RW_INTERLEAVED,
  SND_PCM_FORMAT_S16_LE,
  SND_PCM_STREAM_CAPTURE,
} from './libasound.js';
import type { CaptureCandidate } from './portaudio-child.js';

/** How long close() waits for a read still inside libasound before giving up on it. */
const CLOSE_WAIT_MS = 200;
/** Device buffer: ample room for a late event loop, µs. */
const BUFFER_US = 200_000;

export class KoffiCapture implements CaptureBackend {
  readonly name = 'koffi';
  readonly #load: () => LibAsound;

  /** `load`: the libasound binding (default: loaded on first open). */
  constructor(load: () => LibAsound = loadLibAsound) {
    this.#load = load;
  }

  async open(req: CaptureRequest, sink: CaptureSink): Promise<CaptureStream> {
    const log = req.log.child('libasound');
    let alsa: LibAsound;
    try {
      alsa = this.#load();
    } catch (err) {
      throw new DeviceError(`microphone "alsa:${req.device}": ${(err as Error).message}`);
    }
    const pcmNames = resolvesWithoutList(req.device) ? [] : alsa.pcmNames('Input');
    const pcm = resolveCapturePcm(req.device, pcmNames, readCards(req.cardsPath));
    const opened = this.#openPcm(alsa, pcm, req, log);
    return startReading(alsa, opened.handle, opened.format, pcm, req, sink, log);
  }

  #openPcm(alsa: LibAsound, pcm: CapturePcm, req: CaptureRequest, log: Logger): { handle: PcmHandle; format: CaptureCandidate } {
    const tried: string[] = [];
    const fail = (why: string) => {
      const noise = alsa.takeNoise();
      if (noise.count) log.debug('dropped-alsa-messages', { lines: noise.count, last: noise.last });
      return new DeviceError(`microphone "alsa:${req.device}" (ALSA "${pcm.name}"): ${why}; ${DEVICE_HINT}`);
    };
    let candidates: CaptureCandidate[] | undefined;
    for (let i = 0; ; i++) {
      const { err, pcm: handle } = alsa.open(pcm.name, SND_PCM_STREAM_CAPTURE, 0);
      if (err < 0) throw fail(`cannot open it: ${alsa.strerror(err)}`);
      if (!candidates) {
        const ranges = alsa.ranges(handle);
        candidates = pcmCandidates(pcm, ranges ?? {}, req);
        log.debug('hw-params', { device: pcm.name, channels: ranges?.channels, rate: ranges?.rate });
      }
      const c = candidates[i];
      if (!c) {
        alsa.close(handle);
        const noise = alsa.takeNoise();
        if (noise.count) log.debug('dropped-alsa-messages', { lines: noise.count, last: noise.last });
        throw new DeviceError(
          `microphone "alsa:${req.device}" (ALSA "${pcm.name}") cannot capture in any of the formats tried (${tried.join('; ')}); set audio.micRate/audio.micChannels to what "speaker-agent devices" lists`,
        );
      }
      // soft_resample off for hardware: a rate it does not have fails here, and the next one
      // is tried (the agent's own resampler is better than ALSA's linear one).
      const r = alsa.setParams(handle, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, c.channels, c.sampleRate, pcm.hardware ? 0 : 1, BUFFER_US);
      if (r >= 0) {
        alsa.takeNoise();
        return { handle, format: c };
      }
      tried.push(`${c.sampleRate} Hz x${c.channels}: ${alsa.strerror(r)}`);
      // set_params cannot be retried on the same handle once it fails part-way.
      alsa.close(handle);
    }
  }
}

function startReading(alsa: LibAsound, handle: PcmHandle, format: CaptureCandidate, pcm: CapturePcm, req: CaptureRequest, sink: CaptureSink, log: Logger): CaptureStream {
  const frames = Math.max(32, Math.round((format.sampleRate * req.chunkMs) / 1000));
  const bytesPerFrame = format.channels * 2;
  let closing = false;
  let released = false;
  let inFlight = false;
  let overruns = 0;
  let afterRead: (() => void) | undefined;
  const release = () => {
    if (released) return;
    released = true;
    alsa.close(handle);
    const noise = alsa.takeNoise();
    if (noise.count) log.debug('dropped-alsa-messages', { lines: noise.count, last: noise.last });
  };
  const fault = (message: string) => {
    if (closing) return;
    closing = true;
    release();
    sink.fault(message);
  };
  const read = () => {
    if (closing) return;
    // A fresh buffer per read: it is handed on as is, the reader keeps no reference to it.
    const buf = Buffer.allocUnsafe(frames * bytesPerFrame);
    inFlight = true;
    alsa.readi.async(handle, buf, frames, (err: unknown, n: number) => {
      inFlight = false;
      if (closing) {
        afterRead?.();
        return;
      }
      if (err) return fault(`libasound: ${String(err)}`);
      if (n > 0) {
        sink.pcm(n === frames ? buf : buf.subarray(0, n * bytesPerFrame));
        return read();
      }
      if (n === -EPIPE || n === -ESTRPIPE) {
        // Overrun (the agent fell behind) or suspend: recover and go on.
        if (overruns++ % 50 === 0) log.debug('capture-overrun', { device: pcm.name, count: overruns });
        const r = alsa.recover(handle, n, 1);
        if (r < 0) return fault(`libasound: ${alsa.strerror(r)}`);
        return read();
      }
      if (n === 0) return setTimeout(read, 5);
      fault(`libasound: ${alsa.strerror(n)}`);
    });
  };
  read();
  return {
    format,
    deviceName: pcm.name,
    pid: undefined,
    close: async () => {
      if (released) return;
      closing = true;
      if (inFlight) {
        // Closing the PCM under a read still inside libasound is unsafe: close when it returns
        // (one frame of audio at most on a working device), and stop waiting after a while.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, CLOSE_WAIT_MS);
          afterRead = () => {
            clearTimeout(timer);
            release();
            resolve();
          };
        });
      } else {
        release();
      }
    },
  };
}
