/** Checks of the configuration and its secrets: config valid, gateway token present, Porcupine AccessKey. */
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { readToken, runTokenCommand, type CommandRunner } from '../gateway/token.js';
import { GATEWAY_TOKEN_CREDENTIAL, PORCUPINE_KEY_CREDENTIAL, readSecretFile } from '../system/credentials.js';
import type { CheckResult, DoctorContext } from './types.js';

export function checkConfig(load: () => Config, source: string): { result: CheckResult; config?: Config } {
  try {
    const config = load();
    return { config, result: { id: 'config', status: 'ok', detail: `valid (${source})` } };
  } catch (err) {
    const issues = err instanceof ConfigError ? err.issues : [err instanceof Error ? err.message : String(err)];
    // The installed config is readable by root and the service only (mode 0640).
    const unreadable = issues.some((i) => i.includes('(EACCES)'));
    return {
      result: {
        id: 'config',
        status: 'fail',
        // File-level problems already name the file; schema problems are `path: message`.
        detail: issues[0]?.startsWith(source) ? issues.join('; ') : `${source}: ${issues.join('; ')}`,
        fix: unreadable
          ? 'run `sudo speaker-agent doctor`, or join the group that can read it: `sudo usermod -aG speaker-agent $USER`, then log in again'
          : `edit ${source}, then \`speaker-agent config check ${source}\` must print OK`,
      },
    };
  }
}

/** A secret found by the token/key checks: where from, and the value (never printed). */
export interface FoundSecret {
  value: string;
  source: string;
}

export type SecretLookup = { found?: FoundSecret; problem?: CheckResult };

