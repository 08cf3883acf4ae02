/**
 * Finds the Picovoice AccessKey. Sources, first found wins:
 *   1. `wake.accessKeyFile` (first non-empty line),
 *   2. the systemd credential `$CREDENTIALS_DIRECTORY/porcupine-access-key` (LoadCredential=),
 *   3. the environment variable `wake.accessKeyEnv` (default PORCUPINE_ACCESS_KEY).
 * Never the command line (visible in `ps`), never logged: only the source's name is reported.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Name of the systemd credential holding the key. */
export const CREDENTIAL_NAME = 'porcupine-access-key';

export interface AccessKeySources {
  /** Path of a file whose first line is the key. */
  file?: string;
  /** Name of the environment variable to read. */
  envName: string;
  /** The environment (pass `process.env`). */
  env: NodeJS.ProcessEnv;
  /** Reads a file as UTF-8 (injected for tests; default fs.readFile). */
  readText?: (file: string) => Promise<string>;
}

export type AccessKeyResult =
  | { ok: true; key: string; source: string }
  | { ok: false; reason: string };

function firstLine(text: string): string {
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t) return t;
  }
  return '';
}

/** Reads the key; on failure returns one actionable line (no throw). Re-read on every retry. */
export async function readAccessKey(src: AccessKeySources): Promise<AccessKeyResult> {
  const read = src.readText ?? ((f: string) => readFile(f, 'utf8'));
  if (src.file) {
    try {
      const key = firstLine(await read(src.file));
      if (key) return { ok: true, key, source: `file ${src.file}` };
      return { ok: false, reason: `Porcupine AccessKey file ${src.file} is empty: paste the key from https://console.picovoice.ai/ into it` };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const hint =
        code === 'EACCES'
          ? 'make it readable by the service user (or use a systemd credential)'
          : 'create it with the key from https://console.picovoice.ai/ or fix wake.accessKeyFile';
      return { ok: false, reason: `cannot read Porcupine AccessKey file ${src.file} (${code}): ${hint}` };
    }
  }
  const credDir = src.env.CREDENTIALS_DIRECTORY;
  if (credDir) {
    const credFile = path.join(credDir, CREDENTIAL_NAME);
    try {
      const key = firstLine(await read(credFile));
      if (key) return { ok: true, key, source: `systemd credential ${CREDENTIAL_NAME}` };
    } catch {
      // No such credential: fall through to the environment variable.
    }
  }
  const fromEnv = src.env[src.envName]?.trim();
  if (fromEnv) return { ok: true, key: fromEnv, source: `environment variable ${src.envName}` };
  return {
    ok: false,
    reason:
      `no Porcupine AccessKey: set wake.accessKeyFile, a systemd credential "${CREDENTIAL_NAME}" ` +
      `or the environment variable ${src.envName} (free key at https://console.picovoice.ai/)`,
  };
}
