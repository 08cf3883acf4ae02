/**
 * Runs the PortAudio helper (see portaudio-child.ts) and speaks its protocol. Its stdout and
 * stderr never reach the agent's own streams: ALSA's probe noise is counted and dropped,
 * anything else is logged at debug level under `alsa.portaudio`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { DeviceError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { eachLine } from './alsa-tool.js';
import type { PaDevice } from './devices.js';
import { CHILD_SOURCE, type CaptureCandidate, type ChildMessage, type ParentMessage } from './portaudio-child.js';

export type PortAudioEvents = {
  devices: [{ devices: PaDevice[]; defaultInput: number; defaultOutput: number }];
  opened: [CaptureCandidate];
  failed: [string[]];
  probed: [Record<string, { input: number[]; output: number[] }>];
  /** Raw interleaved PCM16LE in the opened format. */
  pcm: [Buffer];
  /** A device error reported by the child (it exits right after). */
  error: [string];
  /** The child is gone. `code` null when killed. */
  exit: [number | null];
};

export interface PortAudioProcessOptions {
  log: Logger;
  /** Path of the naudiodon module; default: resolved from this package. */
  modulePath?: string;
  /** Environment of the child (default: this process's; tests point ALSA at their own config). */
  env?: NodeJS.ProcessEnv;
}

/** Resolves naudiodon's path, or explains how to install it (or why it cannot be). */
export function naudiodonPath(arch = process.arch): string {
  try {
    return createRequire(import.meta.url).resolve('naudiodon');
  } catch {
    // docs/audio.md "Backends": where naudiodon cannot build at all.
    if (arch === 'arm64') {
      throw new DeviceError(
        'the naudiodon backend is not available: naudiodon does not build on arm64 (it links an x86-64 PortAudio); set audio.alsaBackend: arecord (the default) or koffi',
      );
    }
    throw new DeviceError(
      'the microphone driver needs the naudiodon module, which is not installed (it builds against libasound2-dev, and not with GCC 14 on Debian 13): run "npm ci --omit=dev" in the agent\'s directory, or set audio.alsaBackend: arecord (the default) or koffi',
    );
  }
}


export class PortAudioProcess extends TypedEmitter<PortAudioEvents> {
  readonly #child: ChildProcess;
  readonly #log: Logger;
  #alsaNoise = 0;
  #exited = false;

  constructor(options: PortAudioProcessOptions) {
    super();
    this.#log = options.log;
    const path = options.modulePath ?? naudiodonPath();
    // cwd: naudiodon registers a segfault handler that writes crash.log into the cwd. The source
    // comes on stdin (`node -`), so `ps` and `systemctl status` show a short command line.
    this.#child = spawn(process.execPath, ['-', path], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'ipc'],
      cwd: tmpdir(),
      env: options.env ?? process.env,
    });
    const child = this.#child;
    child.stdin!.on('error', () => undefined); // a child that dies at once: its exit says why
    child.stdin!.end(CHILD_SOURCE);
    eachLine(child.stdout!, (l) => this.#log.debug('portaudio', { line: l }));
    eachLine(child.stderr!, (l) => {
      if (l.startsWith('ALSA lib ')) this.#alsaNoise++;
      else this.#log.debug('portaudio', { stderr: l });
    });
    (child.stdio[3] as Readable).on('data', (b: Buffer) => this.emit('pcm', b));
    child.on('message', (m: ChildMessage) => this.#onMessage(m));
    child.on('error', (err) => {
      this.#log.debug('portaudio-spawn-failed', { error: err.message });
      this.emit('error', `cannot start the PortAudio helper: ${err.message}`);
    });
    child.on('exit', (code) => {
      this.#exited = true;
      if (this.#alsaNoise > 0) this.#log.debug('portaudio-probe-noise-dropped', { lines: this.#alsaNoise });
      this.emit('exit', code);
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Process id of the helper (for diagnostics). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  #onMessage(m: ChildMessage): void {
    switch (m.type) {
      case 'devices':
        this.emit('devices', { devices: m.devices, defaultInput: m.defaultInput, defaultOutput: m.defaultOutput });
        break;
      case 'opened':
        this.emit('opened', m.format);
        break;
      case 'failed':
        this.emit('failed', m.tried);
        break;
      case 'probed':
        this.emit('probed', m.results);
        break;
      case 'error':
        this.emit('error', m.message);
        break;
    }
  }

  send(message: ParentMessage): void {
    if (this.#child.connected) this.#child.send(message);
  }

  /** Ends the child (and releases the device). Idempotent; resolves when it is gone. */
  async kill(): Promise<void> {
    if (this.#exited) return;
    const gone = this.next('exit');
    this.#child.kill('SIGKILL');
    await gone;
  }
}

/** Lists PortAudio's ALSA devices (and optionally probes their rates) in a short-lived helper. */
export async function listPaDevices(options: PortAudioProcessOptions & { probeRates?: number[] }): Promise<{
  devices: PaDevice[];
  defaultInput: number;
  defaultOutput: number;
  rates?: Record<string, { input: number[]; output: number[] }>;
}> {
  const pa = new PortAudioProcess(options);
  try {
    const failure = new Promise<never>((_, reject) => {
      pa.once('error', (msg) => reject(new DeviceError(msg)));
      pa.once('exit', (code) => reject(new DeviceError(`the PortAudio helper exited (code ${code}) before listing devices`)));
    });
    failure.catch(() => undefined); // the helper's exit after success is not a failure
    const [list] = await Promise.race([pa.next('devices'), failure]);
    if (!options.probeRates) return list;
    pa.send({ type: 'probe', ids: list.devices.map((d) => d.id), rates: options.probeRates });
    const [rates] = await Promise.race([pa.next('probed'), failure]);
    return { ...list, rates };
  } finally {
    await pa.kill();
  }
}
