/**
 * Running ALSA's own command-line tools (alsa-utils: arecord, aplay) as helper processes: where
 * they are, their stderr split into lines with libasound's noise counted rather than shown, and
 * their error lines turned into one readable reason.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';

/** The directories searched for the tools when PATH is unset (a systemd unit has a PATH). */
const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Full path of `tool` on the PATH of `env`, or undefined. */
export function findTool(tool: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH || FALLBACK_PATH).split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, tool);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What to do when alsa-utils is missing. */
export const ALSA_UTILS_FIX = 'install alsa-utils (sudo apt-get install alsa-utils), or set audio.alsaBackend to another backend (docs/audio.md)';

/** Calls `onLine` for each complete line of a stream (and the last, unterminated one at its end). */
export function eachLine(stream: Readable, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p.trim()) onLine(p);
  });
  stream.on('end', () => {
    if (rest.trim()) onLine(rest);
  });
}

/** libasound's own diagnostics (`ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM x`). */
export function isAlsaLibNoise(line: string): boolean {
  return line.startsWith('ALSA lib ');
}

/**
 * The reason in an alsa-utils error line: `arecord: main:831: audio open error: Device or
 * resource busy` -> `audio open error: Device or resource busy`; undefined for other lines.
 */
export function toolError(line: string, tool: string): string | undefined {
  const m = new RegExp(`^${tool}: (?:[\\w_]+:\\d+: )?(.*)$`).exec(line.trim());
  return m ? m[1]!.trim() : undefined;
}

/** Spawns an ALSA tool with stdin/stdout as given (a number: that open file) and stderr piped; never throws. */
export function spawnTool(path: string, args: string[], stdio: ['pipe' | 'ignore', 'pipe' | 'ignore' | number], env?: NodeJS.ProcessEnv): ChildProcess {
  return spawn(path, args, { stdio: [stdio[0], stdio[1], 'pipe'], env: env ?? process.env });
}

/**
 * Ends a tool: SIGTERM (arecord and aplay then abort the PCM, dropping what it holds, and exit),
 * SIGKILL after `graceMs`. Resolves when it is gone, or after `graceMs` more in any case.
 */
export function endTool(child: ChildProcess, graceMs = 150): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(kill);
      clearTimeout(giveUp);
      resolve();
    };
    child.once('exit', finish);
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const giveUp = setTimeout(finish, graceMs * 2 + 100);
    child.kill('SIGTERM');
  });
}

/**
 * The hardware-parameter dump a `--dump-hw-params` run of arecord/aplay prints on stderr (between
 * its two `-----` lines), then the run is ended. Resolves with what arrived within `timeoutMs`.
 */
export async function readHwParamsDump(child: ChildProcess, timeoutMs: number): Promise<string> {
  let text = '';
  let separators = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    eachLine(child.stderr!, (line) => {
      text += line + '\n';
      if (line.startsWith('-----') && ++separators === 2) done();
    });
    child.on('error', done);
    child.on('exit', done);
  });
  await endTool(child);
  return text;
}
