/**
 * Capture through naudiodon (PortAudio) in its helper process (see portaudio-child.ts for why a
 * process). Device names are PortAudio's, looked up by devices.ts; the format is chosen among
 * what the device reports (16 kHz when it can, else 48 kHz; its own channel count for hardware
 * devices).
 */
import type { ChannelSelect } from '../../audio/channels.js';
import { DeviceError, errorMessage } from '../../errors.js';
import type { CaptureBackend, CaptureRequest, CaptureSink, CaptureStream } from './capture.js';
import { hwAddress, type PaDevice, readCards, resolveCaptureDevice } from './devices.js';
import type { CaptureCandidate } from './portaudio-child.js';
import { PortAudioProcess } from './portaudio-process.js';

/** Capture formats to try, best first: native to the device, 16 kHz first (no resampling). */
export function captureCandidates(device: PaDevice, opts: { rate?: number; channels?: number; channel?: ChannelSelect }): CaptureCandidate[] {
  const hardware = hwAddress(device) !== undefined;
  const needed = typeof opts.channel === 'number' ? opts.channel + 1 : 1;
  const max = Math.max(1, Math.min(device.maxInputChannels, 8));
  // Plugin PCMs (default, dsnoop, plughw) convert anything: ask for just what we use.
  const channelOptions = opts.channels ? [opts.channels] : hardware ? [max, 2, 1] : [needed];
  const rates = opts.rate ? [opts.rate] : [16000, 48000, Math.round(device.defaultSampleRate), 44100];
  const out: CaptureCandidate[] = [];
  for (const sampleRate of rates) {
    for (const channels of channelOptions) {
      // An explicit count is tried as given (a bad channel index then fails with its own message).
      if (!opts.channels && (channels < needed || channels > Math.max(max, needed))) continue;
      if (!out.some((c) => c.sampleRate === sampleRate && c.channels === channels)) out.push({ sampleRate, channels });
    }
  }
  return out;
}

export class NaudiodonCapture implements CaptureBackend {
  readonly name = 'naudiodon';
  readonly #modulePath: string | undefined;

  /** `modulePath`: naudiodon's module path (default: resolved from this package). */
  constructor(modulePath?: string) {
    this.#modulePath = modulePath;
  }

  async open(req: CaptureRequest, sink: CaptureSink): Promise<CaptureStream> {
    let proc: PortAudioProcess;
    try {
      proc = new PortAudioProcess({ log: req.log.child('portaudio'), env: req.env, modulePath: this.#modulePath });
    } catch (err) {
      throw new DeviceError(`microphone "alsa:${req.device}": ${errorMessage(err)}`);
    }
    let open = false;
    let closed = false;
    proc.on('pcm', (b) => {
      if (!closed) sink.pcm(b);
    });
    const ended = new Promise<never>((_, reject) => {
      proc.on('error', (msg) => reject(new DeviceError(`microphone "alsa:${req.device}": ${msg}`)));
      proc.on('exit', (code) => reject(new DeviceError(`microphone "alsa:${req.device}": the capture helper exited (code ${code})`)));
    });
    ended.catch(() => undefined); // only awaited while opening
    let format: CaptureCandidate;
    let device: PaDevice;
    try {
      const [list] = await Promise.race([proc.next('devices'), ended]);
      device = resolveCaptureDevice(req.device, list.devices, readCards(req.cardsPath), list.defaultInput);
      const candidates = captureCandidates(device, req);
      proc.send({ type: 'open', deviceId: device.id, candidates, chunkMs: req.chunkMs });
      format = await Promise.race([
        proc.next('opened').then(([f]) => f),
        proc.next('failed').then(([tried]) => {
          throw new DeviceError(`microphone "${device.name}" cannot capture in any of the formats tried (${tried.join('; ')}); set audio.micRate/audio.micChannels to what "speaker-agent devices" lists`);
        }),
        ended,
      ]);
    } catch (err) {
      closed = true;
      await proc.kill();
      throw err;
    }
    open = true;
    let faulted = false;
    const fault = (msg: string) => {
      if (!open || closed || faulted) return;
      faulted = true;
      sink.fault(msg);
    };
    proc.on('error', fault);
    proc.on('exit', (code) => fault(`the capture helper exited (code ${code})`));
    return {
      format,
      deviceName: device.name,
      pid: proc.pid,
      close: async () => {
        closed = true;
        await proc.kill();
      },
    };
  }
}
