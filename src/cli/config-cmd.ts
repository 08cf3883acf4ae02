import type { Command } from 'commander';
import { parseConfig, readConfigFile } from '../config/load.js';
import { reportError } from './common.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('configuration tools');
  config
    .command('check <file>')
    .description('validate a config file; prints every problem as path: message')
    .option('--print', 'print the effective configuration (with defaults) as JSON')
    .action((file: string, opts: { print?: boolean }) => {
      try {
        const parsed = parseConfig(readConfigFile(file));
        if (opts.print) process.stdout.write(JSON.stringify(parsed, null, 2) + '\n');
        else process.stdout.write(`${file}: OK\n`);
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });
}
