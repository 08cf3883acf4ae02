/**
 * The worker side of `loadConfigOffThread` (off-thread.ts): loads the config with the options
 * it was given and posts back the validated config, or the error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from '../errors.js';
import { loadConfig, type LoadOptions } from './load.js';
import type { ThreadReply } from './off-thread.js';

let reply: ThreadReply;
try {
  reply = { ok: true, config: loadConfig(workerData as LoadOptions) };
} catch (err) {
  reply = err instanceof ConfigError ? { ok: false, issues: err.issues } : { ok: false, message: err instanceof Error ? err.message : String(err) };
}
parentPort!.postMessage(reply);
