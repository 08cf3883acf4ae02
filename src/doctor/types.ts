/**
 * What the doctor's checks see of the machine. Every check takes this context instead of
 * touching `fs`, `process` or the network directly, so each one runs in a test with a scripted
 * machine (no sound card, a Pi 5, a wrong clock...) and on a real Pi unchanged.
 */

import type { AlsaBackendName, AlsaBackendSetting } from '../drivers/alsa/backends.js';

/** One check's verdict, printed as one line (plus a fix line when it did not pass). */
export interface CheckResult {
  /** Short stable name, e.g. `node`, `audio`, `gateway`. */
  id: string;
  /** `ok` passed; `warn` works but worth fixing; `fail` will break the agent; `skip` not applicable. */
  status: 'ok' | 'warn' | 'fail' | 'skip';
  /** What was found, for a person. Never contains a secret. */
  detail: string;
  /** What to do about it (for `warn` and `fail`). */
  fix?: string;
}

/** The slice of `fs.Stats` the device checks read. */
export interface DeviceStat {
  mode: number;
  uid: number;
  gid: number;
  isCharacterDevice(): boolean;
}

/** File system access; every method throws a Node errno error (`code` set) on failure. */
export interface DoctorFs {
  readText(file: string): string;
  readdir(dir: string): string[];
  stat(file: string): DeviceStat;
}

/** Outcome of loading a native addon in a child process. */
export type AddonLoad =
  | { status: 'ok' }
  | { status: 'missing' }
  /** `code` is the error's code, or `SIGNAL` when the loading process was killed (a native crash). */
  | { status: 'error'; message: string; code?: string };

/** The shape of `@picovoice/porcupine-node` the activation check uses. */
export interface PorcupineModule {
  Porcupine: new (accessKey: string, keywordPaths: string[], sensitivities: number[]) => { release(): void };
  getBuiltinKeywordPath(keyword: string): string;
  BuiltinKeyword: Record<string, string>;
}

export interface DoctorContext {
  env: NodeJS.ProcessEnv;
  fs: DoctorFs;
  /** `process.versions.node`. */
  nodeVersion: string;
  /** `process.arch` (default: this process's). */
  arch?: string;
  now(): Date;
  /** Loads a native addon by package name, isolated so a crash or stderr noise stays out. */
  loadAddon(name: string): Promise<AddonLoad>;
  /** Runs a command; resolves with its exit code (127 when missing) and stdout. */
  exec(command: string, args: string[]): Promise<{ code: number; stdout: string }>;
  importPorcupine(): Promise<PorcupineModule>;
  /** The account the service runs as (`speaker-agent`), whose groups and device access count. */
  serviceUser: string;
  /** Where the agent is installed (for the `npm rebuild` fix lines). */
  appDir: string;
  /** Where the installer keeps the credential files the unit loads. */
  credentialsDir: string;
  /** Bound on each network step of the gateway check (ms). */
  networkTimeoutMs: number;
  /** What `audio.alsaBackend` resolves to on this machine (default: the real resolution). */
  alsaBackend?: (setting: AlsaBackendSetting) => { name: AlsaBackendName; reason: string };
}
