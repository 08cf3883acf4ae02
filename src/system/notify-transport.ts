/**
 * How a notification datagram reaches systemd.
 *
 * Node has no AF_UNIX datagram sockets (nodejs/node#29339, #61933), so it cannot write to
 * `$NOTIFY_SOCKET` itself. The options were:
 *  - a native addon (`sd-notify` links libsystemd and needs libsystemd-dev plus a compiler;
 *    `unix-dgram` is a NAN addon): one more thing to rebuild on every Node upgrade, and a
 *    failure there would take the service's readiness with it;
 *  - a helper interpreter (python3/socat) kept running beside the agent: an extra runtime
 *    dependency that a Pi OS Lite image may not have;
 *  - `systemd-notify`, which ships in the `systemd` package on every host that can run the
 *    unit at all. Its known race (the short-lived sender exits before systemd reads the
 *    datagram, so systemd can no longer attribute it to the unit) is closed since systemd 246:
 *    it waits on `sd_notify_barrier()` unless `--no-block` is given. Bookworm ships 252.
 *    The unit needs `NotifyAccess=all` because the sender is a child, not the main PID.
 * We use `systemd-notify`. Its cost is one short fork+exec per message: 6 ms of CPU on the x86
 * build machine (bench/sd-notify-cost.ts; expect several times that on a Pi Zero 2), so callers
 * coalesce STATUS updates (see sd-notify.ts), STATUS follows health rather than every
 * conversation phase (agent-systemd.ts), and the watchdog pings at half of `WatchdogSec`.
 */
import { execFile } from 'node:child_process';

/** Sends one notification made of `KEY=value` assignments. Rejects when delivery failed. */
export interface NotifyTransport {
  send(assignments: string[]): Promise<void>;
}

/** The subset of `child_process.execFile` the transport uses; injectable for tests. */
export type ExecFileFn = (
  file: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeout: number },
  callback: (error: Error | null, stdout: string, stderr: string) => void,
) => unknown;

export interface ExecTransportOptions {
  /** Environment passed to the helper; must contain `NOTIFY_SOCKET`. */
  env: NodeJS.ProcessEnv;
  /** The helper binary. Default `systemd-notify` (found on PATH). */
  command?: string;
  /** Kill the helper after this long (ms). Default 10000: systemd answers the barrier at once. */
  timeoutMs?: number;
  execFile?: ExecFileFn;
}

/** A transport that runs `systemd-notify KEY=value...` per message (blocking on the barrier). */
export function execTransport(options: ExecTransportOptions): NotifyTransport {
  const command = options.command ?? 'systemd-notify';
  const timeout = options.timeoutMs ?? 10_000;
  const run = options.execFile ?? (execFile as unknown as ExecFileFn);
  return {
    send(assignments) {
      return new Promise((resolve, reject) => {
        run(command, assignments, { env: options.env, timeout }, (error, _stdout, stderr) => {
          if (!error) return resolve();
          const code = (error as NodeJS.ErrnoException).code;
          const detail = code === 'ENOENT' ? `${command} not found (install the systemd package)` : (stderr.trim() || error.message);
          reject(new Error(`${command} failed: ${detail}`, { cause: error }));
        });
      });
    },
  };
}
