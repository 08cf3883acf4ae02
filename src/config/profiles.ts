/**
 * Hardware profiles: small YAML files under `hardware/` that set the audio device hints and
 * the button/LED wiring of one board in a single word (`--hardware respeaker-2mic`). A profile
 * is a config layer between the built-in defaults and the user's config file, so anything in
 * the config file, the environment or the flags still wins. A path works as well as a name,
 * so users can copy a profile, edit it, and point at their copy.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';

type Json = Record<string, unknown>;

/** Finds the package's `hardware/` directory by walking up from this module (works from src/ and dist/). */
export function findHardwareDir(from: string = path.dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, 'hardware');
    if (existsSync(candidate) && existsSync(path.join(dir, 'package.json'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Names of the bundled profiles, sorted. */
export function listProfiles(dir: string | undefined = findHardwareDir()): string[] {
  if (!dir) return [];
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .sort();
  } catch {
    return [];
  }
}

/** A bare name (`respeaker-2mic`) rather than a path. */
export function isProfileName(spec: string): boolean {
  return /^[a-z0-9][a-z0-9._-]*$/i.test(spec) && !/\.ya?ml$/i.test(spec);
}

/**
 * Resolves `spec` (a profile name or a path to a YAML file) to a file path.
 * `baseDir` anchors relative paths (the config file's directory when the spec came from it).
 */
export function resolveProfilePath(spec: string, options: { dir?: string; baseDir?: string } = {}): string {
  if (isProfileName(spec)) {
    const dir = options.dir ?? findHardwareDir();
    const file = dir ? path.join(dir, `${spec}.yaml`) : undefined;
    if (!file || !existsSync(file)) {
      const known = listProfiles(dir);
      throw new ConfigError([
        `hardware: unknown hardware profile "${spec}" (bundled: ${known.join(', ') || 'none found'}); ` +
          'give one of those or a path to your own YAML file',
      ]);
    }
    return file;
  }
  return path.resolve(options.baseDir ?? process.cwd(), spec);
}

/**
 * Reads a profile through `read` (the config file reader, so errors look the same) and checks
 * that it does not name another profile: profiles do not chain.
 */
export function loadProfile(
  spec: string,
  read: (file: string) => Json,
  options: { dir?: string; baseDir?: string } = {},
): Json {
  const file = resolveProfilePath(spec, options);
  const layer = read(file);
  if ('hardware' in layer) throw new ConfigError([`${file}: hardware: a profile cannot name another profile`]);
  return layer;
}
