import type { Command } from 'commander';
import { Logger } from '../log/logger.js';
import { addConfigFlags, configFromFlags, reportError } from './common.js';

export function registerBackendCommand(program: Command): void {
  addConfigFlags(
    program
      .command('check-backend')
      .description('check the configured backend from this device: connect (keys), speech-to-text, and a spoken reply')
      .option('--say <text>', 'also send this typed request and check the reply (gateway and pipeline)')
      .option('--timeout <ms>', 'time limit per step in milliseconds', '15000'),
  ).action(async (opts: Record<string, unknown>) => {
    try {
      const config = configFromFlags(opts);
      const timeoutMs = Number(opts.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 100) throw new Error(`--timeout must be a whole number of milliseconds >= 100 (got "${String(opts.timeout)}")`);
      // Problems are printed as the steps' results; the log only says more at debug level.
      const log = new Logger({ level: config.log.level === 'debug' ? 'debug' : 'silent', format: 'pretty', sink: { write: (l) => process.stderr.write(l) } });
      const { createBackend } = await import('../drivers/registry.js');
      const { checkBackend, formatSteps } = await import('../backends/check.js');
      const backend = await createBackend(config, log);
      const steps = await checkBackend(backend, { timeoutMs, ...(typeof opts.say === 'string' ? { say: opts.say } : {}) });
      process.stdout.write(formatSteps(steps) + '\n');
      process.exitCode = steps.every((s) => s.ok) ? 0 : 1;
    } catch (err) {
      process.exitCode = reportError(err);
    }
  });
}
