/**
 * Where the gateway bearer token comes from: a token command, a file, a systemd credential, or
 * the environment. Read again before every (re)connect, so a rotated file or a fresh exchange is
 * used (docs/protocol.md "Authentication"). The token itself is never part of an error message.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from '../config/schema.js';

export type TokenSource = { token: string; source: string } | { token: undefined; source: 'none' } | { error: string; fix: string };

export const CREDENTIAL_NAME = 'gateway-token';

/** Largest token command output read, in bytes (a token is a few kB at most). */
const MAX_COMMAND_OUTPUT = 64 * 1024;

/**
 * The token command's argv. An array is used as it is; a string is split on whitespace, with no
 * shell: quotes, `$VARS`, globs and pipes mean nothing (use the array form for an argument that
 * contains spaces).
 */
export function tokenCommandArgv(command: string | string[]): string[] {
  return Array.isArray(command) ? command : command.trim().split(/\s+/).filter(Boolean);
}

/** A short, one-way fingerprint of a token: lets the socket tell a changed token from the same one. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

export type CommandRunner = (argv: string[], timeoutMs: number) => Promise<TokenSource>;

/**
 * Runs the token command without a shell and takes the first non-empty line of its stdout as the
 * token. Its output is never logged or put in an error (it may hold the key it exchanged);
 * failures say what happened and how to see more.
 */
export const runTokenCommand: CommandRunner = (argv, timeoutMs) =>
  new Promise((resolve) => {
    const program = argv[0] ?? '';
    const fix = `run \`${program}\` by hand as the service user to see its error output (the agent never logs it)`;
    execFile(program, argv.slice(1), { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: MAX_COMMAND_OUTPUT, windowsHide: true }, (err, stdout) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string | null };
        if (e.code === 'ENOENT') return resolve({ error: `token command ${program} not found`, fix: 'give gateway.tokenCommand an absolute path to an executable' });
        if (e.code === 'EACCES') return resolve({ error: `token command ${program} is not executable`, fix: `chmod +x ${program}` });
        if (e.killed || e.signal === 'SIGKILL') return resolve({ error: `token command ${program} did not finish within ${timeoutMs} ms`, fix: `make it faster or raise gateway.tokenCommandTimeoutMs; ${fix}` });
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return resolve({ error: `token command ${program} printed more than ${MAX_COMMAND_OUTPUT} bytes`, fix: 'it must print only the token' });
        return resolve({ error: `token command ${program} failed (exit code ${String(e.code ?? e.signal ?? '?')})`, fix });
      }
      const token = String(stdout)
        .split(/\r?\n/)
        .map((l) => l.trim())
        .find(Boolean);
      if (!token) return resolve({ error: `token command ${program} printed no token`, fix: `it must print the token on stdout; ${fix}` });
      resolve({ token, source: `command ${path.basename(program)}` });
    });
  });

/**
 * The token for the next connection attempt. Order: `tokenCommand` (when set, the only source),
 * `tokenFile`, `$CREDENTIALS_DIRECTORY/gateway-token`, the `tokenEnv` variable.
 */
export async function readToken(
  config: Pick<GatewayConfig, 'tokenFile' | 'tokenEnv' | 'tokenCommand' | 'tokenCommandTimeoutMs'>,
  env: NodeJS.ProcessEnv = process.env,
  run: CommandRunner = runTokenCommand,
): Promise<TokenSource> {
  if (config.tokenCommand !== undefined) return run(tokenCommandArgv(config.tokenCommand), config.tokenCommandTimeoutMs);
  return readStaticToken(config, env);
}

/** The token from a file, the systemd credential or the environment (no command). */
export function readStaticToken(config: Pick<GatewayConfig, 'tokenFile' | 'tokenEnv'>, env: NodeJS.ProcessEnv = process.env): TokenSource {
  if (config.tokenFile) {
    try {
      const token = readFileSync(config.tokenFile, 'utf8').split(/\r?\n/)[0]!.trim();
      if (!token) return { error: `token file ${config.tokenFile} is empty`, fix: 'write the token on its first line' };
      return { token, source: `file ${config.tokenFile}` };
    } catch (err) {
      return {
        error: `cannot read token file ${config.tokenFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        fix: 'set gateway.tokenFile to a file the service user can read',
      };
    }
  }
  if (env.CREDENTIALS_DIRECTORY) {
    const file = path.join(env.CREDENTIALS_DIRECTORY, CREDENTIAL_NAME);
    try {
      const token = readFileSync(file, 'utf8').split(/\r?\n/)[0]!.trim();
      if (token) return { token, source: `credential ${CREDENTIAL_NAME}` };
    } catch {
      // No such credential: fall through to the environment.
    }
  }
  const fromEnv = env[config.tokenEnv]?.trim();
  if (fromEnv) return { token: fromEnv, source: `environment ${config.tokenEnv}` };
  return { token: undefined, source: 'none' };
}
