/**
 * Turns porcupine-node's errors into one actionable line for users and logs.
 * porcupine-node echoes the AccessKey inside some messages ("Failed to parse AccessKey `...`"),
 * so every text taken from an error is scrubbed of the key before it goes anywhere.
 */
import { PorcupineMissingError } from './engine.js';

export interface DescribedFailure {
  /** One line: what failed and what to do. Contains no secret. */
  reason: string;
  /** False when retrying cannot help until the software or hardware changes. */
  retry: boolean;
  /** The engine's own detail (scrubbed), for a debug log field. */
  detail: string;
}

export interface FailureContext {
  /** The key used (scrubbed from every text). */
  accessKey?: string;
  /** Where the key came from, e.g. "file /etc/speaker-agent/porcupine.key". */
  keySource?: string;
  /** The configured model file, if any (named in model errors). */
  modelPath?: string;
}

/** Replaces every occurrence of `secret` in `text` (no-op for short or missing secrets). */
export function scrub(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('[redacted]');
}

function errorText(err: unknown): { kind: string; text: string } {
  if (err instanceof Error) {
    const stack = (err as { messageStack?: unknown }).messageStack;
    const lines = Array.isArray(stack) ? stack.map(String) : [];
    // The class name is the discriminant: porcupine-node does not set `name`.
    const kind = err.constructor?.name && err.constructor.name !== 'Error' ? err.constructor.name : err.name;
    return { kind, text: [err.message, ...lines].join(' | ') };
  }
  return { kind: typeof err, text: String(err) };
}

/** Maps an error thrown while building or running Porcupine to a user-facing reason. */
export function describePorcupineError(err: unknown, ctx: FailureContext = {}): DescribedFailure {
  const { kind, text } = errorText(err);
  const detail = scrub(text.replace(/\s+/g, ' ').trim(), ctx.accessKey);
  const from = ctx.keySource ? ` (from ${ctx.keySource})` : '';
  const fail = (reason: string, retry = true): DescribedFailure => ({ reason, retry, detail });
  const badModel = () =>
    fail(
      `Porcupine could not load its model file${ctx.modelPath ? ` ${ctx.modelPath}` : ''} (not a Porcupine .pv file, or for another platform or version): ` +
        'fix wake.modelPath, or remove it to use the built-in English model',
    );

  if (err instanceof PorcupineMissingError) {
    return fail('@picovoice/porcupine-node is not installed: run `npm install @picovoice/porcupine-node` in the agent directory, or set wake.engine: none', false);
  }
  switch (kind) {
    case 'PorcupineActivationLimitReachedError':
      return fail(`Porcupine AccessKey${from} reached its device activation limit: remove an old device in https://console.picovoice.ai/ or use another key`);
    case 'PorcupineActivationThrottledError':
      return fail(`Porcupine activation is being throttled (too many attempts): the agent retries later by itself`);
    case 'PorcupineActivationRefusedError':
      return fail(`Porcupine AccessKey${from} was refused (expired, revoked or wrong account): check it in https://console.picovoice.ai/ and update it`);
    case 'PorcupineActivationError':
      return fail(`Porcupine could not activate its AccessKey (no network?): the device needs internet access to Picovoice to start the wake word; retrying`);
    case 'PorcupineRuntimeError':
      if (/unsupported cpu|not supported/i.test(text)) {
        return fail(`Porcupine does not support this CPU/OS (${detail}): use a Raspberry Pi 3/4/5/Zero 2 or x86_64 Linux, or set wake.engine: none`, false);
      }
      return fail(`Porcupine failed at run time (${detail}): retrying; if it persists, reinstall @picovoice/porcupine-node`);
    case 'PorcupineIOError':
      if (/loading parameters/i.test(text)) return badModel();
      return fail(`Porcupine could not read a model or keyword file (${detail}): check the paths and file permissions`);
    case 'PorcupineOutOfMemoryError':
      return fail('Porcupine ran out of memory: free memory or use fewer keywords');
    case 'PorcupineKeyError':
    case 'PorcupineInvalidArgumentError':
    case 'PorcupineInvalidStateError':
    case 'PorcupineError':
      break;
    default:
      // porcupine-node throws a bare string for an unknown OS/architecture.
      if (/is not supported by this library|unsupported cpu/i.test(text)) {
        return fail(`Porcupine does not support this CPU/OS (${detail}): use a Raspberry Pi 3/4/5/Zero 2 or x86_64 Linux, or set wake.engine: none`, false);
      }
      if (err instanceof RangeError) return fail(`Porcupine rejected a sensitivity (${detail}): use values 0-1`, false);
      return fail(`Porcupine failed to start (${detail}): see docs/wake-word.md`);
  }
  // Invalid-argument errors carry the real cause in their text.
  if (/accesskey/i.test(text)) {
    return fail(`Porcupine AccessKey${from} is invalid: copy it again from https://console.picovoice.ai/ (one line, no spaces)`);
  }
  let m = /File not found in 'keywords': (.*)$/m.exec(text);
  if (m) return fail(`Porcupine keyword file not found: ${m[1]!.trim()}: fix wake.keywords or copy the .ppn file there`);
  m = /File not found at 'modelPath': (.*)$/m.exec(text);
  if (m) return fail(`Porcupine model file not found: ${m[1]!.trim()}: fix wake.modelPath or copy the .pv file there`);
  m = /File not found at 'libraryPath': (.*)$/m.exec(text);
  if (m) return fail(`Porcupine library not found: ${m[1]!.trim()}: remove wake.libraryPath or fix it`, false);
  if (/model \(\.pv\) file has incorrect format|loading parameters/i.test(text)) return badModel();
  if (/platform/i.test(text)) {
    const file = /Loading keyword file at `([^`]*)`/.exec(text)?.[1];
    return fail(
      `Porcupine keyword file ${file ? `${file} ` : ''}is not a keyword for this platform (or not a .ppn at all): ` +
        'download the Raspberry Pi (or Linux) version from https://console.picovoice.ai/',
    );
  }
  if (/language|different/i.test(text)) {
    return fail(`Porcupine keyword and model files are for different languages: set wake.modelPath to the .pv of the keyword's language`);
  }
  return fail(`Porcupine rejected its configuration (${detail}): check wake.keywords, wake.modelPath and the AccessKey`);
}
