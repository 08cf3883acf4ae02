/**
 * What the ALSA microphone needs from a capture backend (arecord, libasound through koffi, or
 * naudiodon; docs/audio.md "Backends"): open a device in a native format and deliver its raw
 * PCM until closed or broken. Conversion, framing, stall detection and reopening stay in
 * mic.ts, the same for every backend.
 */
import type { ChannelSelect } from '../../audio/channels.js';
import type { Logger } from '../../log/logger.js';
import type { CaptureCandidate } from './portaudio-child.js';

export interface CaptureRequest {
  /** What followed `alsa:`: ALSA PCM name, card name substring or card index; '' or `default`. */
  device: string;
  /** Channel the driver keeps (0-based) or `'mix'`: a channel index needs that many channels. */
  channel: ChannelSelect;
  /** Native rate to capture in, Hz; 0/absent: the backend's automatic choice. */
  rate?: number;
  /** Native channel count; 0/absent: the device's own count for hardware devices. */
  channels?: number;
  /** Milliseconds per block delivered (the device's period where the backend can set it). */
  chunkMs: number;
  /** Where the kernel lists sound cards (default /proc/asound/cards). */
  cardsPath?: string;
  /** Environment of helper processes (tests point ALSA at their own configuration). */
  env?: NodeJS.ProcessEnv;
  log: Logger;
}

/** Where an open capture delivers. Neither is called after `close()`. */
export interface CaptureSink {
  /**
   * Raw interleaved PCM16LE in the opened format, in arrival order (chunks may split samples).
   * May start just before `open()` resolves: keep such chunks until then. A chunk may be a view
   * of the backend's reused buffer, valid only during the call: copy what is kept.
   */
  pcm(chunk: Buffer): void;
  /** Capture broke for good (device gone, helper died): called at most once. */
  fault(message: string): void;
}

export interface CaptureStream {
  /** The format actually captured. */
  readonly format: CaptureCandidate;
  /** The device name in use (ALSA PCM name, or PortAudio's name). */
  readonly deviceName: string;
  /** Process id of the helper process doing the capture, if any (diagnostics). */
  readonly pid: number | undefined;
  /** Stops capture and releases the device. Idempotent; resolves when released (bounded). */
  close(): Promise<void>;
}

export interface CaptureBackend {
  readonly name: string;
  /**
   * Opens the device and starts capture; resolves once the format is known. Rejects with a
   * DeviceError whose message starts with `microphone "alsa:NAME"` or names the device.
   */
  open(request: CaptureRequest, sink: CaptureSink): Promise<CaptureStream>;
}
