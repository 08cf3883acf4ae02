/**
 * Where an installed agent lives (scripts/install.sh, systemd/speaker-agent.service), so the
 * CLI finds the service's configuration and control socket without flags. The configuration
 * is readable by root and the `speaker-agent` group only; the socket's directory is the unit's
 * RuntimeDirectory.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { readConfigFile } from '../config/load.js';

export const INSTALLED_CONFIG = '/etc/speaker-agent/config.yaml';
export const INSTALLED_RUNTIME_DIR = '/run/speaker-agent';

/** The installed configuration: there and readable, there but not for this user, or absent. */
export type InstalledState = 'readable' | 'unreadable' | 'absent';

/** Stat that throws a Node errno error; injectable for tests. */
export type StatFn = (file: string) => unknown;

export function installedConfigState(file = INSTALLED_CONFIG, stat: StatFn = statSync): InstalledState {
  try {
    stat(file);
    return 'readable';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? 'unreadable' : 'absent';
  }
}

/**
 * The installed service's control socket: the installed config's `control.socket` when this
 * user can read it and it sets one, else the unit's runtime directory when it exists (a user
 * outside the group then gets "permission denied" with the fix, not "no agent running").
 * Undefined when nothing is installed here.
 */
export function installedSocket(opts: { config?: string; runtimeDir?: string; stat?: StatFn; read?: (file: string) => unknown } = {}): string | undefined {
  const file = opts.config ?? INSTALLED_CONFIG;
  const dir = opts.runtimeDir ?? INSTALLED_RUNTIME_DIR;
  const stat = opts.stat ?? statSync;
  const state = installedConfigState(file, stat);
  if (state === 'readable') {
    try {
      const control = ((opts.read ?? readConfigFile)(file) as { control?: { socket?: unknown } }).control;
      if (typeof control?.socket === 'string' && control.socket) return control.socket;
    } catch {
      // an invalid config: the service would not run with it either; fall through
    }
  }
  if (state === 'absent' && installedConfigState(dir, stat) === 'absent') return undefined;
  return path.join(dir, 'control.sock');
}