/** Reads one secret file; classifies missing, unreadable, empty and too-open files. */
function secretFromFile(ctx: DoctorContext, id: string, file: string, writeFix: string): SecretLookup & { missing?: boolean } {
  let text: string;
  try {
    text = ctx.fs.readText(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { missing: true };
    if (code === 'EACCES') {
      return { problem: { id, status: 'warn', detail: `${file} exists but this user cannot read it`, fix: 'run `sudo speaker-agent doctor` to check it' } };
    }
    return { problem: { id, status: 'fail', detail: `cannot read ${file} (${code ?? String(err)})`, fix: writeFix } };
  }
  const value = readSecretFile(file, () => text);
  if (value === undefined) return {};
  try {
    const mode = ctx.fs.stat(file).mode & 0o777;
    if (mode & 0o077) {
      return {
        found: { value, source: file },
        problem: { id, status: 'warn', detail: `${file} is readable by others (mode ${mode.toString(8)})`, fix: `sudo chmod 600 ${file}` },
      };
    }
  } catch {
    // stat failing after a successful read is a race not worth a line of its own.
  }
  return { found: { value, source: file } };
}

export function writeSecretFix(file: string): string {
  return `sudo sh -c 'umask 077; cat > ${file}' (paste it, press Enter and Ctrl-D), then sudo systemctl restart speaker-agent`;
}

/**
 * The credential file the service will get: `$CREDENTIALS_DIRECTORY/NAME` when the doctor itself
 * runs under systemd, else the installer's file that the unit's `LoadCredential=` copies.
 */
export function credentialFile(ctx: DoctorContext, name: string): string {
  return ctx.env.CREDENTIALS_DIRECTORY ? path.join(ctx.env.CREDENTIALS_DIRECTORY, name) : path.join(ctx.credentialsDir, name);
}

/**
 * Looks for a secret in the agent's order: the configured file, then the systemd credential,
 * then the environment variable.
 */
export function findSecret(ctx: DoctorContext, id: string, configured: { file?: string; fileKey: string; envName: string; credential: string }): SecretLookup & { nowhere?: string } {
  if (configured.file) {
    const file = configured.file;
    const r = secretFromFile(ctx, id, file, writeSecretFix(file));
    if (!r.found && !r.problem) {
      return { problem: { id, status: 'fail', detail: `${configured.fileKey} ${file} ${r.missing ? 'does not exist' : 'is empty'}`, fix: writeSecretFix(file) } };
    }
    return r;
  }
  const credFile = credentialFile(ctx, configured.credential);
  const cred = secretFromFile(ctx, id, credFile, writeSecretFix(credFile));
  if (cred.found || cred.problem) return cred;
  const fromEnv = ctx.env[configured.envName]?.trim();
  if (fromEnv) return { found: { value: fromEnv, source: `$${configured.envName}` } };
  return { nowhere: `${credFile} is ${cred.missing ? 'missing' : 'empty'}, ${configured.fileKey} and $${configured.envName} unset` };
}

/** The gateway token from `gateway.tokenCommand`: the command is run as the agent runs it. */
export async function checkTokenCommand(config: Config, run: CommandRunner = runTokenCommand): Promise<{ result: CheckResult; token?: FoundSecret }> {
  const id = 'token';
  const got = await readToken(config.gateway, {}, run);
  if ('error' in got) return { result: { id, status: 'fail', detail: got.error, fix: got.fix } };
  if (!got.token) return { result: { id, status: 'fail', detail: 'gateway.tokenCommand gave no token', fix: 'it must print the token on stdout' } };
  return { token: { value: got.token, source: got.source }, result: { id, status: 'ok', detail: `obtained from gateway.tokenCommand (${got.source}; not shown)` } };
}

/** The gateway token, looked up where the gateway client looks. */
export function checkToken(ctx: DoctorContext, config: Config): { result: CheckResult; token?: FoundSecret } {
  const id = 'token';
  const lookup = findSecret(ctx, id, {
    file: config.gateway.tokenFile,
    fileKey: 'gateway.tokenFile',
    envName: config.gateway.tokenEnv,
    credential: GATEWAY_TOKEN_CREDENTIAL,
  });
  if (lookup.problem) return { result: lookup.problem, token: lookup.found };
  if (lookup.found) return { token: lookup.found, result: { id, status: 'ok', detail: `present in ${lookup.found.source} (not shown)` } };
  return {
    result: {
      id,
      status: 'warn',
      detail: `no gateway token (${lookup.nowhere}): only a gateway without authentication will accept the agent`,
      fix: writeSecretFix(credentialFile(ctx, GATEWAY_TOKEN_CREDENTIAL)),
    },
  };
}

/** Porcupine's error classes, mapped to what a person can do about each. */
const PORCUPINE_ERRORS: Record<string, { detail: string; fix: string }> = {
  PorcupineInvalidArgumentError: {
    detail: 'the AccessKey was rejected as invalid',
    fix: 'copy the AccessKey again from https://console.picovoice.ai/',
  },
  PorcupineActivationLimitReachedError: {
    detail: 'the AccessKey reached its activation limit (too many devices)',
    fix: 'free a device in Picovoice Console or use another key; until then use the button',
  },
  PorcupineActivationRefusedError: {
    detail: 'Picovoice refused the AccessKey (revoked or expired)',
    fix: 'create a new AccessKey in Picovoice Console',
  },
  PorcupineActivationThrottledError: {
    detail: 'Picovoice throttled activation (too many attempts)',
    fix: 'wait a while; restarting the service repeatedly makes it worse',
  },
  PorcupineActivationError: {
    detail: 'activation failed (Porcupine validates the key online)',
    fix: 'check the internet connection and the clock, then retry',
  },
};

/** Looks for the Porcupine AccessKey where the agent looks. */
export function porcupineKeyLookup(ctx: DoctorContext, config: Config): SecretLookup & { nowhere?: string } {
  const wake = config.wake as Record<string, unknown>;
  return findSecret(ctx, 'porcupine', {
    file: typeof wake.accessKeyFile === 'string' ? wake.accessKeyFile : undefined,
    fileKey: 'wake.accessKeyFile',
    envName: typeof wake.accessKeyEnv === 'string' ? wake.accessKeyEnv : 'PORCUPINE_ACCESS_KEY',
    credential: PORCUPINE_KEY_CREDENTIAL,
  });
}

/** Validates the AccessKey by creating (and releasing) a Porcupine engine with a built-in keyword. */
export async function checkPorcupine(ctx: DoctorContext, config: Config): Promise<CheckResult> {
  const id = 'porcupine';
  const engine = config.wake.engine as string;
  if (engine !== 'porcupine' && engine !== 'auto') {
    return { id, status: 'skip', detail: engine === 'none' ? 'wake.engine is none: no wake word, the button starts listening' : `wake.engine is ${engine}` };
  }
  const lookup = porcupineKeyLookup(ctx, config);
  if (engine === 'auto' && !lookup.found && !lookup.problem) {
    return { id, status: 'skip', detail: 'wake.engine is auto and no Porcupine AccessKey is set: openWakeWord listens instead (where it runs)' };
  }
  if (!lookup.found) {
    const credFile = credentialFile(ctx, PORCUPINE_KEY_CREDENTIAL);
    return lookup.problem ?? { id, status: 'fail', detail: `no Porcupine AccessKey (${lookup.nowhere})`, fix: `${writeSecretFix(credFile)}; free keys at https://console.picovoice.ai/` };
  }
  let mod;
  try {
    mod = await ctx.importPorcupine();
  } catch (err) {
    return { id, status: 'fail', detail: `@picovoice/porcupine-node does not load: ${(err as Error).message}`, fix: `cd ${ctx.appDir} && sudo npm rebuild @picovoice/porcupine-node` };
  }
  const key = lookup.found.value;
  try {
    const keyword = mod.BuiltinKeyword.PORCUPINE ?? Object.values(mod.BuiltinKeyword)[0]!;
    new mod.Porcupine(key, [mod.getBuiltinKeywordPath(keyword)], [0.5]).release();
    return lookup.problem ?? { id, status: 'ok', detail: `AccessKey from ${lookup.found.source} activates (not shown)` };
  } catch (err) {
    const kind = PORCUPINE_ERRORS[(err as Error).constructor?.name ?? ''];
    // Porcupine quotes the key in its messages: mask it before anything is printed.
    const message = ((err as Error).message ?? String(err)).split(key).join('[redacted]').split('\n')[0]!.trim();
    return {
      id,
      status: 'fail',
      detail: `${kind?.detail ?? `engine failed: ${message}`} (key from ${lookup.found.source})`,
      fix: kind?.fix ?? 'see the message above; the agent keeps working with the button',
    };
  }
}
