/** The doctor's view of the real machine (see types.ts for why it is injectable). */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddonLoad, DoctorContext, PorcupineModule } from './types.js';

/** The package root: two levels up from src/doctor (or dist/src/doctor, three). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    dir = path.dirname(dir);
    try {
      if ((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'speaker-agent') return dir;
    } catch {
      // not here: keep walking up
    }
  }
  return '/opt/speaker-agent';
}

// A child process loads the addon: PortAudio's probe writes dozens of "ALSA lib" lines to
// stderr, and a broken addon can crash the process that loads it. Neither may reach the doctor.
const LOADER = `try { require(process.argv[1]); } catch (e) {
  process.stdout.write(JSON.stringify({ message: String(e && e.message || e).split('\\n')[0], code: e && e.code }));
  process.exitCode = 3;
}`;

/** Loads `name` (resolved from `fromDir`) in a child `node`; never throws. */
export function loadAddonInChild(name: string, fromDir: string, timeoutMs = 30_000): Promise<AddonLoad> {
  let resolved: string;
  try {
    resolved = createRequire(path.join(fromDir, 'package.json')).resolve(name);
  } catch {
    return Promise.resolve({ status: 'missing' });
  }
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', LOADER, resolved], { timeout: timeoutMs, cwd: fromDir }, (error, stdout) => {
      if (!error) return resolve({ status: 'ok' });
      try {
        const parsed = JSON.parse(stdout) as { message: string; code?: string };
        return resolve({ status: 'error', message: parsed.message, code: parsed.code });
      } catch {
        const signal = (error as { signal?: string }).signal;
        if (signal) resolve({ status: 'error', code: 'SIGNAL', message: `the process loading it died of ${signal}` });
        else resolve({ status: 'error', message: error.message.split('\n')[0]! });
      }
    });
  });
}

export interface RealContextOptions {
  env?: NodeJS.ProcessEnv;
  serviceUser?: string;
  credentialsDir?: string;
  networkTimeoutMs?: number;
}

export function realContext(options: RealContextOptions = {}): DoctorContext {
  const appDir = packageRoot();
  return {
    env: options.env ?? process.env,
    fs: {
      readText: (file) => readFileSync(file, 'utf8'),
      readdir: (dir) => readdirSync(dir),
      stat: (file) => statSync(file),
    },
    nodeVersion: process.versions.node,
    now: () => new Date(),
    loadAddon: (name) => loadAddonInChild(name, appDir),
    exec: (command, args) =>
      new Promise((resolve) => {
        execFile(command, args, { timeout: 10_000 }, (error, stdout) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
          resolve({ code, stdout: String(stdout) });
        });
      }),
    importPorcupine: async () => {
      const require = createRequire(path.join(appDir, 'package.json'));
      return require('@picovoice/porcupine-node') as PorcupineModule;
    },
    serviceUser: options.serviceUser ?? 'speaker-agent',
    appDir,
    credentialsDir: options.credentialsDir ?? '/etc/speaker-agent/credentials',
    networkTimeoutMs: options.networkTimeoutMs ?? 10_000,
  };
}
