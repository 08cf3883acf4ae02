/**
 * Last-resort handlers for the `run` command: an exception nothing caught, or a promise
 * rejection nothing handled, is a bug; the agent's state can no longer be trusted. It is logged
 * as one `fatal` line with what is known (origin, error, the top of the stack: masked like every
 * line), the agent is given a short time to stop (release the audio device, tell systemd
 * STOPPING), and the process exits non-zero so systemd restarts it (Restart=always). Never
 * silent, never left running half-broken (docs/reliability.md).
 */
import type { Logger } from '../log/logger.js';

export interface LastResortOptions {
  log: Logger;
  /** Ends the process (process.exit in `run`; tests pass a recorder). */
  exit: (code: number) => void;
  /** A graceful stop to try first; it gets `stopMs` before `exit` is called anyway. */
  stop?: () => Promise<unknown>;
  /** Default 2000 ms. */
  stopMs?: number;
  /** Where the events come from (default `process`). */
  source?: NodeJS.EventEmitter;
  /** Exit code (default 70, EX_SOFTWARE: an internal error). */
  code?: number;
}

/** Installs the handlers; returns a function that removes them. */
export function installLastResort(options: LastResortOptions): () => void {
  const source = options.source ?? process;
  const code = options.code ?? 70;
  let ending = false;
  const fatal = (origin: string, reason: unknown) => {
    const err = reason instanceof Error ? reason : undefined;
    options.log.error('fatal', {
      origin,
      error: err ? err.message : String(reason),
      ...(err?.name && err.name !== 'Error' ? { name: err.name } : {}),
      ...((err as NodeJS.ErrnoException | undefined)?.code ? { code: (err as NodeJS.ErrnoException).code } : {}),
      stack: err?.stack?.split('\n').slice(1, 8).map((l) => l.trim()),
      action: ending ? 'exiting now (failed while stopping)' : 'stopping, then exiting for systemd to restart',
    });
    if (ending) {
      options.exit(code);
      return;
    }
    ending = true;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      options.exit(code);
    };
    const backstop = setTimeout(finish, options.stopMs ?? 2000);
    backstop.unref?.();
    if (!options.stop) {
      clearTimeout(backstop);
      finish();
      return;
    }
    Promise.resolve()
      .then(() => options.stop!())
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(backstop);
        finish();
      });
  };
  const onException = (err: unknown, origin?: string) => fatal(origin ?? 'uncaughtException', err);
  const onRejection = (reason: unknown) => fatal('unhandledRejection', reason);
  source.on('uncaughtException', onException);
  source.on('unhandledRejection', onRejection);
  return () => {
    source.off('uncaughtException', onException);
    source.off('unhandledRejection', onRejection);
  };
}
