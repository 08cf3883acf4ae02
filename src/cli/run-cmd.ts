import type { Command } from 'commander';
import { Logger } from '../log/logger.js';
// Not common.ts: that imports the config loader, which `run` keeps out of the daemon (below).
import { addConfigFlags, controlPath, flagLayer, reportError } from './flags.js';

/**
 * Longest a graceful stop may take before the process exits anyway (with status 1). A stop takes
 * about 50 ms on a quiet machine; on an emulated Pi under load (scripts/verify-pi.sh) one took
 * over 2 s, which the old 2 s backstop turned into a failed unit. Well below the unit's
 * TimeoutStopSec=15, after which systemd kills.
 */
const STOP_BACKSTOP_MS = 5000;

export function registerRunCommand(program: Command): void {
  addConfigFlags(program.command('run').description('run the agent (as the systemd service does)')).action(async (opts: Record<string, unknown>) => {
    let config;
    try {
      // In a worker thread: the schema library and the YAML parser never stay in the daemon.
      const { loadConfigOffThread } = await import('../config/off-thread.js');
      config = await loadConfigOffThread({ ...flagLayer(opts), env: process.env });
    } catch (err) {
      process.exitCode = reportError(err);
      return;
    }
    const log = new Logger({ level: config.log.level, format: config.log.format });
    const { installLastResort } = await import('../system/last-resort.js');
    let agentForFatal: { stop(): Promise<void> } | undefined;
    // Before anything else runs: an uncaught failure is logged with context and ends the process.
    installLastResort({ log, exit: (code) => process.exit(code), stop: () => agentForFatal?.stop() ?? Promise.resolve() });
    const { createAgent } = await import('../agent.js');
    const { createSystemdNotifier } = await import('../system/sd-notify.js');
    const { attachSystemd } = await import('../system/agent-systemd.js');
    // Under systemd: READY/STATUS/STOPPING and the watchdog, pinged from this event loop.
    const notifier = createSystemdNotifier({ env: process.env, log });
    let agent;
    try {
      agent = await createAgent(config, { log, controlSocket: controlPath(config) });
      agentForFatal = agent;
      attachSystemd(agent, notifier, { mask: (t) => log.mask(t) });
      await agent.start();
    } catch (err) {
      log.error('start-failed', { error: err instanceof Error ? err.message : String(err) });
      process.exitCode = reportError(err, (s) => process.stderr.write(log.mask(s)));
      await agent?.stop().catch(() => undefined);
      await notifier.close();
      return;
    }
    const shutdown = (signal: string) => {
      log.info('signal', { signal });
      const backstop = setTimeout(() => {
        log.error('stop-timeout', { afterMs: STOP_BACKSTOP_MS });
        process.exit(1);
      }, STOP_BACKSTOP_MS);
      backstop.unref();
      agent
        .stop()
        .then(() => notifier.close())
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
