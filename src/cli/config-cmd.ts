import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { reportError } from './common.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('configuration tools');
  config
    .command('check <file>')
    .description('validate a config file; prints every problem as path: message')
    .option('--print', 'print the effective configuration (with defaults) as JSON')
    .action((file: string, opts: { print?: boolean }) => {
      try {
        // As `run` loads it (the hardware profile resolved), without the environment's layer.
        const parsed = loadConfig({ file, env: {} });
        if (opts.print) process.stdout.write(JSON.stringify(parsed, null, 2) + '\n');
        else process.stdout.write(`${file}: OK\n`);
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });
}
