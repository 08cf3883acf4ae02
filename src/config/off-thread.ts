/**
 * `run` loads its config in a worker thread. The schema library (zod), the schema built with it
 * and the YAML parser are compiled in the worker and go when it ends, so the daemon never holds
 * them: about 6 MiB less resident memory for the life of the process, for about 30-60 ms more
 * CPU once at start (a thread's start-up; figures in docs/benchmarks.md). The result is the
 * same validated config, and a bad config fails the same way, with every issue.
 */
import { Worker } from 'node:worker_threads';
import type { Config } from './schema.js';
import { ConfigError } from '../errors.js';
import type { LoadOptions } from './load.js';

/** What the worker posts back. */
export type ThreadReply = { ok: true; config: Config } | { ok: false; issues: string[] } | { ok: false; message: string };

/** Like `loadConfig`, in a worker thread. Rejects with ConfigError for a bad config. */
export function loadConfigOffThread(options: LoadOptions, workerUrl = new URL('./load-thread.js', import.meta.url)): Promise<Config> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl, { workerData: options });
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      f();
    };
    worker.once('message', (r: ThreadReply) => {
      settle(() => {
        if (r.ok) resolve(r.config);
        else if ('issues' in r) reject(new ConfigError(r.issues));
        else reject(new Error(r.message));
      });
      void worker.terminate();
    });
    worker.once('error', (err) => settle(() => reject(new Error(`loading the config failed: ${err.message}`))));
    worker.once('exit', (code) => settle(() => reject(new Error(`loading the config failed: its thread exited (code ${code})`))));
  });
}
